"""Learn BPE merges from pre-token counts, updating pair counts incrementally.

The words live in one or more ``WordShard``s (in worker processes when there are many words); this
module keeps the global pair counts and picks the best pair. The best pair comes from a heap with lazy
deletion: an entry is checked against the live count when popped; new pairs push an entry, decreases
are repaired when the stale entry surfaces.

Ties go to the lexicographically greater pair (compared as a tuple of bytes). The heap is a min-heap,
so each token carries a key that sorts in reverse byte order: every byte ``x`` becomes the 16-bit
big-endian value ``256 - x`` and the key ends with ``257``, so a proper prefix sorts after its
extensions (b"a" < b"ab" as bytes, so b"a"'s key must be greater).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from .bpe_words import LOW, SHIFT, WordShard, split_words

_END = (257).to_bytes(2, "big")
_BYTE_KEYS = [(256 - x).to_bytes(2, "big") for x in range(256)]
PARALLEL_MIN_WORDS = 100_000  # below this, talking to worker processes costs more than it saves


def learn_merges(word_counts: dict[bytes, int], n_merges: int, first_id: int = 256,
                 progress: Callable[[int], None] | None = None,
                 workers: int = 1) -> list[tuple[int, int, int]]:
    """-> [(left id, right id, new id)]; bytes are ids 0..255, new ids count up from ``first_id``.

    ``word_counts`` is consumed (emptied) to keep peak memory down.
    """
    if workers > 1 and len(word_counts) >= PARALLEL_MIN_WORDS:
        from .bpe_parallel import ShardPool

        with ShardPool(split_words(word_counts, workers)) as shards:
            return _merge_loop(shards, n_merges, first_id, progress)
    words, counts = split_words(word_counts, 1)[0]
    return _merge_loop(_LocalShards(WordShard(words, counts)), n_merges, first_id, progress)


class _LocalShards:
    """The one-shard, same-process counterpart of ``bpe_parallel.ShardPool``."""

    def __init__(self, shard: WordShard) -> None:
        self.shard = shard

    def pair_counts(self) -> list[dict]:
        return [self.shard.pair_counts()]

    def merge(self, a: int, b: int, new_id: int, dead: list[int]) -> list[tuple[dict, dict]]:
        return [self.shard.merge(a, b, new_id, dead)]


def _merge_loop(shards, n_merges: int, first_id: int, progress) -> list[tuple[int, int, int]]:
    parts = shards.pair_counts()
    pair_counts = parts[0]
    for part in parts[1:]:
        for p, c in part.items():
            pair_counts[p] = pair_counts.get(p, 0) + c
    keys: dict[int, bytes] = {x: _BYTE_KEYS[x] + _END for x in range(256)}
    # heap entries: (-count, key of left token, key of right token, pair); the pair int is shared with
    # pair_counts, so an entry costs one small tuple
    heap = [(-c, keys[k >> SHIFT], keys[k & LOW], k) for k, c in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int, int]] = []
    new_id = first_id
    dead: list[int] = []  # pairs whose count fell to zero; the shards drop their index with the next merge
    while len(merges) < n_merges and heap:
        negc, key_a, key_b, merged = heapq.heappop(heap)
        live = pair_counts.get(merged, 0)
        if live != -negc:
            if 0 < live < -negc:  # the count fell since this entry was pushed: re-file it
                heapq.heappush(heap, (-live, key_a, key_b, merged))
            continue
        a, b = merged >> SHIFT, merged & LOW
        keys[new_id] = keys[a][:-2] + keys[b]
        del pair_counts[merged]
        fresh_total: dict[int, int] = {}
        results = shards.merge(a, b, new_id, dead)
        dead = []
        for lost, fresh in results:
            lost.pop(merged, None)  # with a == b a neighbour can be the merged pair itself: already gone
            for p, d in lost.items():
                left = pair_counts[p] - d
                if left:
                    pair_counts[p] = left
                else:
                    del pair_counts[p]
                    dead.append(p)
            for p, c in fresh.items():
                fresh_total[p] = fresh_total.get(p, 0) + c
        for p, c in fresh_total.items():
            pair_counts[p] = c
            heapq.heappush(heap, (-c, keys[p >> SHIFT], keys[p & LOW], p))
        merges.append((a, b, new_id))
        new_id += 1
        if progress is not None:
            progress(1)
    return merges
