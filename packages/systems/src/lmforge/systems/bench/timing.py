"""Timing with device synchronisation, and summary statistics."""

from __future__ import annotations

import statistics
import time

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn, device: torch.device, warmup: int, steps: int) -> list[float]:
    """Seconds per call of ``fn`` after ``warmup`` untimed calls; the device is drained around each."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        out.append(time.perf_counter() - t0)
    return out


def summarize(seconds: list[float]) -> dict:
    std = statistics.pstdev(seconds) if len(seconds) > 1 else 0.0
    return {"mean_s": statistics.fmean(seconds), "std_s": std, "median_s": statistics.median(seconds),
            "n": len(seconds)}


def format_table(rows: list[dict], columns: list[str]) -> str:
    """A plain fixed-width table (floats with 4 significant digits)."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)
