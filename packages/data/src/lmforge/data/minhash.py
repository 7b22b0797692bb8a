"""MinHash signatures and LSH banding, vectorized with numpy.

Text is normalized (lowercase, NFD, accents and punctuation removed, whitespace collapsed), split into
words, and every run of ``ngrams`` consecutive words becomes one shingle, hashed to 64 bits. Word
hashes come from blake2b (stable across processes, unlike ``hash()``); a shingle's hash mixes its
words' hashes with fixed odd multipliers and the splitmix64 finalizer, all in numpy.

The ``num_hashes`` hash functions are multiply-shift hashes ``(a * x + b) >> 32`` with random odd
``a``: one matrix product per batch of documents gives every signature at once
(``np.minimum.reduceat`` takes each document's minimum over its own shingles).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

_NON_WORD = re.compile(r"[^\w\s]|_")  # punctuation, symbols, and the combining marks NFD split off
_SPACES = re.compile(r"\s+")
_WORD_CACHE: dict[str, int] = {}
_WORD_CACHE_MAX = 1 << 21
_BATCH_SHINGLES = 1 << 15  # (num_hashes x batch) uint64 scratch: 32 MiB at 128 hashes
_EMPTY = np.zeros(0, dtype=np.uint64)


def normalize_text(text: str) -> str:
    """Lowercase, NFD, strip accents and punctuation, collapse whitespace."""
    text = unicodedata.normalize("NFD", text.lower())
    text = _NON_WORD.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _word_hashes(words: list[str]) -> np.ndarray:
    cache = _WORD_CACHE
    if len(cache) > _WORD_CACHE_MAX:
        cache.clear()
    out = np.empty(len(words), dtype=np.uint64)
    for i, w in enumerate(words):
        h = cache.get(w)
        if h is None:
            h = cache[w] = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
        out[i] = h
    return out


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_POSITION_MULTIPLIERS = _splitmix64(np.arange(1, 65, dtype=np.uint64)) | np.uint64(1)


def shingle_hashes(text: str, ngrams: int) -> np.ndarray:
    """Sorted unique 64-bit hashes of the word ``ngrams``-grams of the normalized text.

    A document shorter than ``ngrams`` words is one shingle (all its words); an empty one has none.
    """
    words = normalize_text(text).split()
    if not words:
        return _EMPTY
    w = _word_hashes(words)
    n = min(ngrams, len(w))
    count = len(w) - n + 1
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc += w[j : j + count] * _POSITION_MULTIPLIERS[j % 64]
        return np.unique(_splitmix64(acc + np.uint64(n)))


class MinHasher:
    """``num_hashes`` multiply-shift hash functions drawn from ``seed``."""

    def __init__(self, num_hashes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.num_hashes = num_hashes
        self.a = (rng.integers(0, 2**63, num_hashes, dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
        self.b = rng.integers(0, 2**63, num_hashes, dtype=np.uint64)

    def signatures(self, shingle_sets: list[np.ndarray]) -> np.ndarray:
        """(len(shingle_sets), num_hashes) uint32; a document with no shingles gets all 0xFFFFFFFF."""
        out = np.full((len(shingle_sets), self.num_hashes), np.iinfo(np.uint32).max, dtype=np.uint32)
        start = 0
        while start < len(shingle_sets):
            stop, total = start, 0
            while stop < len(shingle_sets) and (
                stop == start or total + len(shingle_sets[stop]) <= _BATCH_SHINGLES
            ):
                total += len(shingle_sets[stop])
                stop += 1
            batch = shingle_sets[start:stop]
            rows = [i for i, s in enumerate(batch, start) if len(s)]
            if rows:
                flat = np.concatenate([s for s in batch if len(s)])
                offsets = np.cumsum([0] + [len(s) for s in batch if len(s)])[:-1]
                with np.errstate(over="ignore"):
                    values = (self.a[:, None] * flat[None, :] + self.b[:, None]) >> np.uint64(32)
                out[rows] = np.minimum.reduceat(values, offsets, axis=1).T.astype(np.uint32)
            start = stop
        return out


def band_hashes(signatures: np.ndarray, num_bands: int) -> np.ndarray:
    """(num_docs, num_bands) uint64: one hash per band of ``num_hashes // num_bands`` rows."""
    n, k = signatures.shape
    rows = k // num_bands
    if rows < 1:
        raise ValueError(f"num_bands ({num_bands}) must not exceed num_hashes ({k})")
    sig = signatures[:, : rows * num_bands].astype(np.uint64).reshape(n, num_bands, rows)
    acc = np.zeros((n, num_bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            acc = _splitmix64(acc ^ (sig[:, :, r] + _POSITION_MULTIPLIERS[r % 64]))
    return acc


_ALL_PAIRS_MAX = 32


def bucket_pairs(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(m, 2) int64 candidate pairs ``(low id, high id)`` of ids sharing a key.

    A bucket of up to 32 ids yields every pair. A larger one (a big cluster of copies) yields each id
    paired with the bucket's first few ids only: union-find joins the cluster from those edges
    without verifying a quadratic number of pairs.
    """
    order = np.argsort(keys, kind="stable")
    k, i = keys[order], ids[order].astype(np.int64)
    boundaries = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1], [True]]))
    sizes = np.diff(boundaries)
    out = []
    for start, size in zip(boundaries[:-1][sizes > 1], sizes[sizes > 1]):
        members = i[start : start + size]
        if size <= _ALL_PAIRS_MAX:
            a, b = np.triu_indices(size, 1)
        else:
            heads = min(4, int(size) - 1)
            a = np.repeat(np.arange(heads), size)
            b = np.tile(np.arange(size), heads)
            keep = b > a
            a, b = a[keep], b[keep]
        out.append(np.stack([members[a], members[b]], axis=1))
    if not out:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(out)
    return np.sort(pairs, axis=1)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays (0 for two empty sets)."""
    if not len(a) and not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
