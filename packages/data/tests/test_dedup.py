import random
import unicodedata

import numpy as np

from lmforge.data import exact_line_dedup, minhash_dedup, near_duplicate_clusters, normalize_text
from lmforge.data.minhash import MinHasher, shingle_hashes


def _true_jaccard(a: str, b: str, n: int) -> float:
    """Independent reference: Python sets of word n-gram tuples of the normalized text."""

    def grams(t):
        w = normalize_text(t).split()
        return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb)


def _doc(rng, vocab, n=150):
    return " ".join(rng.choice(vocab) for _ in range(n))


def _mutate(rng, text, vocab, k):
    words = text.split()
    for i in rng.sample(range(len(words)), k):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def test_normalize_text():
    text = "  Caf\u00e9 CR\u00c8ME,  br\u00fbl\u00e9e!\n\tNa\u00efve_x "
    assert normalize_text(text) == "cafe creme brulee naivex"
    assert unicodedata.is_normalized("NFC", normalize_text("\u00c5ngstr\u00f6m"))


def test_signature_agreement_estimates_jaccard():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)]
    a = _doc(rng, vocab, 400)
    b = _mutate(rng, a, vocab, 20)
    sa, sb = shingle_hashes(a, 3), shingle_hashes(b, 3)
    sig = MinHasher(512, seed=1).signatures([sa, sb])
    est = float((sig[0] == sig[1]).mean())
    assert abs(est - _true_jaccard(a, b, 3)) < 0.08


def test_exact_line_dedup_keeps_unique_lines_only(tmp_path):
    (tmp_path / "in").mkdir()
    files = {
        "a.txt": "header\nunique a1\nshared\n",
        "b.txt": "header\nunique b1\nshared",
        "c.txt": "header\nshared\n",
        "d.txt": "",
    }
    for name, text in files.items():
        (tmp_path / "in" / name).write_text(text)
    stats = exact_line_dedup([tmp_path / "in" / n for n in files], tmp_path / "out")
    got = {n: (tmp_path / "out" / n).read_text() for n in files}
    # "shared" at EOF without a newline is the same line as "shared\n".
    assert got == {"a.txt": "unique a1\n", "b.txt": "unique b1\n", "c.txt": "", "d.txt": ""}
    assert stats == {"lines": 8, "kept_lines": 2}


def test_minhash_dedup_finds_planted_duplicates(tmp_path):
    rng = random.Random(42)
    vocab = [f"tok{i}" for i in range(5000)]
    n = 5
    base = [_doc(rng, vocab) for _ in range(40)]
    docs = list(base)
    near = {}  # index of the copy -> (original, true Jaccard)
    for i in range(10):
        mutated = _mutate(rng, base[i], vocab, 2)
        if i % 2:  # case, accents and punctuation must not matter
            mutated = mutated.replace("tok1", "T\u00f3K1").replace(" ", ", ", 3)
        docs.append(mutated)
        near[len(docs) - 1] = (i, _true_jaccard(base[i], mutated, n))
    docs.append(base[20])  # an exact copy
    near[len(docs) - 1] = (20, 1.0)
    far = _mutate(rng, base[30], vocab, 40)  # too different to count
    docs.append(far)
    assert _true_jaccard(base[30], far, n) < 0.3
    assert all(j >= 0.8 for _, j in near.values())

    clusters = near_duplicate_clusters(docs, num_hashes=128, num_bands=32, ngrams=n, jaccard_threshold=0.8)
    assert sorted(clusters) == sorted([[orig, copy] for copy, (orig, _) in near.items()])

    paths = []
    for i, text in enumerate(docs):
        paths.append(tmp_path / f"doc{i:03d}.txt")
        paths[-1].write_text(text)
    stats = minhash_dedup(paths, 128, 32, n, 0.8, tmp_path / "out")
    kept = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert kept == sorted(p.name for i, p in enumerate(paths) if i not in near)
    assert (tmp_path / "out" / "doc000.txt").read_text() == docs[0]
    assert stats == {"documents": len(docs), "clusters": len(near), "removed": len(near)}


def test_transitive_clusters_keep_one():
    rng = random.Random(7)
    vocab = [f"v{i}" for i in range(4000)]
    a = _doc(rng, vocab, 300)
    b = _mutate(rng, a, vocab, 3)
    c = _mutate(rng, b, vocab, 3)
    clusters = near_duplicate_clusters([c, "short unrelated text", a, b], 64, 16, 3, 0.8)
    assert clusters == [[0, 2, 3]]


def test_empty_and_short_documents():
    sets = [shingle_hashes("", 5), shingle_hashes("two words", 5)]
    assert len(sets[0]) == 0 and len(sets[1]) == 1
    sig = MinHasher(16).signatures(sets)
    assert (sig[0] == np.iinfo(np.uint32).max).all()
    assert near_duplicate_clusters(["", "", "x y", "x y"], 16, 4, 5, 0.8) == [[2, 3]]


def test_batched_shingles_equal_one_at_a_time():
    from lmforge.data.minhash import shingle_sets

    rng = random.Random(5)
    vocab = ["alpha", "b\u00eata", "\u4e2d\u6587", "x", "Caf\u00e9!", "don't", "y_z"]
    texts = ["", "one", "two words", "   "] + [
        " ".join(rng.choice(vocab) for _ in range(rng.randrange(1, 40))) for _ in range(30)
    ]
    batch = shingle_sets(texts, 3)
    for i, t in enumerate(texts):
        assert np.array_equal(np.unique(batch[i]), shingle_hashes(t, 3))
    assert len(batch[0]) == 0 and len(batch[1]) == 1


def test_minhash_estimates_are_unbiased_over_many_pairs():
    rng = random.Random(11)
    vocab = [f"u{i}" for i in range(5000)]
    errors = []
    for _ in range(40):
        a = _doc(rng, vocab, 200)
        b = _mutate(rng, a, vocab, rng.randrange(2, 40))
        sig = MinHasher(256, seed=rng.randrange(1000)).signatures(
            [shingle_hashes(a, 4), shingle_hashes(b, 4)]
        )
        errors.append(float((sig[0] == sig[1]).mean()) - _true_jaccard(a, b, 4))
    # Binomial standard error at 256 permutations is at most 0.031: the mean error must be near 0.
    assert abs(sum(errors) / len(errors)) < 0.02
    assert max(abs(e) for e in errors) < 0.12
