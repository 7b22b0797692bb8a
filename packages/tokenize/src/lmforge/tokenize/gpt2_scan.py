"""GPT-2's pre-tokenization pattern as a numba scanner over UTF-8 bytes (no regex engine).

``piece_end(data, i, end, classes)`` is where the piece starting at byte ``i`` ends, exactly as
``regex.findall(GPT2_PATTERN, text)`` cuts ``text`` (``end`` is the end of the text: ``\\s++$``
looks at it). The pattern, alternative by alternative:

    '(?:[sdmt]|ll|ve|re)   a contraction
    | ?\\p{L}++ | ?\\p{N}++ | ?[^\\s\\p{L}\\p{N}]++   a run of one class, after an optional space
    |\\s++$                 whitespace up to the end of the text
    |\\s+(?!\\S)             whitespace followed by whitespace: all but the last character of the run
    |\\s                    one whitespace character

Character classes come from the ``regex`` module itself (``char_classes``: it matches ``\\s``, ``\\p{L}``,
``\\p{N}`` against every code point), so the scanner and the reference agree on every character; the
parity tests also compare them piece by piece on varied text.
"""

from __future__ import annotations

import functools

import numpy as np
import regex
from numba import njit

OTHER, SPACE, LETTER, NUMBER = 0, 1, 2, 3


@functools.cache
def char_classes() -> np.ndarray:
    """uint8[0x110000]: the class of every code point under the ``regex`` module (surrogates: OTHER)."""
    cps = np.arange(0x110000, dtype=np.uint32)
    cps[0xD800:0xE000] = ord("A")  # lone surrogates cannot be decoded; they never occur in UTF-8 input
    text = cps.tobytes().decode("utf-32-le")
    classes = np.zeros(0x110000, np.uint8)
    for cls, pattern in ((SPACE, r"\s+"), (LETTER, r"\p{L}+"), (NUMBER, r"\p{N}+")):
        for m in regex.finditer(pattern, text):
            classes[m.start():m.end()] = cls
    classes[0xD800:0xE000] = OTHER
    return classes


@njit(cache=True, inline="always")
def decode_at(data, i):
    """(code point, its length in bytes) of the valid UTF-8 character at ``data[i]``."""
    b = np.int64(data[i])
    if b < 0x80:
        return b, 1
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), 2
    if b < 0xF0:
        return (((b & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6)
                | (np.int64(data[i + 2]) & 0x3F)), 3
    return (((b & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
            | ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F)), 4


@njit(cache=True, inline="always")
def _run_end(data, i, end, classes, cls):
    """End of the run of characters of class ``cls`` starting at byte ``i``."""
    while i < end:
        b = data[i]
        if b < 0x80:
            if classes[b] != cls:
                break
            i += 1
        else:
            c, n = decode_at(data, i)
            if classes[c] != cls:
                break
            i += n
    return i


@njit(cache=True)
def piece_end(data, i, end, classes):
    """End (exclusive) of the GPT-2 pre-token that starts at byte ``i`` of ``data[:end]``."""
    b = data[i]
    if b == 39 and i + 1 < end:  # ' then s d m t, or ll ve re
        x = data[i + 1]
        if x == 115 or x == 100 or x == 109 or x == 116:
            return i + 2
        if i + 2 < end:
            y = data[i + 2]
            if (x == 108 and y == 108) or (x == 118 and y == 101) or (x == 114 and y == 101):
                return i + 3
    c, n = decode_at(data, i)
    cls = classes[c]
    if cls != SPACE:
        return _run_end(data, i + n, end, classes, cls)
    if b == 32 and i + 1 < end:  # a space before a letter, digit or other: it leads that run
        c1, n1 = decode_at(data, i + 1)
        cls1 = classes[c1]
        if cls1 != SPACE:
            return _run_end(data, i + 1 + n1, end, classes, cls1)
    j = i + n
    last = i  # start of the run's last character
    while j < end:
        c2, n2 = decode_at(data, j)
        if classes[c2] != SPACE:
            break
        last = j
        j += n2
    if j == end:
        return end  # \s++$
    if last > i:
        return last  # \s+(?!\S): the run less its last character, which goes with what follows
    return i + n  # \s


@njit(cache=True)
def piece_ends(data, start, end, classes):
    """int64 array of the end of every pre-token of ``data[start:end]`` (for tests and tools)."""
    out = np.empty(max(end - start, 1), np.int64)
    k = 0
    i = start
    while i < end:
        i = piece_end(data, i, end, classes)
        out[k] = i
        k += 1
    return out[:k]
