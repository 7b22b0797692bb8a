import random

from lmforge.data import Document, near_duplicate_clusters, read_jsonl, write_jsonl
from lmforge.data.executors import LocalExecutor
from lmforge.data.shard_dedup import exact_line_dedup_shards, minhash_dedup_shards


def _corpus(seed=3):
    rng = random.Random(seed)
    vocab = [f"t{i}" for i in range(3000)]
    base = [" ".join(rng.choice(vocab) for _ in range(120)) for _ in range(30)]
    docs = list(base)
    for i in range(0, 30, 3):
        words = base[i].split()
        words[rng.randrange(len(words))] = "changed"
        docs.append(" ".join(words))
    rng.shuffle(docs)
    return docs


def _write_shards(tmp_path, texts, n_shards=3):
    (tmp_path / "in").mkdir()
    shards = []
    for s in range(n_shards):
        docs = [Document(text=t, id=f"{s}-{i}") for i, t in enumerate(texts[s::n_shards])]
        shards.append(tmp_path / "in" / f"shard{s}.jsonl.gz")
        write_jsonl(docs, shards[-1])
    return shards


def test_sharded_minhash_matches_in_memory(tmp_path):
    texts = _corpus()
    shards = _write_shards(tmp_path, texts)
    ordered = [d.text for s in shards for d in read_jsonl(s)]  # global order: shard, then position
    expected_removed = {ordered[i] for c in near_duplicate_clusters(ordered, 64, 16, 5, 0.8) for i in c[1:]}
    assert len(expected_removed) == 10
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        stats = minhash_dedup_shards(
            shards,
            out,
            tmp_path / f"work{workers}",
            LocalExecutor(workers, False),
            num_hashes=64,
            num_bands=16,
            ngrams=5,
            jaccard_threshold=0.8,
        )
        kept = [d.text for s in shards for d in read_jsonl(out / s.name)]
        assert kept == [t for t in ordered if t not in expected_removed]
        assert sum(s["minhash_duplicate"] for s in stats) == 10


def test_sharded_exact_line_dedup(tmp_path):
    texts = ["menu\nhello one\n\nfooter", "menu\nonly here", "menu\nfooter", "unique\n\ntext"]
    shards = _write_shards(tmp_path, texts, n_shards=2)
    stats = exact_line_dedup_shards(shards, tmp_path / "out", tmp_path / "work", LocalExecutor(2, False))
    kept = sorted(d.text for s in shards for d in read_jsonl(tmp_path / "out" / s.name))
    assert kept == sorted(["hello one\n", "only here", "unique\n\ntext"])  # no blank run left at the end
    assert sum(s["exact_line_duplicate"] for s in stats) == 1
