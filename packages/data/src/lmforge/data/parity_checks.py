"""How two data parts of one kind are compared (``parity_check`` parts).

deduper: both dedupers, built with the same options, run over the same shards (exact duplicates,
repeated lines, near duplicates with a word changed, distinct documents) with the ``local`` executor;
the error is the fraction of documents kept by one and not the other (or kept with a different
text); tolerance 0.

classifier: both classifiers label a balanced sample of a real human-labelled set (the offensive
tweets in ``../shared/data``: hate and offensive are ``toxic``, neither is ``non-toxic``); the error
is how much lower the candidate's balanced accuracy is than the reference's (0 when it is as good or
better), tolerance 0.05; the detail gives both accuracies and how often the two agree. Skipped when the
set is absent or the reference's labels are not the set's.
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
from pathlib import Path

from lmforge.core.contracts import ParityResult
from lmforge.core.parity import ParitySkipped

from .documents import Document
from .readers import read_jsonl
from .writers import write_jsonl

CLASSIFIER_TOLERANCE = 0.05


def dedup_corpus(n_distinct: int = 60, seed: int = 0) -> list[list[Document]]:
    """Two shards: distinct documents, exact copies across shards, shared boilerplate lines and
    near copies (one word in fifty changed)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    base = [" ".join(rng.choices(words, k=120)) for _ in range(n_distinct)]
    docs = []
    for i, text in enumerate(base):
        lines = [text[j:j + 80] for j in range(0, len(text), 80)]
        if i % 3 == 0:
            lines.insert(1, "Subscribe to our newsletter for more")  # a line repeated across documents
        docs.append("\n".join(lines))
    for i in range(0, n_distinct, 4):
        docs.append(docs[i])  # exact copy
        tokens = base[i + 1].split()
        tokens[rng.randrange(len(tokens))] = "changed"
        docs.append(" ".join(tokens))  # near copy
    rng.shuffle(docs)
    half = len(docs) // 2
    return [[Document(t, f"s{s}-{i}") for i, t in enumerate(part)] for s, part in enumerate((docs[:half],
                                                                                                docs[half:]))]


def _kept(deduper_part, shards: list[list[Document]], options: dict) -> dict[str, str]:
    from lmforge.core import get_part

    with tempfile.TemporaryDirectory(prefix="lmforge-parity-") as tmp:
        paths = []
        for i, docs in enumerate(shards):
            paths.append(Path(tmp) / f"shard{i}.jsonl.gz")
            write_jsonl(docs, paths[-1])
        out = Path(tmp) / "out"
        out.mkdir()
        executor = get_part("executor", "local")(workers=1, progress=False)
        deduper_part(**options).run(paths, out, out / "work", executor)
        return {d.id: d.text for p in paths for d in read_jsonl(out / p.name)}


def deduper_parity(candidate, reference, **options) -> ParityResult:
    """The same documents kept, with the same text."""
    shards = dedup_corpus()
    got, want = _kept(candidate, shards, options), _kept(reference, shards, options)
    differ = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    total = sum(map(len, shards))
    detail = "" if not differ else (f"{len(differ)} of {total} documents kept differently "
                                    f"(candidate kept {len(got)}, reference {len(want)})")
    return ParityResult(len(differ) / total, 0.0, not differ, detail)


def labelled_tweets() -> Path:
    """``$LMFORGE_SHARED/data/...``, else the nearest ``shared/`` beside the checkout or above it."""
    relative = Path("data") / "offensive-tweets" / "labeled.csv"
    if os.environ.get("LMFORGE_SHARED"):
        return Path(os.environ["LMFORGE_SHARED"]) / relative
    root = Path(__file__).resolve().parents[5]
    found = [d / "shared" / relative for d in root.parents if (d / "shared" / relative).is_file()]
    return found[0] if found else root.parent / "shared" / relative


def toxic_sample(per_label: int = 300, seed: int = 0) -> list[tuple[str, str]]:
    """A balanced, seeded sample of (text, "toxic" | "non-toxic") from the labelled tweets."""
    path = labelled_tweets()
    if not path.is_file():
        raise ParitySkipped(f"no labelled set at {path}")
    by_label: dict[str, list[str]] = {"toxic": [], "non-toxic": []}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_label["non-toxic" if row["label"] == "neither" else "toxic"].append(row["text"])
    rng = random.Random(seed)
    return [(t, label) for label, texts in by_label.items() for t in rng.sample(texts, per_label)]


def _balanced_accuracy(predicted: list[str], gold: list[str]) -> float:
    labels = sorted(set(gold))
    return sum(sum(p == g for p, g in zip(predicted, gold) if g == label) / gold.count(label)
               for label in labels) / len(labels)


def classifier_parity(candidate, reference, per_label: int = 300, seed: int = 0) -> ParityResult:
    """The candidate's balanced accuracy on the labelled set, against the reference's."""
    sample = toxic_sample(per_label, seed)
    gold = [label for _, label in sample]
    want = [reference(text)[0] for text, _ in sample]
    if not set(want) <= set(gold):
        raise ParitySkipped(f"no labelled set for the reference's labels {sorted(set(want))}")
    got = [candidate(text)[0] for text, _ in sample]
    acc_got, acc_want = _balanced_accuracy(got, gold), _balanced_accuracy(want, gold)
    agree = sum(a == b for a, b in zip(got, want)) / len(sample)
    error = max(0.0, acc_want - acc_got)
    detail = (f"balanced accuracy {acc_got:.3f} vs reference {acc_want:.3f} on {len(sample)} labelled "
              f"tweets; they agree on {agree:.1%}")
    return ParityResult(error, CLASSIFIER_TOLERANCE, error <= CLASSIFIER_TOLERANCE, detail)
