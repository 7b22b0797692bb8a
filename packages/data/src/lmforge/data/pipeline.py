"""``run_pipeline(config)``: shards -> extract + filters (parallel) -> dedup steps -> writer -> tokens.

Layout of ``output_dir``::

    config.toml                 the resolved config
    .lmforge.lock               held while a run writes here: a second run is refused
    stage1/<shard>.jsonl.gz     kept documents per shard, and <shard>.done.json (its stats, the marker)
    dedup-<i>-<name>/           each dedup step's shards, and _DONE.json once the whole step finished
    final/<shard>.<format>      the output in the configured format, each with a .done marker
    excluded/<shard>.jsonl.gz   dropped documents with step and reason (``output.exclusions = true``)
    tokens.bin (+ .json)        the token file for `lmforge train`, when a tokenizer is configured
    stats.json                  kept and dropped per step, with reasons, times and score histograms
    failures.json               when shards failed: step, document, error and traceback of each

Everything is validated (parts, options, formats, paths) before the first write. Every file is written
atomically; markers come last. A rerun skips what has a marker for the same inputs; a changed input
redoes its shard and every later stage, and outputs of inputs that are gone are removed. The
intermediate stages are deleted at the end unless ``keep_intermediate = true``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.core import (
    ConfigError,
    LmforgeError,
    atomic_write,
    config_to_dict,
    get_part,
    lock_dir,
    save_config,
)

from .inputs import check_output_location, input_signature, inside, list_input_files, shard_name
from .pipeline_config import PipelineConfig
from .shard_worker import ShardJob, build_steps, process_shard, shard_output

EOT = "<|endoftext|>"
KEY_FILE = ".inputs"  # in each later stage's folder: the inputs it was computed from


class PipelineFailed(LmforgeError):
    """Shards failed on an unexpected exception; the message names step, shard and document."""


@dataclass
class _Plan:
    """Everything validated before the first write."""

    out: Path
    config: dict[str, Any]
    files: list[Path]
    shards: list[tuple[str, Path, tuple[int, int] | None, dict[str, Any]]]  # name, input, range, signature
    key: str
    executor: Any
    dedupers: list[Any]
    tokens_path: Path | None
    classifiers: dict[str, dict[str, Any]]  # each classifier filter's provenance


def _build(kind: str, name: str, options: dict[str, Any], what: str):
    try:
        return get_part(kind, name)(**options)
    except TypeError as e:  # an option the part does not take
        raise ConfigError(f"{what} {name!r}: {e}") from None


def _validate(cfg: PipelineConfig, verify_inputs: str) -> _Plan:
    from .readers import READERS
    from .writers import WRITERS

    if not cfg.output_dir:
        raise ConfigError("output_dir is required")
    out = Path(cfg.output_dir)
    if cfg.input.format not in ("auto", *READERS):
        raise ConfigError(
            f"input.format must be auto or one of {', '.join(READERS)}, got {cfg.input.format!r}"
        )
    if cfg.output.format not in WRITERS:
        raise ConfigError(f"output.format must be one of {', '.join(WRITERS)}, got {cfg.output.format!r}")
    files = list_input_files(cfg.input.paths)
    check_output_location(out, cfg.input.paths, files)
    tokens_path = inside(out, cfg.tokenize.out) if cfg.tokenize.tokenizer_dir else None
    config = config_to_dict(cfg)
    get_part("html_extractor", cfg.extract.extractor)
    for step in cfg.filters:
        _build("doc_filter", step.name, step.options, "filter")
    _warm_up(config)
    classifiers = _classifier_provenance(config)
    executor = _build("executor", cfg.executor.name, cfg.executor.options, "executor")
    dedupers = [_build("deduper", d.name, d.options, "dedup step") for d in cfg.dedup]
    shards = _shards(files, cfg.input.format, cfg.input.shard_bytes, verify_inputs)
    key = hashlib.sha256(json.dumps([[n, s] for n, _, _, s in shards], sort_keys=True).encode()).hexdigest()
    return _Plan(out, config, files, shards, key, executor, dedupers, tokens_path, classifiers)


def _shards(files: list[Path], fmt: str, shard_bytes: int, verify_inputs: str):
    """One shard per file, or per byte range of a file larger than ``shard_bytes``."""
    from .readers import split_points

    shards = []
    for path in files:
        base, signature = shard_name(path), input_signature(path, verify_inputs)
        starts = split_points(path, fmt, shard_bytes)
        if len(starts) == 1:
            shards.append((base, path, None, signature))
            continue
        ends = [*starts[1:], signature["size"]]
        for k, byte_range in enumerate(zip(starts, ends)):
            shards.append((f"{base}-{k:04d}", path, byte_range, {**signature, "range": list(byte_range)}))
    return shards


def _classifier_provenance(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Model, training data and held-out figures of each classifier filter; a demo model is warned of."""
    out = {}
    for label, f in build_steps(config)[1]:
        if hasattr(f, "provenance"):
            out[label] = f.provenance()
            if out[label].get("demo"):
                warnings.warn(
                    f"{label} uses a demo model ({out[label].get('model')}), trained on built-in demo "
                    "data, not on real labelled web text: its decisions are not a quality judgement",
                    UserWarning,
                    stacklevel=2,
                )
    return out


def _fingerprint(config: dict[str, Any]) -> str:
    """The config keys that change how documents are processed. Not the executor or keep_intermediate,
    and not the input paths: which inputs a run covers is tracked per shard (markers and stale removal)."""
    steps = {k: v for k, v in config.items() if k not in ("executor", "keep_intermediate")}
    steps["input"] = {k: v for k, v in config["input"].items() if k != "paths"}
    return json.dumps(steps, sort_keys=True)


def _check_same_run(out: Path, config: dict[str, Any]) -> None:
    """Refuse to resume into a folder written with different steps: its markers would be stale."""
    fingerprint = _fingerprint(config)
    path = out / "pipeline.fingerprint.json"
    if path.is_file() and path.read_text() != fingerprint:
        raise LmforgeError(
            f"{out} holds a run with a different pipeline config: use a new output_dir "
            "(or delete the folder) instead of resuming"
        )
    atomic_write(path, fingerprint)


def _warm_up(config: dict[str, Any]) -> None:
    """Build the steps in the parent once: models load (or a missing one fails) before any write,
    and forked workers share what was loaded."""
    _, filters = build_steps(config)
    for name, f in filters:
        if name.startswith(("classifier", "language")):
            f.filter(_probe())


def _probe():
    from .documents import Document

    return Document(text="warm-up text for the model loaders", id="probe")


def run_pipeline(
    cfg: PipelineConfig, *, keep_going: bool = False, verify_inputs: str = "stat"
) -> dict[str, Any]:
    """Run (or resume) the pipeline; raises :class:`PipelineFailed` when a shard hit a bug.

    ``keep_going`` finishes the other shards before failing; ``verify_inputs`` is ``stat`` (size and
    mtime) or ``hash`` (size and SHA-256) for deciding whether an input changed since its marker."""
    plan = _validate(cfg, verify_inputs)
    with lock_dir(plan.out, "pipeline output directory"):  # created if missing; one run at a time
        _check_same_run(plan.out, plan.config)
        save_config(cfg, plan.out)
        done = _finished_stats(plan)
        if done is not None:
            return done
        return _run(cfg, plan, keep_going)


def _finished_stats(plan: _Plan) -> dict[str, Any] | None:
    """The stored stats when a previous run finished on exactly these inputs (nothing to redo)."""
    path = plan.out / "stats.json"
    if path.is_file():
        stats = json.loads(path.read_text())
        if stats.get("input_key") == plan.key:
            return stats
    return None


def _clean_temp_files(folder: Path) -> None:
    """Remove temp files a killed run left behind (atomic writes name them ``.<name>.<rand>.tmp``)."""
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _remove_stale_shards(folder: Path, names: list[str]) -> None:
    """Delete stage-one files of shards whose input is no longer part of the run."""
    wanted = set(names)
    for pattern, suffix in (("*.done.json", ".done.json"), ("*.jsonl.gz", ".jsonl.gz")):
        for p in folder.glob(pattern):
            if p.name.removesuffix(suffix) not in wanted:
                p.unlink()


def _stage_folder(folder: Path, key: str) -> Path:
    """A later stage's folder, emptied first when it was computed from other inputs."""
    key_file = folder / KEY_FILE
    if folder.is_dir() and (not key_file.is_file() or key_file.read_text() != key):
        shutil.rmtree(folder)
    folder.mkdir(exist_ok=True)
    _clean_temp_files(folder)
    if not key_file.is_file():
        atomic_write(key_file, key)
    return folder


def _run(cfg: PipelineConfig, plan: _Plan, keep_going: bool) -> dict[str, Any]:
    out, executor = plan.out, plan.executor
    (out / "stats.json").unlink(missing_ok=True)
    (out / "failures.json").unlink(missing_ok=True)
    stage1 = out / "stage1"
    stage1.mkdir(exist_ok=True)
    _clean_temp_files(stage1)
    names = [name for name, _, _, _ in plan.shards]
    _remove_stale_shards(stage1, names)
    excluded = None
    if cfg.output.exclusions:  # per shard, like stage1: a redone shard rewrites its own file
        excluded = out / "excluded"
        excluded.mkdir(exist_ok=True)
        _clean_temp_files(excluded)
        _remove_stale_shards(excluded, names)
    jobs = [
        ShardJob(name, str(path), str(stage1), plan.config, sig, str(excluded) if excluded else None, rng)
        for name, path, rng, sig in plan.shards
    ]
    stop = None if keep_going else _failed
    shard_stats = executor.map(process_shard, jobs, desc="filter shards", stop=stop)
    _raise_failures(out, shard_stats)
    steps = _merge_shard_steps(shard_stats)
    current = [shard_output(stage1, n) for n in names]
    intermediates = [stage1]

    for i, (step, deduper) in enumerate(zip(cfg.dedup, plan.dedupers)):
        folder = _stage_folder(out / f"dedup-{i}-{step.name}", plan.key)
        done = folder / "_DONE.json"
        if done.is_file():
            per_shard = json.loads(done.read_text())
        else:
            t0 = time.perf_counter()
            per_shard = deduper.run(current, folder, folder / "work", executor)
            per_shard = {"shards": per_shard, "seconds": time.perf_counter() - t0}
            shutil.rmtree(folder / "work", ignore_errors=True)
            atomic_write(done, json.dumps(per_shard))
        steps.append(_dedup_step_stats(f"dedup:{step.name}", per_shard, deduper.reason))
        current = [folder / p.name for p in current]
        intermediates.append(folder)

    final = _stage_folder(out / "final", plan.key)
    t0 = time.perf_counter()
    written = executor.map(
        _write_final, [(s, final, cfg.output.format) for s in current], desc="write output"
    )
    steps.append(
        {
            "step": f"write:{cfg.output.format}",
            "in": steps[-1]["kept"] if steps else 0,
            "kept": steps[-1]["kept"] if steps else 0,
            "dropped": {},
            "seconds": round(time.perf_counter() - t0, 4),
            "linked": sum(1 for w in written if w == "linked"),
        }
    )
    stats = {
        "shards": len(plan.shards),
        "inputs": [str(p) for p in plan.files],
        "input_key": plan.key,
        "kept": steps[-1]["kept"],
        "steps": steps,
        "scores": _merge_scores(shard_stats),
        "classifiers": plan.classifiers,
        "config": {k: v for k, v in plan.config.items() if k in ("filters", "dedup", "extract", "output")},
    }
    if plan.tokens_path is not None:
        stats["tokens"] = _tokenize(current, out, plan.tokens_path, cfg, plan.key)
    atomic_write(out / "stats.json", json.dumps(stats, indent=1))
    if not cfg.keep_intermediate:
        for folder in intermediates:
            _delete_intermediate(folder)
    return stats


def _delete_intermediate(folder: Path) -> None:
    """Drop a stage's document files; its markers stay, so the finished run's record remains.
    (A later run with changed inputs redoes the shards whose files are gone.)"""
    for p in folder.glob("*.jsonl.gz"):
        p.unlink()


def _failed(result: dict[str, Any] | None) -> bool:
    return bool(result) and "failed" in result


def _raise_failures(out: Path, results: list[dict[str, Any] | None]) -> None:
    failures = [r for r in results if _failed(r)]
    if not failures:
        return
    atomic_write(out / "failures.json", json.dumps(failures, indent=1))
    lines = [
        f"step {f['failed']['step']} failed on shard {f['shard']} ({f['input']}) at document "
        f"{f['failed']['document']}: {f['failed']['error']}"
        for f in failures
    ]
    unfinished = sum(1 for r in results if r is None)
    tail = f"; {unfinished} shard(s) not run (use --keep-going to finish them)" if unfinished else ""
    raise PipelineFailed(
        f"{len(failures)} shard(s) failed{tail}; tracebacks in {out / 'failures.json'}:\n" + "\n".join(lines)
    )


def _merge_shard_steps(shard_stats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for s in shard_stats:
        for st in s["steps"]:
            m = merged.setdefault(
                st["step"], {"step": st["step"], "in": 0, "kept": 0, "dropped": {}, "seconds": 0.0}
            )
            m["in"] += st["in"]
            m["kept"] += st["kept"]
            m["seconds"] = round(m["seconds"] + st["seconds"], 4)
            for field in ("dropped", "noted"):
                for r, n in st.get(field, {}).items():
                    m.setdefault(field, {})[r] = m.get(field, {}).get(r, 0) + n
    return list(merged.values())


def _dedup_step_stats(name: str, per_shard: dict[str, Any], reason: str) -> dict[str, Any]:
    kept = sum(s["kept"] for s in per_shard["shards"])
    dropped = sum(s.get(reason, 0) for s in per_shard["shards"])
    return {
        "step": name,
        "in": kept + dropped,
        "kept": kept,
        "dropped": {reason: dropped} if dropped else {},
        "seconds": round(per_shard.get("seconds", 0.0), 4),
    }


def _merge_scores(shard_stats: list[dict[str, Any]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s in shard_stats:
        for k, bins in s.get("scores", {}).items():
            acc = out.setdefault(k, [0] * len(bins))
            for i, n in enumerate(bins):
                acc[i] += n
    return out


def _write_final(job: tuple[Path, Path, str]) -> str:
    """One kept shard in the output format: a hard link when the format is the stages' own
    (``jsonl.gz``, byte-identical), else a conversion. Skipped when its marker exists."""
    from .readers import read_jsonl
    from .writers import WRITERS

    shard, final, fmt = job
    writer, suffix = WRITERS[fmt]
    base = shard.name.removesuffix(".jsonl.gz")
    marker = final / f"{base}.done"
    if marker.is_file():
        return "done"
    target = final / f"{base}{suffix}"
    how = "converted"
    if fmt == "jsonl.gz":
        target.unlink(missing_ok=True)
        try:
            os.link(shard, target)
            how = "linked"
        except OSError:  # a filesystem without hard links
            shutil.copyfile(shard, target)
            how = "copied"
    else:
        writer(read_jsonl(shard), target)
    atomic_write(marker, "")
    return how


def _tokenize(shards: list[Path], out: Path, target: Path, cfg: PipelineConfig, key: str) -> dict[str, Any]:
    """Kept documents, joined by the end-of-text token, into one flat token file."""
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer

    from .readers import read_jsonl

    marker = Path(f"{target}.done")
    if marker.is_file() and marker.read_text() == key:
        return json.loads(Path(f"{target}.json").read_text())
    tokenizer = load_tokenizer(cfg.tokenize.tokenizer_dir, cfg.tokenize.tokenizer)
    if EOT not in tokenizer.special_tokens:
        raise LmforgeError(f"the tokenizer in {cfg.tokenize.tokenizer_dir} has no {EOT} special token")
    texts_dir = out / "tokenize-input"
    texts_dir.mkdir(exist_ok=True)
    files = []
    for shard in shards:
        # A literal end-of-text string inside a document would split it in two: it is removed.
        docs = [d.text.replace(EOT, "") for d in read_jsonl(shard)]
        if not docs:
            continue
        path = texts_dir / (shard.name.removesuffix(".jsonl.gz") + ".txt")
        atomic_write(path, EOT.join(docs))  # the encoder adds the last end-of-text of each file
        files.append(path)
    if not files:
        raise LmforgeError("no documents survived the pipeline: nothing to tokenize")
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = encode_files_to_bin(tokenizer, files, target, workers=cfg.tokenize.workers)
    if not cfg.keep_intermediate:
        shutil.rmtree(texts_dir)
    atomic_write(marker, key)
    return meta
