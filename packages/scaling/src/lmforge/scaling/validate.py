"""Held-out validation: fit on every budget but the largest, predict the largest.

The truth at the held-out budget is what its own runs show: the lowest loss observed, and the
compute-optimal N from its IsoFLOPs parabola. The report says, per method, the prediction with its
interval, the relative error, and whether the truth is inside the interval.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import polars as pl

from lmforge.core import LmforgeError

from .isoflops import fit_budget
from .law import fit_law
from .table import check_losses


def held_out_check(table: pl.DataFrame, methods=("isoflops", "parametric"), **fit_options: Any) -> dict:
    table = check_losses(table)
    budgets = sorted(table["budget"].unique().to_list())
    if len(budgets) < 3:
        raise LmforgeError(f"validation needs at least 3 budgets (2 to fit, 1 held out), got {len(budgets)}")
    held = budgets[-1]
    test = table.filter(pl.col("budget") == held)
    train = table.filter(pl.col("budget") != held)
    compute = float(test["flops"].median())
    truth_loss = float(test["loss"].min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vertex = fit_budget(test, held)
    truth_n = vertex.params_opt if vertex.excluded is None else float(test.sort("loss")["params"][0])
    source = "parabola vertex" if vertex.excluded is None else "lowest-loss run"
    out: dict[str, Any] = {"held_out_budget": held, "compute": compute, "train_budgets": budgets[:-1],
                           "true_best_loss": truth_loss, "true_optimal_params": truth_n,
                           "true_optimal_params_source": source,
                           "methods": {}}
    for method in methods:
        options = {k: v for k, v in fit_options.items() if not (method == "isoflops" and k == "bootstrap")}
        law = fit_law(method, train, **options)
        opt = law.optimal(compute)
        out["methods"][method] = {
            "loss": _compare(opt.loss, truth_loss),
            "params": _compare(opt.params, truth_n),
            "level": law.level,
        }
    return out


def _compare(est, truth: float) -> dict[str, Any]:
    inside = None if math.isnan(est.low) else bool(est.low <= truth <= est.high)
    return {"predicted": est.value, "low": est.low, "high": est.high, "truth": truth,
            "relative_error": est.value / truth - 1, "inside": inside}
