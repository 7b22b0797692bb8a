"""Labelled text from real files (CSV or JSONL), split into disjoint parts and scored per class."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from pathlib import Path

from lmforge.core import LmforgeError


def _open(path: Path):
    return (
        gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")
    )


def load_labelled(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    label_map: dict[str, str] | None = None,
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """``([(text, label)], skipped)`` from a ``.csv`` or ``.jsonl`` (optionally ``.gz``) file.

    ``label_map`` renames labels (``{"hate": "toxic", "offensive": "toxic", "neither": "non-toxic"}``);
    a label it does not name is an error (a typo would otherwise drop or mislabel rows). Rows with an
    empty text are skipped and counted as ``empty_text``."""
    path = Path(path)
    rows: list[tuple[str, str]] = []
    skipped = {"empty_text": 0}
    unknown: set[str] = set()
    name = path.name.removesuffix(".gz")
    with _open(path) as f:
        if name.endswith(".csv"):
            records = csv.DictReader(f)
            missing = {text_column, label_column} - set(records.fieldnames or [])
            if missing:
                raise LmforgeError(f"{path} has no column(s) {sorted(missing)}; it has {records.fieldnames}")
        elif name.endswith((".jsonl", ".json")):
            records = (json.loads(line) for line in f if line.strip())
        else:
            raise LmforgeError(f"{path}: labelled data must be .csv or .jsonl (optionally .gz)")
        for rec in records:
            if text_column not in rec or label_column not in rec:
                raise LmforgeError(f"{path}: a record lacks {text_column!r} or {label_column!r}: {rec}")
            text, label = str(rec[text_column] or ""), str(rec[label_column])
            if label_map is not None:
                if label not in label_map:
                    unknown.add(label)
                    continue
                label = label_map[label]
            if not text.strip():
                skipped["empty_text"] += 1
                continue
            rows.append((text, label))
    if unknown:
        raise LmforgeError(f"{path}: labels {sorted(unknown)} are not in the label mapping {label_map}")
    return rows, skipped


def split_disjoint(
    rows: list[tuple[str, str]], held_out: float = 0.2, seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Train and held-out parts by a seeded hash of each text: rows never appear on both sides, and
    neither do repeated texts (a retweet and its original land together)."""
    train, test = [], []
    for text, label in rows:
        h = hashlib.sha1(f"{seed}:{' '.join(text.split())}".encode()).digest()
        (test if int.from_bytes(h[:8], "big") / 2**64 < held_out else train).append((text, label))
    return train, test


def per_class_report(gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Precision, recall, F1 and support per class; accuracy; balanced accuracy (mean recall)."""
    classes = {}
    for c in labels:
        tp = sum(p == c and g == c for p, g in zip(predicted, gold))
        n_pred, n_gold = sum(p == c for p in predicted), sum(g == c for g in gold)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        classes[c] = {
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(f1, 4),
            "support": n_gold,
        }
    recalls = [v["recall"] for v in classes.values() if v["support"]]
    return {
        "per_class": classes,
        "accuracy": round(sum(p == g for p, g in zip(predicted, gold)) / max(1, len(gold)), 4),
        "balanced_accuracy": round(sum(recalls) / max(1, len(recalls)), 4),
    }
