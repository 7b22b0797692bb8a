"""The BPE merge loop compiled with numba: the reference's algorithm (``bpe_trainer``) over flat arrays.

Words are one int32 array of token ids (``toks``) with each word's start, current length and count;
a merge rewrites a word in place, so it only shrinks. Each distinct pair gets an id (an open-addressing
hash table of ``a << 32 | b`` -> id, in plain arrays: numba's typed Dict is slower) with its live count
and a linked list of the words that may hold it (a word stays listed after losing the pair; visiting it
then changes nothing). The best pair comes from a binary heap
with lazy deletion, ordered exactly as the reference's: highest count, then the greater pair of token
bytes (compared as a tuple), then the smaller ``a << 32 | b`` when two pairs spell the same bytes.

Counts only fall after a pair first appears (a merge only creates pairs with the new token), which is
what makes the lazy heap exact. Compiled functions are cached on disk (``cache=True``): the first call
in a fresh environment compiles for a few seconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .numba_hashing import GOLD as _GOLD
from .numba_hashing import table_shift


@njit(cache=True)
def _grow(arr, need):
    if need <= arr.shape[0]:
        return arr
    out = np.empty(max(need, 2 * arr.shape[0]), arr.dtype)
    out[:arr.shape[0]] = arr
    return out


@njit(cache=True, inline="always")
def _slot(table, shift, key):
    """The row of ``table`` ([key, pair id]; key -1: empty) holding ``key``, or the empty row for it."""
    mask = table.shape[0] - 1
    h = np.int64((np.uint64(key) * _GOLD) >> shift)
    while table[h, 0] != -1 and table[h, 0] != key:
        h = (h + 1) & mask
    return h


@njit(cache=True)
def _pair_table(pa, pb, n_pairs, cap):
    """A table of ``cap`` rows holding pairs 0..n_pairs-1; -> (table, its hash shift)."""
    table = np.full((cap, 2), -1, np.int64)
    shift = table_shift(cap)
    for pid in range(n_pairs):
        key = np.int64(pa[pid]) << 32 | pb[pid]
        h = _slot(table, shift, key)
        table[h, 0] = key
        table[h, 1] = pid
    return table, shift


@njit(cache=True)
def _cmp_tokens(x, y, tb, toff, tlen):
    """-1, 0, 1 as bytes(x) <, ==, > bytes(y) (a proper prefix is smaller)."""
    nx = tlen[x]
    ny = tlen[y]
    ox = toff[x]
    oy = toff[y]
    for k in range(min(nx, ny)):
        bx = tb[ox + k]
        by = tb[oy + k]
        if bx != by:
            return 1 if bx > by else -1
    if nx == ny:
        return 0
    return 1 if nx > ny else -1


@njit(cache=True)
def _better(c1, p1, c2, p2, pa, pb, tb, toff, tlen):
    """Whether pair id p1 with count c1 is merged before p2 with count c2."""
    if c1 != c2:
        return c1 > c2
    c = _cmp_tokens(pa[p1], pa[p2], tb, toff, tlen)
    if c == 0:
        c = _cmp_tokens(pb[p1], pb[p2], tb, toff, tlen)
    if c != 0:
        return c > 0
    return (np.int64(pa[p1]) << 32 | pb[p1]) < (np.int64(pa[p2]) << 32 | pb[p2])


@njit(cache=True)
def _sift_up(hc, hp, i, pa, pb, tb, toff, tlen):
    c = hc[i]
    p = hp[i]
    while i > 0:
        parent = (i - 1) >> 1
        if not _better(c, p, hc[parent], hp[parent], pa, pb, tb, toff, tlen):
            break
        hc[i] = hc[parent]
        hp[i] = hp[parent]
        i = parent
    hc[i] = c
    hp[i] = p


@njit(cache=True)
def _sift_down(hc, hp, i, n, pa, pb, tb, toff, tlen):
    c = hc[i]
    p = hp[i]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _better(hc[child + 1], hp[child + 1], hc[child], hp[child], pa, pb, tb, toff,
                                     tlen):
            child += 1
        if not _better(hc[child], hp[child], c, p, pa, pb, tb, toff, tlen):
            break
        hc[i] = hc[child]
        hp[i] = hp[child]
        i = child
    hc[i] = c
    hp[i] = p


@njit(cache=True, inline="always")
def _count_pair(x, y, w, c, table, shift, n_pairs, pa, pb, pcnt, phead, node_word, node_next, n_nodes):
    """Add ``c`` to the count of pair (x, y), met in word ``w``: a new pair gets the next id (and the
    table grows at half full), and ``w`` joins the pair's word list unless it heads it already.
    Returns what may have been reallocated or advanced, in argument order."""
    key = np.int64(x) << 32 | y
    h = _slot(table, shift, key)
    if table[h, 0] == key:
        pid = table[h, 1]
    else:
        pid = n_pairs
        n_pairs += 1
        if pid >= pa.shape[0]:
            old = pcnt.shape[0]
            pa = _grow(pa, pid + 1)
            pb = _grow(pb, pid + 1)
            pcnt = _grow(pcnt, pid + 1)
            phead = _grow(phead, pid + 1)
            phead[old:] = -1
            pcnt[old:] = 0
        pa[pid] = x
        pb[pid] = y
        table[h, 0] = key
        table[h, 1] = pid
        if 2 * n_pairs > table.shape[0]:
            table, shift = _pair_table(pa, pb, n_pairs, 2 * table.shape[0])
    pcnt[pid] += c
    h = phead[pid]
    if h == -1 or node_word[h] != w:
        if n_nodes >= node_word.shape[0]:
            node_word = _grow(node_word, n_nodes + 1)
            node_next = _grow(node_next, n_nodes + 1)
        node_word[n_nodes] = w
        node_next[n_nodes] = h
        phead[pid] = n_nodes
        n_nodes += 1
    return table, shift, n_pairs, pa, pb, pcnt, phead, node_word, node_next, n_nodes


@njit(cache=True)
def learn_merges_flat(toks, starts, lens, wcounts, n_merges):
    """-> int64[(merges done), 2] of (left id, right id); merge k makes id 256 + k. Rewrites toks/lens."""
    n_words = starts.shape[0]
    cap = 1 << 16
    pa = np.empty(cap, np.int32)
    pb = np.empty(cap, np.int32)
    pcnt = np.zeros(cap, np.int64)
    phead = np.full(cap, -1, np.int64)
    n_pairs = 0
    table, shift = _pair_table(pa, pb, 0, 1 << 17)
    node_word = np.empty(max(16, toks.shape[0]), np.int32)
    node_next = np.empty(max(16, toks.shape[0]), np.int64)
    n_nodes = 0

    n_tokens = 256 + n_merges
    toff = np.zeros(n_tokens, np.int64)
    tlen = np.ones(n_tokens, np.int64)
    tb = np.empty(1024, np.uint8)
    for x in range(256):
        tb[x] = x
        toff[x] = x
    tb_used = 256

    # initial counts and word lists
    for w in range(n_words):
        s = starts[w]
        c = wcounts[w]
        for i in range(s, s + lens[w] - 1):
            table, shift, n_pairs, pa, pb, pcnt, phead, node_word, node_next, n_nodes = _count_pair(
                toks[i], toks[i + 1], w, c, table, shift, n_pairs, pa, pb, pcnt, phead, node_word,
                node_next, n_nodes)

    hc = np.empty(max(16, 2 * n_pairs), np.int64)
    hp = np.empty(max(16, 2 * n_pairs), np.int64)
    hn = 0
    for pid in range(n_pairs):
        hc[hn] = pcnt[pid]
        hp[hn] = pid
        hn += 1
    for i in range((hn >> 1) - 1, -1, -1):
        _sift_down(hc, hp, i, hn, pa, pb, tb, toff, tlen)

    out = np.empty((n_merges, 2), np.int64)
    k = 0
    while k < n_merges and hn > 0:
        cnt = hc[0]
        pid = hp[0]
        hn -= 1
        if hn > 0:
            hc[0] = hc[hn]
            hp[0] = hp[hn]
            _sift_down(hc, hp, 0, hn, pa, pb, tb, toff, tlen)
        live = pcnt[pid]
        if live != cnt:
            if 0 < live < cnt:  # fell since it was pushed: re-file with the live count
                hc[hn] = live
                hp[hn] = pid
                hn += 1
                _sift_up(hc, hp, hn - 1, pa, pb, tb, toff, tlen)
            continue
        if cnt <= 0:
            continue
        a = pa[pid]
        b = pb[pid]
        t = 256 + k
        tb = _grow(tb, tb_used + tlen[a] + tlen[b])
        toff[t] = tb_used
        tlen[t] = tlen[a] + tlen[b]
        tb[tb_used:tb_used + tlen[a]] = tb[toff[a]:toff[a] + tlen[a]]
        tb[tb_used + tlen[a]:tb_used + tlen[t]] = tb[toff[b]:toff[b] + tlen[b]]
        tb_used += tlen[t]
        pcnt[pid] = 0
        first_new = n_pairs
        node = phead[pid]
        phead[pid] = -1
        while node != -1:
            w = node_word[node]
            node = node_next[node]
            s = starts[w]
            end = s + lens[w]
            c = wcounts[w]
            i = s
            o = s
            changed = False
            while i < end:
                x = toks[i]
                if x == a and i + 1 < end and toks[i + 1] == b:
                    # (dec pair, inc pair) for the left and right neighbours of this occurrence; the merged
                    # pair itself is already zero. An occurrence right after this one handles (b, a).
                    for side in range(2):
                        if side == 0:
                            if o == s:
                                continue
                            dx, dy, gx, gy = toks[i - 1], a, toks[o - 1], t
                        else:
                            if i + 2 >= end:
                                continue
                            y = toks[i + 2]
                            if y == a and i + 3 < end and toks[i + 3] == b:
                                continue
                            dx, dy, gx, gy = b, y, t, y
                        if not (dx == a and dy == b):
                            dpid = table[_slot(table, shift, np.int64(dx) << 32 | dy), 1]
                            pcnt[dpid] -= c
                        table, shift, n_pairs, pa, pb, pcnt, phead, node_word, node_next, n_nodes = \
                            _count_pair(gx, gy, w, c, table, shift, n_pairs, pa, pb, pcnt, phead,
                                        node_word, node_next, n_nodes)
                    toks[o] = t
                    o += 1
                    i += 2
                    changed = True
                else:
                    toks[o] = x
                    o += 1
                    i += 1
            if changed:
                lens[w] = o - s
        # every pair made in this merge holds the new token: they enter the heap with their final counts
        for gpid in range(first_new, n_pairs):
            if pcnt[gpid] > 0:
                if hn >= hc.shape[0]:
                    hc = _grow(hc, hn + 1)
                    hp = _grow(hp, hn + 1)
                hc[hn] = pcnt[gpid]
                hp[hn] = gpid
                hn += 1
                _sift_up(hc, hp, hn - 1, pa, pb, tb, toff, tlen)
        out[k, 0] = a
        out[k, 1] = b
        k += 1
    return out[:k]
