"""BPE encoding compiled with numba: GPT-2 pre-tokens (``gpt2_scan``), merges by rank, a per-call cache.

The algorithm is ``bpe_merge``'s, over arrays: a short piece repeatedly merges every occurrence of its
lowest-ranked pair, left to right; a piece over ``LONG_PIECE`` ids uses a heap over a linked list
(equal ranks pop left to right, so both give the same ids). ``pair -> rank`` is an open-addressing
hash table of ``a << 32 | b`` keys. Each call keeps a cache of pre-token bytes -> ids (keys point into
the input, values into one id pool), so a repeated word costs one hash and one compare.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .gpt2_scan import piece_end
from .numba_hashing import GOLD as _GOLD
from .numba_hashing import table_shift

NONE = np.int64(1 << 62)  # rank of a pair that is not a merge
LONG_PIECE = 128
MAX_CACHED = 256  # longer pieces are merged every time, not kept
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def build_rank_table(left, right, ranks):
    """-> (keys int64[cap], ranks int64[cap]) for pairs ``(left[k], right[k]) -> ranks[k]``; first wins."""
    cap = 16
    while cap < 2 * left.shape[0]:
        cap *= 2
    keys = np.full(cap, -1, np.int64)
    vals = np.empty(cap, np.int64)
    shift = table_shift(cap)
    for k in range(left.shape[0]):
        key = (np.int64(left[k]) << 32) | np.int64(right[k])
        h = np.int64((np.uint64(key) * _GOLD) >> shift)
        while keys[h] != -1 and keys[h] != key:
            h = (h + 1) & (cap - 1)
        if keys[h] == -1:
            keys[h] = key
            vals[h] = ranks[k]
    return keys, vals


@njit(cache=True, inline="always")
def _rank(a, b, keys, vals, shift):
    key = (np.int64(a) << 32) | np.int64(b)
    h = np.int64((np.uint64(key) * _GOLD) >> shift)
    mask = keys.shape[0] - 1
    while True:
        k = keys[h]
        if k == key:
            return vals[h]
        if k == -1:
            return NONE
        h = (h + 1) & mask


@njit(cache=True)
def _merge_short(w, n, keys, vals, shift, merged):
    """Merge ``w[:n]`` in place; -> new length."""
    while n > 1:
        best = NONE
        at = -1
        for i in range(n - 1):
            r = _rank(w[i], w[i + 1], keys, vals, shift)
            if r < best:
                best = r
                at = i
        if best == NONE:
            break
        a = w[at]
        b = w[at + 1]
        new = merged[best]
        o = at
        i = at
        while i < n:
            if i < n - 1 and w[i] == a and w[i + 1] == b:
                w[o] = new
                i += 2
            else:
                w[o] = w[i]
                i += 1
            o += 1
        n = o
    return n


@njit(cache=True)
def _merge_long(w, n, keys, vals, shift, merged):
    """The heap version for long pieces (O(n log n)); same result as ``_merge_short``."""
    nxt = np.arange(1, n + 1)
    nxt[n - 1] = -1
    prv = np.arange(-1, n - 1)
    alive = np.ones(n, np.bool_)
    heap = np.empty(3 * n + 1, np.int64)  # rank << 32 | position: equal ranks pop left to right
    hn = 0
    for i in range(n - 1):
        r = _rank(w[i], w[i + 1], keys, vals, shift)
        if r != NONE:
            heap[hn] = (r << 32) | i
            hn += 1
    heap[:hn].sort()  # a sorted array is a heap
    while hn > 0:
        top = heap[0]
        hn -= 1
        _heap_pop_fix(heap, hn)
        rank = top >> 32
        i = top & 0xFFFFFFFF
        if not alive[i]:
            continue
        j = nxt[i]
        if j < 0 or _rank(w[i], w[j], keys, vals, shift) != rank:
            continue  # stale: this position's pair changed since it was pushed
        w[i] = merged[rank]
        alive[j] = False
        k = nxt[j]
        nxt[i] = k
        if k >= 0:
            prv[k] = i
            r = _rank(w[i], w[k], keys, vals, shift)
            if r != NONE:
                heap[hn] = (r << 32) | i
                hn += 1
                _heap_push_fix(heap, hn - 1)
        h = prv[i]
        if h >= 0:
            r = _rank(w[h], w[i], keys, vals, shift)
            if r != NONE:
                heap[hn] = (r << 32) | h
                hn += 1
                _heap_push_fix(heap, hn - 1)
    o = 0
    i = 0
    while i >= 0:
        w[o] = w[i]
        o += 1
        i = nxt[i]
    return o


@njit(cache=True, inline="always")
def _heap_push_fix(heap, i):
    x = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= x:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = x


@njit(cache=True, inline="always")
def _heap_pop_fix(heap, n):
    """The root was taken and the heap now has ``n`` entries; move the old last entry (heap[n]) down."""
    if n == 0:
        return
    x = heap[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= x:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = x


# one cache slot: a 64-byte row, so a lookup usually reads one cache line
_HASH, _LEN, _WORD, _KEY, _N, _ID0, _ID1, _POOL = range(8)


@njit(cache=True)
def _find(table, shift, h, length, word, data, i):
    """-> (slot, found): the slot holding the piece ``data[i:i + length]``, or the empty slot for it."""
    mask = table.shape[0] - 1
    slot = np.int64((np.uint64(h) * _GOLD) >> shift)
    while table[slot, _HASH] != 0:
        if table[slot, _HASH] == h and table[slot, _LEN] == length and table[slot, _WORD] == word:
            key = table[slot, _KEY]
            same = True
            for k in range(8, length):  # the first 8 bytes are in ``word``
                if data[key + k] != data[i + k]:
                    same = False
                    break
            if same:
                return slot, True
        slot = (slot + 1) & mask
    return slot, False


@njit(cache=True)
def _grown(table):
    """The cache table rehashed into twice as many slots."""
    bigger = np.zeros((2 * table.shape[0], 8), np.int64)
    shift = table_shift(bigger.shape[0])
    mask = bigger.shape[0] - 1
    for t in range(table.shape[0]):
        if table[t, _HASH] != 0:
            q = np.int64((np.uint64(table[t, _HASH]) * _GOLD) >> shift)
            while bigger[q, _HASH] != 0:
                q = (q + 1) & mask
            bigger[q] = table[t]
    return bigger


@njit(cache=True)
def encode_segments(data, seg_start, seg_end, seg_special, classes, byte_ids, keys, vals, merged):
    """Ids of ``data`` (UTF-8): segment s is ``data[seg_start[s]:seg_end[s]]`` pre-tokenized on its own,
    or, when ``seg_special[s] >= 0``, that one id."""
    shift = table_shift(keys.shape[0])
    out = np.empty(data.shape[0] + seg_start.shape[0], np.int32)
    o = 0
    work = np.empty(MAX_CACHED, np.int64)
    table = np.zeros((1 << 12, 8), np.int64)  # the cache; grows to stay at most half full
    t_shift = table_shift(table.shape[0])
    used = 0
    pool = np.empty(1 << 12, np.int32)  # ids of cached pieces with more than two
    pool_used = 0
    for s in range(seg_start.shape[0]):
        if seg_special[s] >= 0:
            out[o] = seg_special[s]
            o += 1
            continue
        i = seg_start[s]
        end = seg_end[s]
        while i < end:
            j = piece_end(data, i, end, classes)
            length = j - i
            if length == 1:
                out[o] = byte_ids[data[i]]
                o += 1
                i = j
                continue
            if length > MAX_CACHED:
                w = np.empty(length, np.int64)
                for k in range(length):
                    w[k] = byte_ids[data[i + k]]
                m = _merge_long(w, length, keys, vals, shift, merged)
                out[o:o + m] = w[:m]
                o += m
                i = j
                continue
            h = _FNV_OFFSET
            word = np.int64(0)
            for k in range(length):
                x = data[i + k]
                h = (h ^ np.uint64(x)) * _FNV_PRIME
                if k < 8:
                    word |= np.int64(x) << (8 * k)
            hs = np.int64(h | np.uint64(1))  # nonzero: zero marks an empty slot
            slot, found = _find(table, t_shift, hs, length, word, data, i)
            if found:
                m = table[slot, _N]
                if m == 1:
                    out[o] = table[slot, _ID0]
                elif m == 2:
                    out[o] = table[slot, _ID0]
                    out[o + 1] = table[slot, _ID1]
                else:
                    v = table[slot, _POOL]
                    out[o:o + m] = pool[v:v + m]
                o += m
                i = j
                continue
            for k in range(length):
                work[k] = byte_ids[data[i + k]]
            if length > LONG_PIECE:
                m = _merge_long(work, length, keys, vals, shift, merged)
            else:
                m = _merge_short(work, length, keys, vals, shift, merged)
            out[o:o + m] = work[:m]
            o += m
            table[slot, _HASH] = hs
            table[slot, _LEN] = length
            table[slot, _WORD] = word
            table[slot, _KEY] = i
            table[slot, _N] = m
            table[slot, _ID0] = work[0]
            table[slot, _ID1] = work[1] if m > 1 else 0
            if m > 2:
                if pool_used + m > pool.shape[0]:
                    bigger = np.empty(2 * pool.shape[0] + m, np.int32)
                    bigger[:pool_used] = pool[:pool_used]
                    pool = bigger
                pool[pool_used:pool_used + m] = work[:m]
                table[slot, _POOL] = pool_used
                pool_used += m
            used += 1
            if 2 * used > table.shape[0]:
                table = _grown(table)
                t_shift = table_shift(table.shape[0])
            i = j
    return out[:o]
