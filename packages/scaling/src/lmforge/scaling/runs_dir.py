"""Read one lmforge run directory (``config.toml`` + ``metrics.jsonl``) into a run-table row.

N and C come from the model package's accounting when the config names a model: N is the
non-embedding parameter count and C the exact training FLOPs for the tokens seen; otherwise the
row carries what the metrics say and the table falls back to C = 6ND.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError, read_metrics

EVAL_KEYS = ("val_loss", "eval_loss", "valid_loss")
TRAIN_KEYS = ("loss", "train_loss")


def is_run_dir(path: Path) -> bool:
    return (path / "metrics.jsonl").is_file() and (path / "config.toml").is_file()


def run_status(path: Path) -> str:
    """``completed``, ``interrupted``, ``diverged`` (from the trainer's summary.json) or ``unfinished``."""
    try:
        return str(json.loads((path / "summary.json").read_text()).get("status", "unfinished"))
    except (OSError, json.JSONDecodeError):
        return "unfinished"


def _dig(cfg: dict[str, Any], *paths: str) -> Any:
    for dotted in paths:
        node: Any = cfg
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    return None


def final_loss(records: list[dict[str, Any]]) -> float | None:
    """The last evaluation loss; without one, the mean train loss over the last tenth of the log."""
    for key in EVAL_KEYS:
        vals = [r[key] for r in records if isinstance(r.get(key), int | float)]
        if vals:
            return float(vals[-1])
    for key in TRAIN_KEYS:
        vals = [float(r[key]) for r in records if isinstance(r.get(key), int | float)]
        if vals:
            tail = vals[-max(1, len(vals) // 10):]  # one noisy minibatch is a poor final loss
            return sum(tail) / len(tail)
    return None


def model_config(model_section: dict[str, Any]):
    """A ``ModelConfig`` from a config's ``[model]`` table (unknown keys ignored, for older runs)."""
    from lmforge.model import ModelConfig

    names = {f.name for f in dataclasses.fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in model_section.items() if k in names})


def account(model_section: dict[str, Any], tokens: float | None) -> dict[str, float]:
    """Parameter counts and exact training FLOPs from ``lmforge.model.accounting`` (empty if unavailable)."""
    try:
        from lmforge.model.accounting import count_parameters, training_flops
    except ImportError:
        return {}
    cfg = model_config(model_section)
    counts = count_parameters(cfg)
    out = {"params": float(counts["non_embedding"]), "params_total": float(counts["total"])}
    if tokens:
        out["flops"] = float(training_flops(cfg, tokens))
    return out


def read_run_dir(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        cfg = tomllib.loads((path / "config.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LmforgeError(f"{path}: cannot read config.toml: {e}") from None
    records = read_metrics(path)
    if not records:
        raise LmforgeError(f"{path}: metrics.jsonl has no records")
    model = cfg.get("model") or {}
    batch = _dig(cfg, "train.batch_size", "data.batch_size", "batch_size")
    accum = _dig(cfg, "train.grad_accum") or 1
    context = _dig(cfg, "model.context_length", "data.context_length")
    tokens = next((r["tokens"] for r in reversed(records) if isinstance(r.get("tokens"), int | float)), None)
    if tokens is None and batch and context:
        step = max(int(r.get("step", 0)) for r in records)
        tokens = step * batch * accum * context
    row: dict[str, Any] = {
        "name": str(path),
        "loss": final_loss(records),
        "tokens": tokens,
        "budget": _dig(cfg, "train.max_flops", "scaling.budget"),
        "batch_size": batch,
        "lr": _dig(cfg, "optimizer.lr", "optimizer.max_lr", "schedule.max_lr", "train.lr"),
    }
    for key in ("d_model", "num_layers", "num_heads", "d_ff", "vocab_size", "context_length"):
        row[key] = model.get(key)
    if model:
        row.update(account(model, tokens))
    elif isinstance(records[-1].get("params"), int | float):
        row["params"] = records[-1]["params"]
    if row["loss"] is None or (isinstance(row["loss"], float) and math.isnan(row["loss"])):
        row["loss"] = float("nan")
    return row
