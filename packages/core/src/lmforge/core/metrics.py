"""Metrics loggers (part kind ``metrics_logger``): ``jsonl`` (default) and ``tensorboard``.

Every record carries ``step`` and wall-clock ``time_s`` (seconds since the run started; a resumed
run passes the time already spent so the clock keeps counting).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from .errors import LmforgeError
from .runs import atomic_write

METRICS_FILE = "metrics.jsonl"


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):  # numpy / torch scalars
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN/inf; keep them visible instead of failing the run
    return v


class JsonlLogger:
    """Appends one JSON object per call to ``run_dir/metrics.jsonl``, flushed line by line."""

    def __init__(self, run_dir: str | Path, start_time_s: float = 0.0) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._t0 = time.perf_counter() - start_time_s
        self._f = self.path.open("a", encoding="utf-8")

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def log(self, step: int, **metrics: Any) -> dict[str, Any]:
        record = {"step": int(step), "time_s": round(self.elapsed(), 4)}
        record.update({k: _jsonable(v) for k, v in metrics.items()})
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()
        return record

    def close(self) -> None:
        self._f.close()


class TensorboardLogger(JsonlLogger):
    """The JSONL log plus TensorBoard scalars under ``run_dir/tensorboard`` (needs ``tensorboard``)."""

    def __init__(self, run_dir: str | Path, start_time_s: float = 0.0) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise LmforgeError("the tensorboard metrics logger needs torch and tensorboard installed") from e
        super().__init__(run_dir, start_time_s)
        self._writer = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def log(self, step: int, **metrics: Any) -> dict[str, Any]:
        record = super().log(step, **metrics)
        for k, v in record.items():
            if k != "step" and isinstance(v, int | float) and not isinstance(v, bool):
                self._writer.add_scalar(k, v, global_step=int(step))
        return record

    def close(self) -> None:
        super().close()
        self._writer.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of a run, skipping a torn last line left by a crash."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_metrics(run_dir: str | Path, after_step: int) -> None:
    """Drop records logged after ``after_step`` (a resumed run replays them)."""
    path = Path(run_dir) / METRICS_FILE
    kept = [r for r in read_metrics(run_dir) if r.get("step", 0) <= after_step]
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept))
