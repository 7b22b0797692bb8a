"""MinHash + LSH dedup: lmforge.data against datasketch (MinHash + MinHashLSH), same settings.

Corpus: ``--docs`` documents of random words, of which ``--near`` are near-duplicates of others with
a spread of true Jaccard similarities (some exact copies). Both sides shingle the same normalized
word n-grams and use the same number of permutations, bands (rows = perms / bands) and threshold.
Ground truth is the true Jaccard of the word n-gram sets (Python sets, independent of either
implementation). Reported: wall time of each (shingling, signatures, LSH, clustering), the ratio,
recall of pairs with Jaccard >= threshold (both in one output cluster) and precision (share of
same-cluster pairs whose true Jaccard reaches the threshold).

    nice -n 10 uv run python tools/data/bench_minhash.py --out .bench/data_minhash.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from pathlib import Path


def make_corpus(n_docs: int, n_near: int, words: int, seed: int):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20_000)]
    originals = [[rng.choice(vocab) for _ in range(words)] for _ in range(n_docs - n_near)]
    docs = [" ".join(d) for d in originals]
    for _ in range(n_near):
        src = rng.randrange(len(originals))
        w = list(originals[src])
        for i in rng.sample(range(words), rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 30])):
            w[i] = rng.choice(vocab)
        docs.append(" ".join(w))
    order = list(range(len(docs)))
    rng.shuffle(order)
    return [docs[i] for i in order]


def grams(text: str, n: int) -> set[tuple[str, ...]]:
    from lmforge.data import normalize_text

    w = normalize_text(text).split()
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def true_jaccard(a, b) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def evaluate(uf, sets, truth_pairs: set[tuple[int, int]], threshold: float) -> dict:
    """recall: true pairs in one cluster. edge precision: the pairs the method itself declared
    duplicates. pair precision: every pair sharing a cluster (transitive closure included).
    removed-doc precision: removed documents (all but the first of a cluster) with a true
    near-duplicate (J >= threshold) inside their cluster."""
    clusters = uf.clusters()
    same = {tuple(sorted(p)) for c in clusters for p in itertools.combinations(c, 2)}
    recall = sum(p in same for p in truth_pairs) / max(1, len(truth_pairs))
    ok = lambda a, b: true_jaccard(sets[a], sets[b]) >= threshold  # noqa: E731
    edges = {tuple(sorted(e)) for e in uf.edges}
    removed = [(d, c) for c in clusters for d in c[1:]]
    removed_ok = sum(any(ok(d, o) for o in c if o != d) for d, c in removed)
    return {
        "recall": round(recall, 4),
        "edge_precision": round(sum(ok(a, b) for a, b in edges) / max(1, len(edges)), 4),
        "pair_precision": round(sum(ok(a, b) for a, b in same) / max(1, len(same)), 4),
        "removed_doc_precision": round(removed_ok / max(1, len(removed)), 4),
        "clusters": len(clusters),
        "removed": len(removed),
    }


def run_lmforge(docs, perms, bands, n, threshold):
    from lmforge.data.dedup import near_duplicate_union_find

    t0, c0 = time.perf_counter(), time.process_time()
    uf = near_duplicate_union_find(docs, perms, bands, n, threshold)
    return uf, time.perf_counter() - t0, time.process_time() - c0


def run_datasketch(docs, perms, bands, n, threshold):
    from datasketch import MinHash, MinHashLSH

    from lmforge.data import UnionFind, normalize_text

    t0, c0 = time.perf_counter(), time.process_time()
    lsh = MinHashLSH(threshold=threshold, num_perm=perms, params=(bands, perms // bands))
    hashes = []
    for i, text in enumerate(docs):
        w = normalize_text(text).split()
        shingles = [" ".join(w[j : j + n]).encode() for j in range(len(w) - n + 1)]
        m = MinHash(num_perm=perms, seed=1)
        m.update_batch(shingles)
        hashes.append(m)
        lsh.insert(i, m)
    uf = UnionFind()
    for i, m in enumerate(hashes):
        for j in lsh.query(m):
            if j != i:
                uf.union(i, j)
    uf.clusters()
    return uf, time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--near", type=int, default=2_000)
    ap.add_argument("--words", type=int, default=200)
    ap.add_argument("--perms", type=int, default=128)
    ap.add_argument("--bands", type=int, default=32)
    ap.add_argument("--ngrams", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=".bench/data_minhash.json")
    args = ap.parse_args()

    docs = make_corpus(args.docs, args.near, args.words, args.seed)
    sets = [grams(d, args.ngrams) for d in docs]
    # Ground truth: every pair with Jaccard >= threshold, found through an inverted index of n-grams
    # (random-word documents share n-grams only with their planted relatives).
    index: dict[tuple, list[int]] = {}
    for i, s in enumerate(sets):
        for g in s:
            index.setdefault(g, []).append(i)
    truth = set()
    for ids in index.values():
        if 1 < len(ids) < 50:
            for a, b in itertools.combinations(ids, 2):
                if (a, b) not in truth and true_jaccard(sets[a], sets[b]) >= args.threshold:
                    truth.add((a, b))

    # Both are single-threaded: CPU seconds are the fairer measure on a shared machine; wall is kept too.
    ours, t_ours, c_ours = run_lmforge(docs, args.perms, args.bands, args.ngrams, args.threshold)
    theirs, t_theirs, c_theirs = run_datasketch(docs, args.perms, args.bands, args.ngrams, args.threshold)
    result = {
        "docs": len(docs),
        "planted_near_duplicates": args.near,
        "true_pairs_at_threshold": len(truth),
        "settings": {k: getattr(args, k) for k in ("perms", "bands", "ngrams", "threshold", "words")},
        "lmforge": {
            "seconds": round(t_ours, 3),
            "cpu_seconds": round(c_ours, 3),
            **evaluate(ours, sets, truth, args.threshold),
        },
        "datasketch": {
            "seconds": round(t_theirs, 3),
            "cpu_seconds": round(c_theirs, 3),
            **evaluate(theirs, sets, truth, args.threshold),
        },
        "speedup_wall": round(t_theirs / t_ours, 2),
        "speedup_cpu": round(c_theirs / c_ours, 2),
    }
    print(
        f"{'impl':<12}{'wall s':>9}{'cpu s':>9}{'recall':>9}{'edge prec':>11}{'pair prec':>11}"
        f"{'doc prec':>10}{'clusters':>10}"
    )
    for name in ("lmforge", "datasketch"):
        r = result[name]
        print(
            f"{name:<12}{r['seconds']:>9.2f}{r['cpu_seconds']:>9.2f}{r['recall']:>9.4f}"
            f"{r['edge_precision']:>11.4f}{r['pair_precision']:>11.4f}{r['removed_doc_precision']:>10.4f}"
            f"{r['clusters']:>10}"
        )
    print(
        f"speedup (datasketch / lmforge): wall {result['speedup_wall']}x, cpu {result['speedup_cpu']}x "
        f"on {len(docs)} docs, {len(truth)} true pairs with J >= {args.threshold}"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
