"""Apply BPE merges to one pre-token, GPT-2 style: repeatedly merge the lowest-ranked adjacent pair.

``table`` maps a pair of token ids to ``(rank, merged_id)``. Short pieces use a plain loop (fastest in
Python for the usual 1-10 byte pieces); long pieces use a heap over a linked list so a megabyte with no
whitespace costs O(n log n), not O(n^2). Both give identical ids: the heap pops equal ranks left to
right, exactly as the loop merges every occurrence of the best pair from the left.
"""

from __future__ import annotations

import heapq

_NO_MERGE = (1 << 62, -1)
LONG_PIECE = 128


def bpe_ids(ids: list[int], table: dict[tuple[int, int], tuple[int, int]]) -> list[int]:
    if len(ids) > LONG_PIECE:
        return _bpe_heap(ids, table)
    get = table.get
    while len(ids) > 1:
        best = min(zip(ids, ids[1:]), key=lambda p: get(p, _NO_MERGE))
        found = get(best)
        if found is None:
            break
        a, b = best
        merged = found[1]
        out = []
        i, n = 0, len(ids)
        while i < n:
            if i < n - 1 and ids[i] == a and ids[i + 1] == b:
                out.append(merged)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
    return ids


def _bpe_heap(ids: list[int], table: dict[tuple[int, int], tuple[int, int]]) -> list[int]:
    n = len(ids)
    tok = list(ids)
    nxt = list(range(1, n + 1))
    nxt[-1] = -1
    prv = list(range(-1, n - 1))
    alive = [True] * n
    get = table.get
    heap = []
    for i in range(n - 1):
        found = get((tok[i], tok[i + 1]))
        if found is not None:
            heap.append((found[0], i))
    heapq.heapify(heap)
    while heap:
        rank, i = heapq.heappop(heap)
        if not alive[i]:
            continue
        j = nxt[i]
        if j < 0:
            continue
        found = get((tok[i], tok[j]))
        if found is None or found[0] != rank:
            continue  # stale: this position's pair changed since it was pushed
        tok[i] = found[1]
        alive[j] = False
        k = nxt[j]
        nxt[i] = k
        if k >= 0:
            prv[k] = i
            right = get((tok[i], tok[k]))
            if right is not None:
                heapq.heappush(heap, (right[0], i))
        h = prv[i]
        if h >= 0:
            left = get((tok[h], tok[i]))
            if left is not None:
                heapq.heappush(heap, (left[0], h))
    out = []
    i = 0
    while i >= 0:
        out.append(tok[i])
        i = nxt[i]
    return out
