"""``run_pipeline(config)``: shards -> extract + filters (parallel) -> dedup steps -> writer -> tokens.

Layout of ``output_dir`` (a local folder or an fsspec URL such as ``s3://bucket/run``: every path
goes through :mod:`lmforge.data.storage`)::

    config.toml                 the resolved config
    .lmforge.lock               held while a run writes here (a lock object on object storage): a
                                second run is refused
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
import shutil
import tempfile
import time
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.core import ConfigError, LmforgeError, bind_part, config_to_dict, config_to_toml

from . import storage
from .inputs import check_output_location, input_signature, inside, list_input_files, shard_name
from .parts import build
from .pipeline_config import PipelineConfig
from .shard_worker import ShardJob, build_steps, process_shard, shard_output

EOT = "<|endoftext|>"
KEY_FILE = ".inputs"  # in each later stage's folder: the inputs it was computed from


class PipelineFailed(LmforgeError):
    """Shards failed on an unexpected exception; the message names step, shard and document."""


@dataclass
class _Plan:
    """Everything validated before the first write."""

    out: str  # a local path or an fsspec URL, like every path below
    config: dict[str, Any]
    files: list[str]
    shards: list[tuple[str, str, tuple[int, int] | None, dict[str, Any]]]  # name, input, range, signature
    key: str
    executor: Any
    dedupers: list[Any]
    tokens_path: str | None
    classifiers: dict[str, dict[str, Any]]  # each classifier filter's provenance


def _validate(cfg: PipelineConfig, verify_inputs: str) -> _Plan:
    from .readers import READERS
    from .writers import WRITERS

    if not cfg.output_dir:
        raise ConfigError("output_dir is required")
    out = cfg.output_dir
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
    bind_part("html_extractor", cfg.extract.extractor, "extract.extractor")
    for step in cfg.filters:
        build("doc_filter", step, "filter")
    _warm_up(config)
    classifiers = _classifier_provenance(config)
    executor = build("executor", cfg.executor, "executor")
    dedupers = [build("deduper", d, "dedup step") for d in cfg.dedup]
    _check_storage_reach(out, files, executor)
    shards = _shards(files, cfg.input.format, cfg.input.shard_bytes, verify_inputs)
    key = hashlib.sha256(json.dumps([[n, s] for n, _, _, s in shards], sort_keys=True).encode()).hexdigest()
    return _Plan(out, config, files, shards, key, executor, dedupers, tokens_path, classifiers)


def _check_storage_reach(out: str, files: list[str], executor: Any) -> None:
    """``memory://`` lives in one process: workers in other processes would write into their own
    copy and the run would lose their outputs, so it needs an in-process executor."""
    if any(storage.protocol(p) == "memory" for p in [out, *files]) and not getattr(
        executor, "in_process", False
    ):
        raise ConfigError(
            "memory:// paths exist only inside one process: use executor local with workers = 1 "
            "(or a filesystem every worker can reach: a local folder, s3://)"
        )


def _shards(files: list[str], fmt: str, shard_bytes: int, verify_inputs: str):
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


def _check_same_run(out: str, config: dict[str, Any]) -> None:
    """Refuse to resume into a folder written with different steps: its markers would be stale."""
    fingerprint = _fingerprint(config)
    path = storage.join(out, "pipeline.fingerprint.json")
    if storage.isfile(path) and storage.read_text(path) != fingerprint:
        raise LmforgeError(
            f"{out} holds a run with a different pipeline config: use a new output_dir "
            "(or delete the folder) instead of resuming"
        )
    storage.write_atomic(path, fingerprint)


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
    with storage.lock_output(plan.out):  # created if missing; one run at a time
        _check_same_run(plan.out, plan.config)
        storage.write_atomic(storage.join(plan.out, "config.toml"), config_to_toml(cfg))
        done = _finished_stats(plan)
        if done is not None:
            return done
        return _run(cfg, plan, keep_going)


def saved_config(output_dir: str) -> dict[str, Any]:
    """The config the run at ``output_dir`` saved (read through storage, so a URL works too)."""
    saved = storage.join(output_dir, "config.toml")
    if not storage.isfile(saved):
        raise LmforgeError(f"--resume {output_dir}: no pipeline run there (no config.toml)")
    return tomllib.loads(storage.read_text(saved))


def _finished_stats(plan: _Plan) -> dict[str, Any] | None:
    """The stored stats when a previous run finished on exactly these inputs (nothing to redo)."""
    path = storage.join(plan.out, "stats.json")
    if storage.isfile(path):
        stats = json.loads(storage.read_text(path))
        if stats.get("input_key") == plan.key:
            return stats
    return None


def _clean_temp_files(folder: str) -> None:
    """Remove temp files a killed run left behind (local atomic writes name them ``.<name>.<rand>.tmp``;
    remote writes are staged in the local temp folder, never beside their target)."""
    if storage.is_local(folder) and Path(folder).is_dir():
        for tmp in Path(folder).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _remove_stale_shards(folder: str, names: list[str]) -> None:
    """Delete stage-one files of shards whose input is no longer part of the run."""
    wanted = set(names)
    for pattern, suffix in (("*.done.json", ".done.json"), ("*.jsonl.gz", ".jsonl.gz")):
        for p in storage.glob(storage.join(folder, pattern)):
            if storage.name_of(p).removesuffix(suffix) not in wanted:
                storage.remove(p)


def _stage_folder(folder: str, key: str) -> str:
    """A later stage's folder, emptied first when it was computed from other inputs."""
    key_file = storage.join(folder, KEY_FILE)
    if storage.isfile(key_file):
        if storage.read_text(key_file) != key:
            storage.rmtree(folder)
    elif storage.isdir(folder):
        storage.rmtree(folder)
    storage.makedirs(folder)
    _clean_temp_files(folder)
    if not storage.isfile(key_file):
        storage.write_atomic(key_file, key)
    return folder


def _run(cfg: PipelineConfig, plan: _Plan, keep_going: bool) -> dict[str, Any]:
    out, executor = plan.out, plan.executor
    storage.remove(storage.join(out, "stats.json"))
    storage.remove(storage.join(out, "failures.json"))
    stage1 = storage.join(out, "stage1")
    storage.makedirs(stage1)
    _clean_temp_files(stage1)
    names = [name for name, _, _, _ in plan.shards]
    _remove_stale_shards(stage1, names)
    excluded = None
    if cfg.output.exclusions:  # per shard, like stage1: a redone shard rewrites its own file
        excluded = storage.join(out, "excluded")
        storage.makedirs(excluded)
        _clean_temp_files(excluded)
        _remove_stale_shards(excluded, names)
    jobs = [
        ShardJob(name, path, stage1, plan.config, sig, excluded, rng) for name, path, rng, sig in plan.shards
    ]
    stop = None if keep_going else _failed
    shard_stats = executor.map(process_shard, jobs, desc="filter shards", stop=stop)
    _raise_failures(out, shard_stats)
    steps = _merge_shard_steps(shard_stats)
    current = [shard_output(stage1, n) for n in names]
    intermediates = [stage1]

    for i, (step, deduper) in enumerate(zip(cfg.dedup, plan.dedupers)):
        folder = _stage_folder(storage.join(out, f"dedup-{i}-{step.name}"), plan.key)
        done = storage.join(folder, "_DONE.json")
        if storage.isfile(done):
            per_shard = json.loads(storage.read_text(done))
        else:
            t0 = time.perf_counter()
            per_shard = deduper.run(current, folder, storage.join(folder, "work"), executor)
            per_shard = {"shards": per_shard, "seconds": time.perf_counter() - t0}
            storage.rmtree(storage.join(folder, "work"))
            storage.write_atomic(done, json.dumps(per_shard))
        steps.append(_dedup_step_stats(f"dedup:{step.name}", per_shard, deduper.reason))
        current = [storage.join(folder, storage.name_of(p)) for p in current]
        intermediates.append(folder)

    final = _stage_folder(storage.join(out, "final"), plan.key)
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
        "inputs": list(plan.files),
        "input_key": plan.key,
        "kept": steps[-1]["kept"],
        "steps": steps,
        "scores": _merge_scores(shard_stats),
        "classifiers": plan.classifiers,
        "config": {k: v for k, v in plan.config.items() if k in ("filters", "dedup", "extract", "output")},
    }
    if plan.tokens_path is not None:
        stats["tokens"] = _tokenize(current, out, plan.tokens_path, cfg, plan.key)
    storage.write_atomic(storage.join(out, "stats.json"), json.dumps(stats, indent=1))
    if not cfg.keep_intermediate:
        for folder in intermediates:
            _delete_intermediate(folder)
    return stats


def _delete_intermediate(folder: str) -> None:
    """Drop a stage's document files; its markers stay, so the finished run's record remains.
    (A later run with changed inputs redoes the shards whose files are gone.)"""
    for p in storage.glob(storage.join(folder, "*.jsonl.gz")):
        storage.remove(p)


def _failed(result: dict[str, Any] | None) -> bool:
    return bool(result) and "failed" in result


def _raise_failures(out: str, results: list[dict[str, Any] | None]) -> None:
    failures = [r for r in results if _failed(r)]
    if not failures:
        return
    storage.write_atomic(storage.join(out, "failures.json"), json.dumps(failures, indent=1))
    lines = [
        f"step {f['failed']['step']} failed on shard {f['shard']} ({f['input']}) at document "
        f"{f['failed']['document']}: {f['failed']['error']}"
        for f in failures
    ]
    unfinished = sum(1 for r in results if r is None)
    tail = f"; {unfinished} shard(s) not run (use --keep-going to finish them)" if unfinished else ""
    where = storage.join(out, "failures.json")
    raise PipelineFailed(
        f"{len(failures)} shard(s) failed{tail}; tracebacks in {where}:\n" + "\n".join(lines)
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


def _write_final(job: tuple[str, str, str]) -> str:
    """One kept shard in the output format: a hard link when the format is the stages' own
    (``jsonl.gz``, byte-identical; a server-side copy on object storage), else a conversion.
    Skipped when its marker exists."""
    from .readers import read_jsonl
    from .writers import WRITERS

    shard, final, fmt = job
    writer, suffix = WRITERS[fmt]
    base = storage.name_of(shard).removesuffix(".jsonl.gz")
    marker = storage.join(final, f"{base}.done")
    if storage.isfile(marker):
        return "done"
    target = storage.join(final, f"{base}{suffix}")
    how = "converted"
    if fmt == "jsonl.gz":
        how = storage.link_or_copy(shard, target)
    else:
        writer(read_jsonl(shard), target)
    storage.write_atomic(marker, "")
    return how


def _tokenize(shards: list[str], out: str, target: str, cfg: PipelineConfig, key: str) -> dict[str, Any]:
    """Kept documents, joined by the end-of-text token, into one flat token file. The encoder works
    on local files: for an output on object storage the texts and the token file are made in a local
    temp folder and the token file and its sidecar uploaded."""
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer

    from .readers import read_jsonl

    marker = f"{target}.done"
    if storage.isfile(marker) and storage.read_text(marker) == key:
        return json.loads(storage.read_text(f"{target}.json"))
    tokenizer = load_tokenizer(cfg.tokenize.tokenizer_dir, cfg.tokenize.tokenizer)
    if EOT not in tokenizer.special_tokens:
        raise LmforgeError(f"the tokenizer in {cfg.tokenize.tokenizer_dir} has no {EOT} special token")
    with tempfile.TemporaryDirectory(prefix="lmforge-tokenize-") as tmp:
        local = storage.is_local(out)
        texts_dir = Path(out, "tokenize-input") if local else Path(tmp, "tokenize-input")
        texts_dir.mkdir(exist_ok=True)
        files = []
        for shard in shards:
            # A literal end-of-text string inside a document would split it in two: it is removed.
            docs = [d.text.replace(EOT, "") for d in read_jsonl(shard)]
            if not docs:
                continue
            path = texts_dir / (storage.name_of(shard).removesuffix(".jsonl.gz") + ".txt")
            storage.write_atomic(path, EOT.join(docs))  # the encoder adds each file's last end-of-text
            files.append(path)
        if not files:
            raise LmforgeError("no documents survived the pipeline: nothing to tokenize")
        encoded = Path(target) if local else Path(tmp, storage.name_of(target))
        encoded.parent.mkdir(parents=True, exist_ok=True)
        meta = encode_files_to_bin(tokenizer, files, encoded, workers=cfg.tokenize.workers)
        if not local:
            fs, remote = storage.fs_of(target)
            fs.put_file(str(encoded), remote)
            fs.put_file(f"{encoded}.json", f"{remote}.json")
        if local and not cfg.keep_intermediate:
            shutil.rmtree(texts_dir)
    storage.write_atomic(marker, key)
    return meta
