"""A scaling law with known constants, and IsoFLOPs run tables generated from it.

The ground truth for tests, coverage studies and the ``surrogate`` experiment backend. Noise is
multiplicative (log-normal, ``noise`` = standard deviation of log loss), as run-to-run variation is.
The default constants are Chinchilla's published fit (Hoffmann et al. 2022, approach 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .table import table_from_records


@dataclass(frozen=True)
class KnownLaw:
    E: float = 1.69
    A: float = 406.4
    B: float = 410.7
    alpha: float = 0.34
    beta: float = 0.28

    def loss(self, params, tokens):
        n, d = np.asarray(params, float), np.asarray(tokens, float)
        return self.E + self.A / n**self.alpha + self.B / d**self.beta

    @property
    def a(self) -> float:
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))

    def optimal(self, compute: float) -> tuple[float, float, float]:
        """Exact (N_opt, D_opt, loss) under C = 6ND."""
        n = self.G * (compute / 6) ** self.a
        d = compute / (6 * n)
        return float(n), float(d), float(self.loss(n, d))

    def as_dict(self) -> dict[str, float]:
        return {"E": self.E, "A": self.A, "B": self.B, "alpha": self.alpha, "beta": self.beta}


def isoflops_table(law: KnownLaw, budgets, sizes: int = 7, span: float = 16.0, noise: float = 0.0,
                   seed: int = 0, center_jitter: float = 0.0) -> pl.DataFrame:
    """Runs on a geometric grid of N around each budget's true optimum (N_opt/sqrt(span) .. N_opt*sqrt(span)),
    each trained on D = C/(6N) tokens, with log-normal loss noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in budgets:
        n_opt, _, _ = law.optimal(c)
        shift = np.exp(rng.normal(0, center_jitter)) if center_jitter else 1.0
        for n in n_opt * shift * np.geomspace(span**-0.5, span**0.5, sizes):
            d = c / (6 * n)
            loss = float(law.loss(n, d)) * (float(np.exp(rng.normal(0, noise))) if noise else 1.0)
            rows.append({"name": f"C{c:.2g}-N{n:.3g}", "params": n, "tokens": d, "flops": c, "budget": c,
                         "loss": loss})
    return table_from_records(rows, source="synthetic")
