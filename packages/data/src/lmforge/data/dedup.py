"""Exact line dedup and MinHash + LSH near-duplicate dedup over files (one document per file).

``exact_line_dedup`` keeps only the lines that occur once in the whole corpus. ``minhash_dedup``
finds near-duplicate documents: MinHash signatures, LSH bands for candidates, true Jaccard on the
shingle sets to verify each candidate, union-find to cluster transitively; the first document (in
input order) of each cluster is kept. Outputs keep their original file names.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmforge.core import atomic_write

from .minhash import MinHasher, band_hashes, bucket_pairs, jaccard, shingle_sets
from .unionfind import UnionFind


def line_key(line: str) -> bytes:
    """A stable 8-byte key for a line, its line ending ignored (the last line may lack one)."""
    return hashlib.blake2b(line.rstrip("\r\n").encode("utf-8", "surrogatepass"), digest_size=8).digest()


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def _check_names(files: Sequence[Path]) -> None:
    names = [p.name for p in files]
    if len(set(names)) != len(names):
        from lmforge.core import LmforgeError

        raise LmforgeError("input files must have distinct names: outputs keep the original names")


def exact_line_dedup(input_files: Sequence[str | Path], output_directory: str | Path) -> dict[str, int]:
    """Rewrite each file into ``output_directory`` keeping only lines that occur once in all files.

    Returns counts: lines read and lines kept.
    """
    files = [Path(p) for p in input_files]
    _check_names(files)
    counts: dict[bytes, int] = {}
    total = 0
    for path in files:
        for line in _read(path).splitlines(keepends=True):
            key = line_key(line)
            counts[key] = counts.get(key, 0) + 1
            total += 1
    out_dir = Path(output_directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = 0
    for path in files:
        lines = [line for line in _read(path).splitlines(keepends=True) if counts[line_key(line)] == 1]
        kept += len(lines)
        atomic_write(out_dir / path.name, "".join(lines).encode("utf-8", errors="surrogateescape"))
    return {"lines": total, "kept_lines": kept}


def near_duplicate_clusters(
    texts: Sequence[str],
    num_hashes: int = 128,
    num_bands: int = 32,
    ngrams: int = 5,
    jaccard_threshold: float = 0.8,
    seed: int = 0,
) -> list[list[int]]:
    """Clusters (lists of indices, each of size >= 2) of near-duplicate texts, verified by Jaccard."""
    return near_duplicate_union_find(texts, num_hashes, num_bands, ngrams, jaccard_threshold, seed).clusters()


def near_duplicate_union_find(
    texts: Sequence[str],
    num_hashes: int = 128,
    num_bands: int = 32,
    ngrams: int = 5,
    jaccard_threshold: float = 0.8,
    seed: int = 0,
) -> UnionFind:
    """The union-find over verified near-duplicate pairs (``.clusters()``, ``.edges``)."""
    shingles = shingle_sets(texts, ngrams)
    signatures = MinHasher(num_hashes, seed).signatures(shingles)
    return cluster_candidates(shingles, signatures, num_bands, jaccard_threshold)


def candidate_pairs(signatures: np.ndarray, num_bands: int, ids: np.ndarray | None = None) -> np.ndarray:
    """Unique (low, high) id pairs that share at least one LSH band bucket."""
    ids = np.arange(len(signatures), dtype=np.int64) if ids is None else ids
    bands = band_hashes(signatures, num_bands)
    empty = (signatures == np.iinfo(np.uint32).max).all(axis=1)  # no shingles: never a duplicate
    keep = ~empty
    found = [bucket_pairs(bands[keep, b], ids[keep]) for b in range(bands.shape[1])]
    pairs = np.concatenate(found) if found else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def verify_and_cluster(pairs: np.ndarray, shingles_of, jaccard_threshold: float) -> UnionFind:
    """Union the candidate pairs whose true Jaccard reaches the threshold.

    Pairs already in one cluster are not verified again: that keeps big clusters of copies linear.
    """
    uf = UnionFind()
    for a, b in pairs.tolist():
        if uf.find(a) == uf.find(b):
            continue
        if jaccard(shingles_of(a), shingles_of(b)) >= jaccard_threshold:
            uf.union(a, b)
    return uf


def cluster_candidates(
    shingles: Sequence[np.ndarray], signatures: np.ndarray, num_bands: int, jaccard_threshold: float
) -> list[list[int]]:
    pairs = candidate_pairs(signatures, num_bands)
    sets: dict[int, np.ndarray] = {}

    def shingle_set(i: int) -> np.ndarray:
        if i not in sets:
            sets[i] = np.unique(shingles[i])
        return sets[i]

    return verify_and_cluster(pairs, shingle_set, jaccard_threshold)


def minhash_dedup(
    input_files: Sequence[str | Path],
    num_hashes: int,
    num_bands: int,
    ngrams: int,
    jaccard_threshold: float,
    output_directory: str | Path,
    seed: int = 0,
) -> dict[str, int]:
    """Copy to ``output_directory`` every file except the near-duplicates of an earlier file.

    Returns counts: documents, clusters, removed.
    """
    files = [Path(p) for p in input_files]
    _check_names(files)
    texts = [_read(p) for p in files]
    clusters = near_duplicate_clusters(texts, num_hashes, num_bands, ngrams, jaccard_threshold, seed)
    removed = {i for cluster in clusters for i in cluster[1:]}  # clusters are sorted: keep the first
    out_dir = Path(output_directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(files):
        if i not in removed:
            shutil.copyfile(path, out_dir / path.name)
    return {"documents": len(files), "clusters": len(clusters), "removed": len(removed)}
