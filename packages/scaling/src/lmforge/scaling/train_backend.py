"""The ``train`` experiment backend: really trains an lmforge model for a FLOPs budget.

Each request becomes a ``TrainConfig`` whose only budget is ``train.max_flops``: the trainer runs the
step count that spends the budget by the model's exact per-token FLOPs (rounded up to whole steps)
and evaluates once at the end on fixed validation batches (the same for every run of a sweep, since
they are drawn from the seed). Warm-up is a fixed fraction of the steps so short and long runs
follow the same schedule shape. The row is read back from the run directory.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError, read_metrics

from .experiment import Experiment, ExperimentBackend


def read_summary(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


class TrainBackend(ExperimentBackend):
    """Trains lmforge models with ``lmforge.model.train`` for exactly a FLOPs budget."""

    name = "train"

    def __init__(self, data: str | Path = "", val_data: str | Path = "", out: str | Path = "runs/scaling",
                 device: str = "cpu", warmup_fraction: float = 0.05, eval_batches: int = 8,
                 dtype: str = "float32", tokenizer_dir: str = "", limits: dict | None = None) -> None:
        super().__init__(limits)
        self.data, self.val_data = str(data), str(val_data)
        self.out = Path(out)
        self.device, self.dtype = device, dtype
        self.warmup_fraction, self.eval_batches = warmup_fraction, eval_batches
        self.tokenizer_dir = str(tokenizer_dir)

    def train_path(self, exp: Experiment) -> str:
        """The token file this run trains on: the backend's, or the request's own ``extra["data"]``
        (a data ablation trains one shape on several files; the path is then part of the request's key)."""
        return str(exp.extra.get("data", {}).get("train_path", self.data))

    def validate(self, exp: Experiment) -> None:
        super().validate(exp)
        data = self.train_path(exp)
        if not data or not Path(data).is_file():
            raise LmforgeError(f"train backend needs a token file (data=...); {data or 'none'} given")

    def steps(self, exp: Experiment) -> int:
        per_step = self.flops_per_token(exp) * exp.batch_size * exp.model["context_length"]
        return math.ceil(exp.flops / per_step)

    def config(self, exp: Experiment, name: str):
        from lmforge.core import load_config
        from lmforge.model import TrainConfig

        steps = self.steps(exp)
        extra = dict(exp.extra)
        warmup = max(1, round(self.warmup_fraction * steps))
        data = {
            "model": dict(exp.model),
            "data": {"train_path": self.data, "val_path": self.val_data, "tokenizer_dir": self.tokenizer_dir,
                     **extra.pop("data", {})},
            "optimizer": {"lr": exp.lr, **extra.pop("optimizer", {})},
            "schedule": {"warmup_steps": warmup, **extra.pop("schedule", {})},
            "train": {"max_steps": None, "max_flops": float(exp.flops), "batch_size": exp.batch_size,
                      "eval_every": steps, "eval_batches": self.eval_batches,
                      "log_every": max(1, steps // 50), "checkpoint_every": steps, "keep_checkpoints": 1},
            "out": str(self.out), "name": name, "seed": exp.seed, "device": self.device,
            "dtype": self.dtype, "progress": False, **extra,
        }
        return load_config(TrainConfig, data=data)

    def run(self, exp: Experiment) -> dict[str, Any]:
        from lmforge.model import train

        from .runs_dir import read_run_dir
        from .table import complete_row

        counts = self.counts(exp)
        name = f"C{exp.flops:.2g}-N{counts['params']}-{exp.key(self.name)[:8]}"
        run_dir = train(self.config(exp, name))
        summary = read_summary(run_dir)
        if summary.get("status") != "completed":
            # an interrupted run has not spent its budget: it must not enter the record as a result
            raise LmforgeError(f"run {run_dir} ended with status {summary.get('status')!r}, not 'completed'")
        row = complete_row(read_run_dir(run_dir), str(run_dir))
        row["budget"] = float(exp.flops)
        return row

    def loss_curve(self, exp: Experiment, row: dict[str, Any]) -> list[list[float]]:
        """Training loss against tokens seen, from the run directory's ``metrics.jsonl``."""
        from .runs_dir import TRAIN_KEYS

        curve = []
        for r in read_metrics(row["name"]):
            loss = next((r[k] for k in TRAIN_KEYS if isinstance(r.get(k), int | float)), None)
            if loss is not None and isinstance(r.get("tokens"), int | float):
                curve.append([float(r["tokens"]), float(loss)])
        return curve
