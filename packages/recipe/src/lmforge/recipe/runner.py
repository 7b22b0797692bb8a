"""Run the stages in order, each in ``<dir>/<stage>/`` with a done marker, then write ``report.md``.

A stage is skipped when its ``DONE.json`` holds the fingerprint of its config section chained with
every earlier stage's, so a finished stage reruns only when it, or something before it, changed. A
stage without a marker (killed, or failed) is run again from a clean folder, except ``data``, whose
pipeline resumes from its own per-shard markers when the config is unchanged. ``--from STAGE``
removes the markers of that stage and every later one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import click

from lmforge.core import ConfigError, atomic_write, config_to_dict, save_config

from .config import SHARED, RecipeConfig

STAGES = ("web", "data", "tokenizer", "pretrain", "sft", "grpo", "eval")
RESUMABLE = {"data"}  # stages whose own outputs carry markers, so a killed run continues in place
DONE, STARTED = "DONE.json", "STARTED.json"
# which config sections each stage reads (its fingerprint); progress flags never change a result
SECTIONS = {"web": ("web",), "data": ("data",), "tokenizer": ("tokenizer",), "pretrain": ("pretrain",),
            "sft": (*SHARED, "sft"), "grpo": (*SHARED, "grpo"), "eval": ("eval",)}


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def fingerprint(cfg: RecipeConfig, stage: str, previous: str) -> str:
    doc = {"seed": cfg.seed, "device": cfg.device, "previous": previous,
           **{s: config_to_dict(getattr(cfg, s)) for s in SECTIONS[stage]}}
    for section in ("sft", "grpo"):
        doc.get(section, {}).get("run", {}).pop("progress", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shared_task(cfg: RecipeConfig) -> dict[str, Any]:
    """The task and its sizes, set on the sft and grpo configs alike."""
    return {k: getattr(cfg, k) for k in SHARED}


def _log(stage: str):
    return lambda msg: click.echo(f"    [{stage}] {msg}")


def _run_stage(stage: str, cfg: RecipeConfig, stage_dir: Path, results: dict[str, Any], device: str):
    from . import stage_data, stage_eval, stage_grpo, stage_pretrain, stage_sft, stage_tokenizer, stage_web

    log = _log(stage)
    if stage == "web":
        return stage_web.run(cfg.web, stage_dir, log)
    if stage == "data":
        return stage_data.run(cfg.data, results["web"]["outputs"]["warcs"], stage_dir, log)
    if stage == "tokenizer":
        return stage_tokenizer.run(cfg.tokenizer, results["data"]["outputs"]["kept_files"], stage_dir, log)
    if stage == "pretrain":
        return stage_pretrain.run(cfg.pretrain, results["tokenizer"], stage_dir, cfg.seed, device, log)
    if stage == "sft":
        return stage_sft.run(cfg.sft, shared_task(cfg), results["pretrain"]["outputs"]["policy_dir"],
                             stage_dir, cfg.seed, device, log)
    if stage == "grpo":
        return stage_grpo.run(cfg.grpo, shared_task(cfg), results["sft"]["outputs"]["policy_dir"],
                              stage_dir, cfg.seed, device, log)
    return stage_eval.run(cfg.eval, results, cfg.pretrain.val_fraction, stage_dir, device, log)


def run_recipe(cfg: RecipeConfig, from_stage: str | None = None, command: str = "") -> Path:
    """Run every stage not already done; returns the path of ``report.md``."""
    from .report import write_report

    if from_stage is not None and from_stage not in STAGES:
        raise ConfigError(f"--from must be one of {', '.join(STAGES)}, got {from_stage!r}")
    root = Path(cfg.dir)
    root.mkdir(parents=True, exist_ok=True)
    save_config(cfg, root)
    device = resolve_device(cfg.device)
    if from_stage is not None:
        for stage in STAGES[STAGES.index(from_stage):]:
            (root / stage / DONE).unlink(missing_ok=True)
    results: dict[str, Any] = {"_seed": cfg.seed}
    previous = ""
    for stage in STAGES:
        stage_dir = root / stage
        fp = fingerprint(cfg, stage, previous)
        previous = fp
        marker = _read(stage_dir / DONE)
        if marker is not None and marker["fingerprint"] == fp:
            click.echo(click.style(f"==> {stage}: done ({marker['wall_s']:.0f}s), skipped", dim=True))
            results[stage] = {**marker["result"], "wall_s": marker["wall_s"], "skipped": True}
            continue
        started = _read(stage_dir / STARTED)
        keep = stage in RESUMABLE and started is not None and started["fingerprint"] == fp and marker is None
        if stage_dir.exists() and not keep:
            shutil.rmtree(stage_dir)
        stage_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(stage_dir / STARTED, json.dumps({"fingerprint": fp, "time": time.time()}))
        click.echo(click.style(f"==> {stage}" + (" (resuming)" if keep else ""), bold=True))
        t0 = time.perf_counter()
        result = _run_stage(stage, cfg, stage_dir, results, device)
        wall = time.perf_counter() - t0
        atomic_write(stage_dir / DONE, json.dumps({"fingerprint": fp, "wall_s": wall, "result": result},
                                                  indent=1, default=str))
        results[stage] = {**json.loads(json.dumps(result, default=str)), "wall_s": wall, "skipped": False}
        click.echo(f"    done in {wall:.1f}s")
    report = write_report(cfg, results, root, command=command, device=device)
    click.echo(f"report: {report}")
    return report


def _read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


