"""Apply BPE merges to one pre-token, GPT-2 style: repeatedly merge the lowest-ranked adjacent pair.

``MergeTable`` holds ``ranks`` (pair of ids -> merge rank) and ``merged`` (rank -> id of the merged
token). Short pieces use a loop whose scans run in C (``map(dict.get, pairs, repeat(NONE))``, ``min``,
``list.index``); long pieces use a heap over a linked list so a megabyte with no whitespace costs
O(n log n), not O(n^2). Both give identical ids: the heap pops equal ranks left to right, exactly as
the loop merges every occurrence of the best pair from the left.
"""

from __future__ import annotations

import heapq
from itertools import repeat

NONE = 1 << 62  # rank of a pair that is not a merge
LONG_PIECE = 128


class MergeTable:
    def __init__(self, ranks: dict[tuple[int, int], int], merged: list[int]) -> None:
        self.ranks = ranks
        self.merged = merged


def bpe_ids(ids: list[int], table: MergeTable) -> list[int]:
    if len(ids) > LONG_PIECE:
        return _bpe_heap(ids, table)
    get = table.ranks.get
    merged_of = table.merged
    ids = list(ids)  # merged in place below
    while len(ids) > 1:
        ranks = list(map(get, zip(ids, ids[1:]), repeat(NONE)))
        rank = min(ranks)
        if rank == NONE:
            break
        i = ranks.index(rank)
        new = merged_of[rank]
        if ranks.count(rank) == 1:  # the usual case: one occurrence, merged by a slice assignment
            ids[i:i + 2] = [new]
            continue
        a, b = ids[i], ids[i + 1]
        out = ids[:i]
        n = len(ids)
        while i < n:
            if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                out.append(new)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
    return ids


def _bpe_heap(ids: list[int], table: MergeTable) -> list[int]:
    n = len(ids)
    tok = list(ids)
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    prv = list(range(-1, n - 1))
    alive = [True] * n
    get = table.ranks.get
    merged_of = table.merged
    heap = [(r, i) for i, r in enumerate(map(get, zip(tok, tok[1:]), repeat(NONE))) if r != NONE]
    heapq.heapify(heap)
    while heap:
        rank, i = heapq.heappop(heap)
        if not alive[i]:
            continue
        j = nxt[i]
        if j < 0 or get((tok[i], tok[j])) != rank:
            continue  # stale: this position's pair changed since it was pushed
        tok[i] = merged_of[rank]
        alive[j] = False
        k = nxt[j]
        nxt[i] = k
        if k >= 0:
            prv[k] = i
            right = get((tok[i], tok[k]))
            if right is not None:
                heapq.heappush(heap, (right, i))
        h = prv[i]
        if h >= 0:
            left = get((tok[h], tok[i]))
            if left is not None:
                heapq.heappush(heap, (left, h))
    out = []
    i = 0
    while i >= 0:
        out.append(tok[i])
        i = nxt[i]
    return out
