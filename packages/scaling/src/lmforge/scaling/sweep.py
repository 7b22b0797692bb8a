"""IsoFLOPs sweeps: for each budget, model shapes spanning a geometric range of N, each trained for
exactly that budget through a ``Lab`` (so every run is charged to the ledger and never repeated).

Without a prior law, each budget's range is centred on N = sqrt(C / (6 * tokens_per_param)) (the
20-tokens-per-parameter rule of thumb by default); ``span`` is the ratio of largest to smallest N,
wide enough that the parabola's vertex falls inside the range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import polars as pl

from lmforge.core import LmforgeError

from .configure import search_shape
from .experiment import Experiment
from .lab import Lab
from .table import table_from_records


def plan_sweep(budgets: Iterable[float], sizes: int | Iterable[float] = 5, span: float = 16.0,
               vocab_size: int = 256, context_length: int = 64, batch_size: int = 16, lr: float = 3e-3,
               seed: int = 0, tokens_per_param: float = 20.0, center: Callable[[float], float] | None = None,
               aspect: float = 64.0, model_extra: dict[str, Any] | None = None,
               tolerance: float = 0.03) -> list[Experiment]:
    """The experiments of an IsoFLOPs sweep (no training happens here). N is measured exactly from
    the shape chosen, so ``tolerance`` (how far a shape may miss its target N) can be loose."""
    out: list[Experiment] = []
    for c in sorted(float(b) for b in budgets):
        if isinstance(sizes, int):
            if sizes < 3:
                raise LmforgeError(f"an IsoFLOPs profile needs at least 3 sizes per budget, got {sizes}")
            mid = center(c) if center else math.sqrt(c / (6 * tokens_per_param))
            targets = mid * np.geomspace(span**-0.5, span**0.5, sizes)
        else:
            targets = np.array(sorted(float(n) for n in sizes))
        seen = set()
        for n in targets:
            # a loose tolerance lets the aspect ratio win: a smoother family of shapes along the sweep
            model, _ = search_shape(float(n), vocab_size, context_length, aspect, tolerance,
                                    **(model_extra or {}))
            key = tuple(sorted(model.items()))
            if key in seen:  # tiny targets can round to the same shape
                continue
            seen.add(key)
            out.append(Experiment(model=model, flops=c, batch_size=batch_size, lr=lr, seed=seed))
    return out


def run_sweep(lab: Lab, experiments: list[Experiment], progress: bool = True,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> pl.DataFrame:
    """Run every experiment through the lab; the finished rows as a run table."""
    from tqdm.auto import tqdm

    rows = []
    for exp in tqdm(experiments, unit="run", disable=not progress):
        row = lab.run(exp)
        rows.append(row)
        if on_result:
            on_result(row)
    return table_from_records(rows, source="sweep")
