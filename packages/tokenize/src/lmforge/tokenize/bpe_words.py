"""A share of the training words and the index of where each pair occurs: the merge-heavy half of training.

``WordShard.merge(a, b, new_id)`` rewrites every word holding the pair and reports how pair counts
changed: ``lost`` (pairs next to an occurrence, which shrink) and ``fresh`` (pairs with the new token,
which are all new). Only the words listed under the pair are visited, and in them only the neighbours of
each occurrence are touched. A shard can live in this process or in a worker process (``bpe_parallel``).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from functools import partial

# A pair (a, b) is stored as the int a << 32 | b: half the memory of a tuple key and faster to hash.
SHIFT = 32
LOW = (1 << SHIFT) - 1
Pair = int


class WordShard:
    def __init__(self, words: list[list[int]], counts: list[int]) -> None:
        self.words = words
        self.counts = counts
        # pair -> indices of the words that may hold it. Compact int arrays, not sets: a word may be listed
        # twice (a pair repeated inside it) or stay listed after losing the pair; visiting it is a no-op.
        self.where: dict[Pair, array] = defaultdict(partial(array, "i"))

    def pair_counts(self) -> dict[Pair, int]:
        """Count every adjacent pair (weighted by word count) and build the index."""
        counts: dict[Pair, int] = defaultdict(int)
        where = self.where
        for wi, word in enumerate(self.words):
            c = self.counts[wi]
            for a, b in zip(word, word[1:]):
                pair = a << SHIFT | b
                counts[pair] += c
                where[pair].append(wi)
        return dict(counts)

    def forget(self, dead: list[Pair]) -> None:
        """Drop the index of pairs whose count reached zero (a pair never comes back once gone)."""
        pop = self.where.pop
        for p in dead:
            pop(p, None)

    def merge(self, a: int, b: int, new_id: int,
              dead: list[Pair] = ()) -> tuple[dict[Pair, int], dict[Pair, int]]:
        """-> (lost, fresh): count decreases of neighbouring pairs, counts of the new pairs."""
        self.forget(dead)
        lost: dict[Pair, int] = {}
        fresh: dict[Pair, int] = {}
        words, counts, where = self.words, self.counts, self.where
        used = 2 if a == b else 1
        for wi in where.pop(a << SHIFT | b, ()):
            word = words[wi]
            n = len(word)
            c = counts[wi]
            out: list[int] = []
            i = 0
            merged = False
            left_to_see = word.count(a)  # lets list.index run without a final ValueError
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
                    p = word[j - 1] << SHIFT | a
                    lost[p] = lost.get(p, 0) + c
                    p = out[-1] << SHIFT | new_id
                    fresh[p] = fresh.get(p, 0) + c
                    where[p].append(wi)
                if j + 2 < n:
                    y = word[j + 2]
                    # when another occurrence starts right after, its left-neighbour step handles (b, a)
                    if not (y == a and j + 3 < n and word[j + 3] == b):
                        p = b << SHIFT | y
                        lost[p] = lost.get(p, 0) + c
                        p = new_id << SHIFT | y
                        fresh[p] = fresh.get(p, 0) + c
                        where[p].append(wi)
                out.append(new_id)
                i = j + 2
                merged = True
            if merged:
                out += word[i:]
                words[wi] = out
        return lost, fresh


def split_words(word_counts: dict[bytes, int], shards: int) -> list[tuple[list[list[int]], list[int]]]:
    """Deal the words (of two bytes or more: others hold no pair) into ``shards`` parts of similar size.

    Consumes ``word_counts`` (each entry is freed as its word list is made).
    """
    parts: list[tuple[list[list[int]], list[int]]] = [([], []) for _ in range(shards)]
    k = 0
    while word_counts:
        word, c = word_counts.popitem()
        if len(word) > 1:
            words, counts = parts[k % shards]
            words.append(list(word))
            counts.append(c)
            k += 1
    return parts
