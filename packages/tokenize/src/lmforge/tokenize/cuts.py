"""Where text may be cut so that encoding the pieces separately gives exactly the ids of the whole.

Used by streaming encode, parallel encode and the trainer's chunking. Two kinds of cut are safe:

- just before a special token that is certainly matched (the encoder splits there anyway);
- between a non-whitespace character and a space (``"x| y"``): with the GPT-2, cl100k and word
  patterns no pre-token spans such a boundary and no match looks across it, so the pieces split the same
  way alone as together. Custom patterns must keep this property to be streamed or parallelised.

A cut is never placed inside (or within reach of an unfinished) special token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import AnyStr

_ASCII_NON_SPACE = frozenset(range(0x21, 0x7F))


def _covered_by_special(text: AnyStr, pos: int, specials: list[AnyStr]) -> bool:
    """True when some occurrence of a special token starts before ``pos`` and ends after it."""
    for s in specials:
        i = text.find(s, max(0, pos - len(s) + 1), pos + len(s) - 1)
        if i != -1 and i < pos:  # found occurrences start after pos-len(s), so they end after pos
            return True
    return False


def last_safe_cut(text: str, specials: list[str], lo: int = 0) -> int:
    """The last safe cut position in ``text`` (0 if none), assuming more text may follow it."""
    maxlen = max((len(s) for s in specials), default=1)
    # A special starting at or after ``limit`` might continue past the end: decide nothing there.
    limit = len(text) - maxlen + 1 if specials else len(text)
    c = text.rfind(" ", lo, max(limit, 0))
    while c > lo:
        prev = text[c - 1]
        if not prev.isspace() and not _covered_by_special(text, c, specials):
            return c
        c = text.rfind(" ", lo, c)
    return 0


def first_safe_cut_bytes(data: bytes, specials: list[bytes], start: int) -> int:
    """The first safe cut at or after ``start`` in a UTF-8 buffer; -1 if none is certain.

    Special-token boundaries are preferred (the issue's chunking rule); a space after an ASCII
    non-space byte is the fallback for text without specials.
    """
    maxlen = max((len(s) for s in specials), default=1)
    limit = len(data) - maxlen + 1
    best = -1
    for s in specials:
        i = data.find(s, start, max(limit, start))
        while i != -1 and _covered_by_special(data, i, specials):
            i = data.find(s, i + 1, max(limit, start))
        if i != -1 and (best == -1 or i < best):
            best = i
    if best != -1:
        return best
    c = data.find(b" ", max(start, 1), max(limit, start))
    while c != -1:
        if data[c - 1] in _ASCII_NON_SPACE and not _covered_by_special(data, c, specials):
            return c
        c = data.find(b" ", c + 1, max(limit, start))
    return -1


def safe_byte_ranges(path: Path, specials: list[str], target: int, window: int) -> Iterator[tuple[int, int]]:
    """Byte ranges covering ``path``, each about ``target`` bytes and ending at a safe cut.

    The file is read ``window`` bytes at a time past each target position until a cut is found, so a
    file with no safe place to cut (1 MB of one letter) comes back as one range.
    """
    raw_specials = [s.encode("utf-8") for s in specials]
    maxlen = max((len(s) for s in raw_specials), default=1)
    size = path.stat().st_size
    start = 0
    with path.open("rb") as f:
        while start < size:
            pos, cut = start + target, size
            while pos < size:
                # read a little before ``pos`` so a cut there can see the byte (or special) before it
                window_start = max(start + 1, pos - maxlen)
                f.seek(window_start)
                found = first_safe_cut_bytes(f.read(window + 2 * maxlen), raw_specials, pos - window_start)
                if found != -1:
                    cut = window_start + found
                    break
                pos += window
            yield start, cut
            start = cut
