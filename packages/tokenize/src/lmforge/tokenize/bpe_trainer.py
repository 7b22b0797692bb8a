"""Learn BPE merges from pre-token counts, updating pair counts incrementally.

Words are the distinct pre-tokens as lists of token ids, with their counts. ``where[pair]`` holds the
words that (may) contain a pair, so a merge touches only those words. The best pair comes from a heap
with lazy deletion: an entry is checked against the live count when popped; increases push a new entry,
decreases are repaired when the stale entry surfaces.

Ties go to the lexicographically greater pair (compared as a tuple of bytes). The heap is a min-heap,
so each token carries a key that sorts in the reverse byte order: every byte ``x`` becomes the 16-bit
big-endian value ``256 - x`` and the key ends with ``257``, so a proper prefix sorts after its
extensions (b"a" > b"ab" reversed means b"a" < b"ab" in byte order, as tuples of bytes compare).
"""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Callable
from functools import partial

_END = (257).to_bytes(2, "big")
_BYTE_KEYS = [(256 - x).to_bytes(2, "big") for x in range(256)]


def learn_merges(word_counts: dict[bytes, int], n_merges: int, first_id: int = 256,
                 progress: Callable[[int], None] | None = None) -> list[tuple[int, int, int]]:
    """-> [(left id, right id, new id)]; bytes are ids 0..255, new ids count up from ``first_id``."""
    words: list[list[int]] = []
    counts: list[int] = []
    for word, c in word_counts.items():
        if len(word) > 1:
            words.append(list(word))
            counts.append(c)
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    # pair -> indices of the words that may hold it. Compact int arrays, not sets: a word may be listed
    # twice (a pair repeated inside it) or stay listed after losing the pair; visiting it then is a no-op.
    where: dict[tuple[int, int], array] = defaultdict(partial(array, "i"))
    for wi, word in enumerate(words):
        c = counts[wi]
        for pair in zip(word, word[1:]):
            pair_counts[pair] += c
            where[pair].append(wi)
    keys: dict[int, bytes] = {x: _BYTE_KEYS[x] + _END for x in range(256)}
    heap = [(-c, keys[a], keys[b], a, b) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int, int]] = []
    new_id = first_id
    while len(merges) < n_merges and heap:
        negc, _, _, a, b = heap[0]
        live = pair_counts.get((a, b), 0)
        if live != -negc:
            heapq.heappop(heap)
            if 0 < live < -negc:  # the count fell since this entry was pushed: re-file it
                heapq.heappush(heap, (-live, keys[a], keys[b], a, b))
            continue
        heapq.heappop(heap)
        keys[new_id] = keys[a][:-2] + keys[b]
        _apply_merge(a, b, new_id, words, counts, pair_counts, where, heap, keys)
        merges.append((a, b, new_id))
        new_id += 1
        if progress is not None:
            progress(1)
    return merges


def _apply_merge(a, b, new_id, words, counts, pair_counts, where, heap, keys) -> None:
    """Merge (a, b) in every word that has it, touching only the pairs next to each occurrence.

    Only pairs containing ``new_id`` can grow, and they are new, so only they are pushed on the heap;
    every other change is a decrease, repaired lazily when its stale heap entry surfaces.
    """
    fresh: dict[tuple[int, int], int] = {}
    for wi in where.pop((a, b), ()):
        word = words[wi]
        n = len(word)
        c = counts[wi]
        out: list[int] = []
        i = 0
        merged = False
        left_to_see = word.count(a)  # list.index without the cost of a final ValueError
        used = 2 if a == b else 1
        while left_to_see > 0:
            j = word.index(a, i)
            if j + 1 >= n or word[j + 1] != b:
                out += word[i:j + 1]
                i = j + 1
                left_to_see -= 1
                continue
            left_to_see -= used
            out += word[i:j]
            if j > 0:
                left = (word[j - 1], a)
                live = pair_counts[left] - c
                if live:
                    pair_counts[left] = live
                else:
                    del pair_counts[left]
                p = (out[-1], new_id)
                fresh[p] = fresh.get(p, 0) + c
                where[p].append(wi)
            if j + 2 < n:
                y = word[j + 2]
                # if another occurrence starts right after, its left-neighbour step handles (b, a)
                if not (y == a and j + 3 < n and word[j + 3] == b):
                    right = (b, y)
                    live = pair_counts[right] - c
                    if live:
                        pair_counts[right] = live
                    else:
                        del pair_counts[right]
                    p = (new_id, y)
                    fresh[p] = fresh.get(p, 0) + c
                    where[p].append(wi)
            out.append(new_id)
            i = j + 2
            merged = True
        if not merged:
            continue  # this word lost the pair in an earlier merge, or was listed twice
        out += word[i:]
        words[wi] = out
    pair_counts.pop((a, b), None)
    for p, cnt in fresh.items():
        pair_counts[p] = cnt
        heapq.heappush(heap, (-cnt, keys[p[0]], keys[p[1]], p[0], p[1]))
