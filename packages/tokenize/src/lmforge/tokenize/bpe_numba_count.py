"""Count GPT-2 pre-tokens with numba: the compiled scanner (``gpt2_scan``) and a hash table of byte strings.

``PieceCounter.add(data, starts, ends)`` counts the pre-tokens of each segment ``data[starts[k]:ends[k]]``
(UTF-8, pre-tokenized on its own: the text between special tokens); ``words()`` hands the distinct
pre-tokens over as the flat arrays ``bpe_numba.learn_merges_flat`` takes. The counts are exactly those
of ``regex.findall`` over the same segments (the scanner is tested piece by piece against it).

Each distinct pre-token is stored once, in a byte pool; a table row is [length (0: empty), first 8 bytes,
offset in the pool, count], so most lookups compare two integers and touch one row. Memory grows with
the distinct pre-tokens (their bytes plus 64 bytes of table at most half full), not with the text.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .gpt2_scan import char_classes, piece_end
from .numba_hashing import GOLD as _GOLD
from .numba_hashing import table_shift

_LEN, _WORD, _KEY, _COUNT = range(4)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _hash(buf, i, length):
    h = _FNV_OFFSET
    for k in range(i, i + length):
        h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
    return h


@njit(cache=True)
def _rehashed(table, pool, cap):
    bigger = np.zeros((cap, 4), np.int64)
    shift = table_shift(cap)
    for t in range(table.shape[0]):
        if table[t, _LEN] != 0:
            q = np.int64((_hash(pool, table[t, _KEY], table[t, _LEN]) * _GOLD) >> shift)
            while bigger[q, _LEN] != 0:
                q = (q + 1) & (cap - 1)
            bigger[q] = table[t]
    return bigger


@njit(cache=True)
def count_segments(data, starts, ends, classes, table, pool, used, pool_used):
    """Add the pre-tokens of every segment to ``table``/``pool``; -> (table, pool, used, pool_used)."""
    shift = table_shift(table.shape[0])
    mask = table.shape[0] - 1
    for s in range(starts.shape[0]):
        i = starts[s]
        end = ends[s]
        while i < end:
            j = piece_end(data, i, end, classes)
            length = j - i
            word = np.int64(0)
            for k in range(min(length, 8)):
                word |= np.int64(data[i + k]) << (8 * k)
            slot = np.int64((_hash(data, i, length) * _GOLD) >> shift)
            while True:
                n = table[slot, _LEN]
                if n == 0:
                    break
                if n == length and table[slot, _WORD] == word:
                    key = table[slot, _KEY]
                    same = True
                    for k in range(8, length):
                        if pool[key + k] != data[i + k]:
                            same = False
                            break
                    if same:
                        break
                slot = (slot + 1) & mask
            if table[slot, _LEN] != 0:
                table[slot, _COUNT] += 1
            else:
                if pool_used + length > pool.shape[0]:
                    bigger = np.empty(max(2 * pool.shape[0], pool_used + length), np.uint8)
                    bigger[:pool_used] = pool[:pool_used]
                    pool = bigger
                pool[pool_used:pool_used + length] = data[i:j]
                table[slot, _LEN] = length
                table[slot, _WORD] = word
                table[slot, _KEY] = pool_used
                table[slot, _COUNT] = 1
                pool_used += length
                used += 1
                if 2 * used > table.shape[0]:
                    table = _rehashed(table, pool, 2 * table.shape[0])
                    shift = table_shift(table.shape[0])
                    mask = table.shape[0] - 1
            i = j
    return table, pool, used, pool_used


@njit(cache=True)
def valid_utf8(data):
    """Whether ``bytes(data).decode("utf-8")`` succeeds (no overlong forms, surrogates or code points
    past U+10FFFF), without making the string."""
    n = data.shape[0]
    i = 0
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            need, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            need = 2
            lo = 0xA0 if b == 0xE0 else 0x80
            hi = 0x9F if b == 0xED else 0xBF
        elif 0xF0 <= b <= 0xF4:
            need = 3
            lo = 0x90 if b == 0xF0 else 0x80
            hi = 0x8F if b == 0xF4 else 0xBF
        else:
            return False
        if i + need >= n:  # cut short
            return False
        if not lo <= data[i + 1] <= hi:
            return False
        for k in range(2, need + 1):
            if not 0x80 <= data[i + k] <= 0xBF:
                return False
        i += need + 1
    return True


class PieceCounter:
    """Distinct GPT-2 pre-tokens and their counts, added segment by segment."""

    def __init__(self) -> None:
        self.classes = char_classes()
        self.table = np.zeros((1 << 14, 4), np.int64)
        self.pool = np.empty(1 << 16, np.uint8)
        self.used = 0
        self.pool_used = 0

    def add(self, data: bytes, starts: np.ndarray, ends: np.ndarray) -> None:
        self.table, self.pool, self.used, self.pool_used = count_segments(
            np.frombuffer(data, np.uint8), starts, ends, self.classes, self.table, self.pool, self.used,
            self.pool_used)

    def words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """-> (toks int32, starts, lens, counts) of the pre-tokens of two bytes or more (one byte holds no
        pair); ``toks`` is the byte pool, which the merge loop rewrites. Empties the counter."""
        rows = self.table[(self.table[:, _LEN] > 1)]
        self.table = None
        toks = self.pool[:self.pool_used].astype(np.int32)
        self.pool = None
        return (toks, np.ascontiguousarray(rows[:, _KEY]), np.ascontiguousarray(rows[:, _LEN]),
                np.ascontiguousarray(rows[:, _COUNT]))
