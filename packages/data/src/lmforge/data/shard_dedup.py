"""Streaming, sharded dedup over JSONL(.gz) document shards, for corpora that do not fit in memory.

Only compact arrays travel to the coordinating process: 8-byte line keys for exact line dedup, and
per-shard MinHash signature files (read one band at a time through a memory map) for near-duplicate
dedup. Documents are read again from their shards, in parallel, for the rewrite. Each shard's output
keeps its file name and is written atomically.

Exact line dedup at document level: a line is kept only if it occurs once in the whole corpus; blank
lines are exempt (they keep paragraph breaks), and the blank lines a removal leaves doubled are
collapsed into one; a document left without text is dropped as
``exact_line_duplicate``. MinHash dedup keeps the first document (shard order, then position) of each
verified cluster and drops the rest as ``minhash_duplicate``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from . import storage
from .documents import Document
from .readers import read_jsonl
from .writers import write_jsonl


def _key(line: str) -> int:
    from .dedup import line_key

    return int.from_bytes(line_key(line), "little")


def _count_shard_lines(shard: str) -> tuple[np.ndarray, np.ndarray]:
    counts: dict[int, int] = {}
    for doc in read_jsonl(shard):
        for line in doc.text.splitlines():
            if line.strip():
                k = _key(line)
                counts[k] = counts.get(k, 0) + 1
    keys = np.fromiter(counts.keys(), dtype=np.uint64, count=len(counts))
    return keys, np.fromiter(counts.values(), dtype=np.int64, count=len(counts))


def _drop_lines(lines: list[str], drop) -> str:
    """``lines`` without the dropped ones, and without the blank lines a drop left doubled: where
    lines were removed, a run of blank lines around the gap becomes one (none at the start or end).
    Blank runs that were in the document already stay as they were."""
    out: list[str] = []
    gap = True  # the start counts as a gap: no blank lines may open the text after a removal there
    removed_any = False
    for line, d in zip(lines, drop):
        if d:
            gap = removed_any = True
            continue
        if not line.strip() and gap and (not out or not out[-1].strip()):
            continue
        if line.strip():
            gap = False
        out.append(line)
    if removed_any and gap:  # removed lines at the end: trailing blank lines go too
        while out and not out[-1].strip():
            out.pop()
    return "".join(out)


def _rewrite_exact(job: tuple[str, str, str]) -> dict[str, int]:
    shard, out_path, dup_path = job
    dup = storage.load_array(dup_path)  # sorted (np.unique output): membership by binary search
    counts = {"kept": 0, "exact_line_duplicate": 0}

    def docs():
        for doc in read_jsonl(shard):
            lines = doc.text.splitlines(keepends=True)
            keys = np.fromiter(
                (_key(x) if x.strip() else 0 for x in lines), dtype=np.uint64, count=len(lines)
            )
            if len(dup):
                at = np.minimum(np.searchsorted(dup, keys), len(dup) - 1)
                is_dup = (dup[at] == keys) & (keys != 0)
            else:
                is_dup = np.zeros(len(lines), dtype=bool)
            text = _drop_lines(lines, is_dup)
            if not text.strip():
                counts["exact_line_duplicate"] += 1
                continue
            doc.text = text
            counts["kept"] += 1
            yield doc

    write_jsonl(docs(), out_path)
    return counts


def exact_line_dedup_shards(
    shards: Sequence[str | os.PathLike],
    output_directory: str | os.PathLike,
    work_directory: str | os.PathLike,
    executor,
) -> list[dict[str, int]]:
    """Document-level exact line dedup over JSONL shards; returns per-shard kept / dropped counts."""
    shards = [os.fspath(s) for s in shards]
    storage.makedirs(output_directory)
    storage.makedirs(work_directory)
    parts = executor.map(_count_shard_lines, list(shards), desc="exact-dedup count")
    if parts:
        keys = np.concatenate([k for k, _ in parts])
        counts = np.concatenate([c for _, c in parts])
        uniq, inverse = np.unique(keys, return_inverse=True)
        totals = np.bincount(inverse, weights=counts, minlength=len(uniq))
        dup = uniq[totals > 1]
    else:
        dup = np.zeros(0, dtype=np.uint64)
    dup_path = storage.join(work_directory, "duplicate_lines.npy")
    storage.save_array(dup_path, dup)
    jobs = [(s, storage.join(output_directory, storage.name_of(s)), dup_path) for s in shards]
    return executor.map(_rewrite_exact, jobs, desc="exact-dedup write")


def _shard_signatures(job: tuple[str, str, int, int, int]) -> int:
    from .minhash import MinHasher, shingle_sets

    shard, sig_path, num_hashes, ngrams, seed = job
    shingles = shingle_sets([doc.text for doc in read_jsonl(shard)], ngrams)
    sig = MinHasher(num_hashes, seed).signatures(shingles)
    storage.save_array(sig_path, sig)
    return len(shingles)


def _shard_shingles(job: tuple[str, list[int], int]) -> list[np.ndarray]:
    from .minhash import shingle_sets

    shard, wanted, ngrams = job
    want = set(wanted)
    texts = {i: doc.text for i, doc in enumerate(read_jsonl(shard)) if i in want}
    sets = shingle_sets([texts[i] for i in wanted], ngrams)
    return [np.unique(sets[j]) for j in range(len(wanted))]


def _rewrite_minhash(job: tuple[str, str, list[int]]) -> dict[str, int]:
    shard, out_path, removed = job
    drop = set(removed)
    docs: list[Document] = [d for i, d in enumerate(read_jsonl(shard)) if i not in drop]
    write_jsonl(docs, out_path)
    return {"kept": len(docs), "minhash_duplicate": len(drop)}


def minhash_dedup_shards(
    shards: Sequence[str | os.PathLike],
    output_directory: str | os.PathLike,
    work_directory: str | os.PathLike,
    executor,
    num_hashes: int = 128,
    num_bands: int = 32,
    ngrams: int = 5,
    jaccard_threshold: float = 0.8,
    seed: int = 0,
) -> list[dict[str, int]]:
    """Near-duplicate dedup over JSONL shards; returns per-shard kept / dropped counts."""
    from .dedup import verify_and_cluster
    from .minhash import band_hashes, bucket_pairs

    shards = [os.fspath(s) for s in shards]
    storage.makedirs(output_directory)
    storage.makedirs(work_directory)
    sig_paths = [storage.join(work_directory, f"signatures-{i:05d}.npy") for i in range(len(shards))]
    jobs = [(s, p, num_hashes, ngrams, seed) for s, p in zip(shards, sig_paths)]
    sizes = executor.map(_shard_signatures, jobs, desc="minhash signatures")
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    rows = num_hashes // num_bands
    if rows < 1:
        from lmforge.core import ConfigError

        raise ConfigError(f"num_bands ({num_bands}) must not exceed num_hashes ({num_hashes})")
    sigs = [storage.load_array(p, mmap=True) for p in sig_paths]  # memory-mapped when local
    found = []
    for b in range(num_bands):  # one band of every shard in memory at a time
        cols = [np.ascontiguousarray(s[:, b * rows : (b + 1) * rows]) for s in sigs]
        band = np.concatenate(cols) if cols else np.zeros((0, rows), dtype=np.uint32)
        keys = band_hashes(band, 1)[:, 0]
        nonempty = ~(band == np.iinfo(np.uint32).max).all(axis=1)
        ids = np.arange(len(band), dtype=np.int64)
        found.append(bucket_pairs(keys[nonempty], ids[nonempty]))
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    pairs = np.unique(pairs, axis=0) if len(pairs) else pairs

    needed = np.unique(pairs)
    shard_of = np.searchsorted(offsets, needed, side="right") - 1
    jobs = [(shards[i], (needed[shard_of == i] - offsets[i]).tolist(), ngrams) for i in range(len(shards))]
    fetched = executor.map(_shard_shingles, jobs, desc="minhash verify")
    shingles = {int(g): arr for i, arrs in enumerate(fetched) for g, arr in zip(needed[shard_of == i], arrs)}
    uf = verify_and_cluster(pairs, shingles.__getitem__, jaccard_threshold)
    removed = np.array([g for cluster in uf.clusters() for g in cluster[1:]], dtype=np.int64)
    removed_shard = np.searchsorted(offsets, removed, side="right") - 1
    jobs = [
        (
            s,
            storage.join(output_directory, storage.name_of(s)),
            (removed[removed_shard == i] - offsets[i]).tolist(),
        )
        for i, s in enumerate(shards)
    ]
    return executor.map(_rewrite_minhash, jobs, desc="minhash write")


class ExactLineDeduper:
    """Deduper part: ``run(shards, output_directory, work_directory, executor) -> per-shard stats``."""

    reason = "exact_line_duplicate"

    def run(self, shards, output_directory, work_directory, executor):
        return exact_line_dedup_shards(shards, output_directory, work_directory, executor)


class MinHashDeduper:
    """Deduper part with the MinHash parameters fixed at init."""

    reason = "minhash_duplicate"

    def __init__(
        self,
        num_hashes: int = 128,
        num_bands: int = 32,
        ngrams: int = 5,
        jaccard_threshold: float = 0.8,
        seed: int = 0,
    ) -> None:
        if num_hashes // num_bands < 1:
            from lmforge.core import ConfigError

            raise ConfigError(f"num_bands ({num_bands}) must not exceed num_hashes ({num_hashes})")
        self.options = dict(
            num_hashes=num_hashes,
            num_bands=num_bands,
            ngrams=ngrams,
            jaccard_threshold=jaccard_threshold,
            seed=seed,
        )

    def run(self, shards, output_directory, work_directory, executor):
        return minhash_dedup_shards(shards, output_directory, work_directory, executor, **self.options)
