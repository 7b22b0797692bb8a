"""How often do the intervals cover the truth? Refit on many noisy draws of a known law and count.

A 95% interval should contain the true constant in about 95% of draws. Percentile bootstrap
intervals from a few dozen runs are known to under-cover somewhat; this measures by how much.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lmforge.core import get_part

from .known_law import KnownLaw, isoflops_table

CONSTANTS = ("E", "A", "B", "alpha", "beta", "a", "b")


def measure_coverage(law: KnownLaw | None = None, seeds: int = 20, budgets=(1e18, 1e19, 1e20, 1e21),
                     sizes: int = 7, noise: float = 0.01, bootstrap: int = 100, level: float = 0.95,
                     first_seed: int = 0) -> dict[str, Any]:
    law = law or KnownLaw()
    # through the registry: a plugin's law registered under the same name is the one measured
    IsoFlopsLaw, ParametricLaw = get_part("scaling_law", "isoflops"), get_part("scaling_law", "parametric")
    truth = {**law.as_dict(), "a": law.a, "b": law.b}
    hits: dict[str, list[bool]] = {f"parametric.{k}": [] for k in CONSTANTS}
    hits["isoflops.a"], hits["isoflops.b"] = [], []
    widths: dict[str, list[float]] = {k: [] for k in hits}
    for seed in range(first_seed, first_seed + seeds):
        table = isoflops_table(law, budgets, sizes=sizes, noise=noise, seed=seed)
        summary = ParametricLaw.fit(table, bootstrap=bootstrap, level=level, seed=seed).summary()
        for k in CONSTANTS:
            hits[f"parametric.{k}"].append(summary[k]["low"] <= truth[k] <= summary[k]["high"])
            widths[f"parametric.{k}"].append(summary[k]["high"] - summary[k]["low"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iso = IsoFlopsLaw.fit(table, level=level).summary()
        for k in ("a", "b"):
            hits[f"isoflops.{k}"].append(iso[k]["low"] <= truth[k] <= iso[k]["high"])
            widths[f"isoflops.{k}"].append(iso[k]["high"] - iso[k]["low"])
    return {"level": level, "seeds": seeds, "noise": noise, "bootstrap": bootstrap, "truth": truth,
            "coverage": {k: float(np.mean(v)) for k, v in hits.items()},
            "mean_width": {k: float(np.mean(v)) for k, v in widths.items()}}
