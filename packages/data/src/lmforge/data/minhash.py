"""MinHash signatures and LSH banding, vectorized with numpy over batches of documents.

Text is normalized (lowercase, NFD, accents and punctuation removed, whitespace collapsed), split into
words, and every run of ``ngrams`` consecutive words is one shingle. Shingles are hashed without a
Python loop per word: the normalized texts of a batch are joined into one byte buffer, each word's
polynomial hash comes from prefix sums (mod 2**64), and a shingle mixes its words' hashes with fixed
odd multipliers and the splitmix64 finalizer. These 64-bit hashes are stable across processes and
give the exact shingle sets that verify candidates.

The ``num_hashes`` permutations act on the shingle hash's top 32 bits: ``h_i(x) = (x ^ c_i) * a_i``
mod 2**32 with random odd ``a_i``, a bijection, computed in place on a (num_hashes x chunk) uint32
buffer; ``np.minimum.reduceat`` takes each document's minimum.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

_NON_WORD = re.compile(r"[^\w\s]|_")  # punctuation, symbols, and the combining marks NFD split off
_ASCII_DROP = bytes(c for c in range(128) if not (chr(c).isalnum() or chr(c).isspace()))
_BATCH_BYTES = 1 << 20  # texts per shingling batch: its arrays stay cache-sized
_CHUNK = 1 << 14  # shingles per signature chunk: a (num_hashes x chunk) uint32 buffer of 8 MiB at 128
_U32_MAX = np.iinfo(np.uint32).max
_P = 0x100000001B3  # odd, so invertible mod 2**64
_P_INV = pow(_P, -1, 2**64)


def normalize_text(text: str) -> str:
    """Lowercase, NFD, strip accents and punctuation, collapse whitespace."""
    if text.isascii():  # the common case, without the regex: bytes.translate deletes punctuation
        return " ".join(text.lower().encode().translate(None, _ASCII_DROP).decode().split())
    text = unicodedata.normalize("NFD", text.lower())
    return " ".join(_NON_WORD.sub("", text).split())


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


_POSITION_MULTIPLIERS = _splitmix64(np.arange(1, 65, dtype=np.uint64)) | np.uint64(1)


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) mod 2**64."""
    out = np.empty(max(n, 1), dtype=np.uint64)
    out[0] = 1
    with np.errstate(over="ignore"):
        for i in range(1, n):
            out[i] = out[i - 1] * np.uint64(base)
    return out


_POWERS = _powers(_P, 64)


def _combine(word_hashes: np.ndarray, n: int) -> np.ndarray:
    count = len(word_hashes) - n + 1
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc += word_hashes[j : j + count] * _POSITION_MULTIPLIERS[j % 64]
        return _splitmix64(acc + np.uint64(n))


def _batch_shingles(norms: list[str], ngrams: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of each text in text order (duplicates kept), concatenated, and their counts."""
    data = ("\n".join(norms) + "\n").encode("utf-8", errors="surrogatepass")
    b = np.frombuffer(data, dtype=np.uint8)
    is_nl = b == 10
    is_sep = is_nl | (b == 32)
    starts = np.flatnonzero(~is_sep & np.concatenate([[True], is_sep[:-1]])).astype(np.int32)
    if not len(starts):
        return np.zeros(0, dtype=np.uint64), np.zeros(len(norms), dtype=np.int64)
    # Each byte's offset inside its word picks its power of P; separators contribute nothing.
    mark = np.zeros(len(b), dtype=np.int32)
    mark[starts] = starts
    offset = np.arange(len(b), dtype=np.int32) - np.maximum.accumulate(mark)
    with np.errstate(over="ignore"):
        contrib = np.take(_POWERS, offset & 63) * np.where(is_sep, np.uint8(0), b)
        words = _splitmix64(np.add.reduceat(contrib, starts))
    doc = np.searchsorted(np.flatnonzero(is_nl), starts, side="right")  # the text each word is in
    per_doc = np.bincount(doc, minlength=len(norms))
    hashes, owners = [], []
    if len(words) >= ngrams:
        first = np.arange(len(words) - ngrams + 1)
        valid = doc[first] == doc[first + ngrams - 1]
        hashes.append(_combine(words, ngrams)[valid])
        owners.append(doc[first][valid])
    word_start = np.concatenate([[0], np.cumsum(per_doc)])
    short = np.flatnonzero((per_doc > 0) & (per_doc < ngrams))
    for d in short:  # texts shorter than ngrams words: all their words are one shingle
        hashes.append(_combine(words[word_start[d] : word_start[d + 1]], int(per_doc[d])))
        owners.append(np.array([d]))
    if not hashes:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(norms), dtype=np.int64)
    h, o = np.concatenate(hashes), np.concatenate(owners)
    if len(short):
        order = np.argsort(o, kind="stable")  # nearly sorted already: only the short texts move
        h, o = h[order], o[order]
    return h, np.bincount(o, minlength=len(norms))


class Shingles:
    """64-bit shingle hashes of many documents (CSR layout, in text order, repeats kept: the minimum
    does not care, and only verified candidates need sets); ``shingles[i]`` is doc i's."""

    def __init__(self, hashes: np.ndarray, offsets: np.ndarray) -> None:
        self.hashes, self.offsets = hashes, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)


def shingle_sets(texts: Sequence[str], ngrams: int) -> Shingles:
    """Shingles of every text: word ``ngrams``-grams of the normalized text (a text shorter than
    ``ngrams`` words is one shingle of all its words; an empty one has none)."""
    norms = [normalize_text(t) for t in texts]
    parts, counts = [], []
    start = 0
    while start < len(norms):
        stop, size = start, 0
        while stop < len(norms) and (stop == start or size + len(norms[stop]) < _BATCH_BYTES):
            size += len(norms[stop]) + 1
            stop += 1
        h, c = _batch_shingles(norms[start:stop], ngrams)
        parts.append(h)
        counts.append(c)
        start = stop
    hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    sizes = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    return Shingles(hashes, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))


def shingle_hashes(text: str, ngrams: int) -> np.ndarray:
    """Sorted unique 64-bit shingle hashes of one text (see :func:`shingle_sets`)."""
    return np.unique(shingle_sets([text], ngrams)[0])


class MinHasher:
    """``num_hashes`` permutations ``x -> (x ^ c) * a mod 2**32`` (odd ``a``) drawn from ``seed``."""

    def __init__(self, num_hashes: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.num_hashes = num_hashes
        self.a = (rng.integers(0, 2**32, num_hashes, dtype=np.uint64) | 1).astype(np.uint32)[:, None]
        self.c = rng.integers(0, 2**32, num_hashes, dtype=np.uint64).astype(np.uint32)[:, None]

    def signatures(self, shingles: Shingles | Sequence[np.ndarray]) -> np.ndarray:
        """(num_docs, num_hashes) uint32; a document with no shingles gets all 0xFFFFFFFF."""
        if not isinstance(shingles, Shingles):
            sizes = np.array([len(s) for s in shingles], dtype=np.int64)
            flat = np.concatenate(list(shingles)) if len(shingles) else np.zeros(0, dtype=np.uint64)
            shingles = Shingles(flat.astype(np.uint64), np.concatenate([[0], np.cumsum(sizes)]))
        n = len(shingles)
        out = np.full((n, self.num_hashes), _U32_MAX, dtype=np.uint32)
        x = (shingles.hashes >> np.uint64(32)).astype(np.uint32)
        offsets, sizes = shingles.offsets, shingles.sizes()
        buf = np.empty((self.num_hashes, _CHUNK), dtype=np.uint32)
        doc = 0
        while doc < n:
            last = int(np.searchsorted(offsets, offsets[doc] + _CHUNK, side="right")) - 1
            last = max(last, doc + 1)  # at least one document, even one longer than a chunk
            lo, hi = int(offsets[doc]), int(offsets[last])
            docs = np.arange(doc, last)
            docs = docs[sizes[docs] > 0]
            if len(docs):
                width = hi - lo
                work = buf[:, :width] if width <= _CHUNK else np.empty((self.num_hashes, width), np.uint32)
                np.bitwise_xor(x[None, lo:hi], self.c, out=work)
                np.multiply(work, self.a, out=work)
                out[docs] = np.minimum.reduceat(work, offsets[docs] - lo, axis=1).T
            doc = last
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

    Buckets of two (nearly all of them) are paired in one vectorized step. A bucket of up to 32 ids
    yields every pair; a larger one (a big cluster of copies) pairs each id with the bucket's first
    few only: union-find joins the cluster from those edges without a quadratic number of checks.
    """
    order = np.argsort(keys, kind="stable")
    k, i = keys[order], ids[order].astype(np.int64)
    boundaries = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1], [True]]))
    sizes = np.diff(boundaries)
    starts = boundaries[:-1]
    twos = starts[sizes == 2]
    out = [np.stack([i[twos], i[twos + 1]], axis=1)]
    for start, size in zip(starts[sizes > 2], sizes[sizes > 2]):
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
    return np.sort(np.concatenate(out), axis=1)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays (``np.unique`` output); 0 for two empty sets."""
    if not len(a) and not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
