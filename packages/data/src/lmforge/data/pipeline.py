"""``run_pipeline(config)``: shards -> extract + filters (parallel) -> dedup steps -> writer -> tokens.

Layout of ``output_dir``::

    config.toml                 the resolved config
    stage1/<shard>.jsonl.gz     kept documents per shard, and <shard>.done.json (its stats, the marker)
    dedup-<i>-<name>/           each dedup step's shards, and _DONE.json once the whole step finished
    final/<shard>.<format>      the output in the configured format, each with a .done marker
    tokens.bin (+ .json)        the token file for `lmforge train`, when a tokenizer is configured
    stats.json                  kept and dropped per step, with reasons, times and score histograms

Every file is written atomically; markers come last. A rerun after a crash skips everything that has
a marker and produces byte-identical output to an uninterrupted run.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path
from typing import Any

from lmforge.core import ConfigError, LmforgeError, atomic_write, config_to_dict, get_part, save_config

from .pipeline_config import PipelineConfig
from .shard_worker import build_steps, process_shard

EOT = "<|endoftext|>"


def _input_files(cfg: PipelineConfig) -> list[Path]:
    files: list[Path] = []
    for pattern in cfg.input.paths:
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConfigError(f"input.paths: {pattern!r} matches no file")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                files.extend(sorted(x for x in p.rglob("*") if x.is_file()))
            elif p.is_file():
                files.append(p)
            else:
                raise ConfigError(f"input path not found: {m}")
    if not files:
        raise ConfigError("no input files: set input.paths")
    return files


def _shard_name(i: int, path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.name)
    return f"{i:05d}-{stem}"


def _clean_temp_files(folder: Path) -> None:
    """Remove temp files a killed run left behind (atomic writes name them ``.<name>.<rand>.tmp``)."""
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _check_same_run(out: Path, config: dict[str, Any]) -> None:
    """Refuse to resume into a folder written with different steps: its markers would be stale.
    The executor may differ (local and ray give the same output)."""
    fingerprint = json.dumps({k: v for k, v in config.items() if k != "executor"}, sort_keys=True)
    path = out / "pipeline.fingerprint.json"
    if path.is_file() and path.read_text() != fingerprint:
        raise LmforgeError(
            f"{out} holds a run with a different pipeline config: use a new output_dir "
            "(or delete the folder) instead of resuming"
        )
    atomic_write(path, fingerprint)


def _warm_up(config: dict[str, Any]) -> None:
    """Build the steps in the parent once: bad options fail here, and classifier models are trained
    or loaded before workers fork (they then share the loaded model)."""
    _, filters = build_steps(config)
    for name, f in filters:
        if name.startswith(("classifier", "language")):
            f.filter(_probe())


def _probe():
    from .documents import Document

    return Document(text="warm-up text for the model loaders", id="probe")


def run_pipeline(cfg: PipelineConfig) -> dict[str, Any]:
    if not cfg.output_dir:
        raise ConfigError("output_dir is required")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = config_to_dict(cfg)
    _check_same_run(out, config)
    save_config(cfg, out)
    files = _input_files(cfg)
    names = [_shard_name(i, p) for i, p in enumerate(files)]
    executor = get_part("executor", cfg.executor.name)(**cfg.executor.options)
    dedupers = [get_part("deduper", d.name)(**d.options) for d in cfg.dedup]
    from .readers import READERS
    from .writers import WRITERS

    if cfg.input.format not in ("auto", *READERS):
        raise ConfigError(
            f"input.format must be auto or one of {', '.join(READERS)}, got {cfg.input.format!r}"
        )
    if cfg.output.format not in WRITERS:
        raise ConfigError(f"output.format must be one of {', '.join(WRITERS)}, got {cfg.output.format!r}")
    _warm_up(config)

    stage1 = out / "stage1"
    stage1.mkdir(exist_ok=True)
    _clean_temp_files(stage1)
    jobs = [(name, str(path), str(stage1), config) for name, path in zip(names, files)]
    shard_stats = executor.map(process_shard, jobs, desc="filter shards")
    steps = _merge_shard_steps(shard_stats)
    current = [stage1 / f"{n}.jsonl.gz" for n in names]

    for i, (step, deduper) in enumerate(zip(cfg.dedup, dedupers)):
        folder = out / f"dedup-{i}-{step.name}"
        done = folder / "_DONE.json"
        if done.is_file():
            per_shard = json.loads(done.read_text())
        else:
            folder.mkdir(exist_ok=True)
            _clean_temp_files(folder)
            import time

            t0 = time.perf_counter()
            per_shard = deduper.run(current, folder, folder / "work", executor)
            per_shard = {"shards": per_shard, "seconds": time.perf_counter() - t0}
            atomic_write(done, json.dumps(per_shard))
        steps.append(_dedup_step_stats(f"dedup:{step.name}", per_shard, deduper.reason))
        current = [folder / p.name for p in current]

    final = out / "final"
    final.mkdir(exist_ok=True)
    _clean_temp_files(final)
    executor.map(_write_final, [(s, final, cfg.output.format) for s in current], desc="write output")
    stats = {
        "shards": len(files),
        "inputs": [str(p) for p in files],
        "kept": steps[-1]["kept"] if steps else 0,
        "steps": steps,
        "scores": _merge_scores(shard_stats),
        "config": {k: v for k, v in config.items() if k in ("filters", "dedup", "extract", "output")},
    }
    if cfg.tokenize.tokenizer_dir:
        stats["tokens"] = _tokenize(current, out, cfg)
    atomic_write(out / "stats.json", json.dumps(stats, indent=1))
    return stats


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
            for r, n in st["dropped"].items():
                m["dropped"][r] = m["dropped"].get(r, 0) + n
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


def _write_final(job: tuple[Path, Path, str]) -> None:
    """Convert one kept shard to the output format (skipped when its marker exists)."""
    from .readers import read_jsonl
    from .writers import WRITERS

    shard, final, fmt = job
    writer, suffix = WRITERS[fmt]
    base = shard.name.removesuffix(".jsonl.gz")
    marker = final / f"{base}.done"
    if not marker.is_file():
        writer(read_jsonl(shard), final / f"{base}{suffix}")
        atomic_write(marker, "")


def _tokenize(shards: list[Path], out: Path, cfg: PipelineConfig) -> dict[str, Any]:
    """Kept documents, joined by the end-of-text token, into one flat token file."""
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer

    from .readers import read_jsonl

    target = out / cfg.tokenize.out
    marker = out / f"{cfg.tokenize.out}.done"
    if marker.is_file():
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
    meta = encode_files_to_bin(tokenizer, files, target, workers=cfg.tokenize.workers)
    atomic_write(marker, "")
    return meta
