"""The parametric law L(N, D) = E + A/N^alpha + B/D^beta (Chinchilla approach 3).

Fitted by the Huber objective in ``huber_fit``; every constant gets a percentile bootstrap interval
(runs resampled with replacement, expressed as multinomial weights so a refit is one cheap L-BFGS
from the full-data optimum). Under C = 6ND the compute-optimal allocation has a closed form:

    N_opt = G (C/6)^a,  D_opt = G^-1 (C/6)^b,  G = (alpha A / (beta B))^(1/(alpha+beta)),
    a = beta/(alpha+beta),  b = alpha/(alpha+beta).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from lmforge.core import LmforgeError

from .huber_fit import BOUNDS, DELTA, fit_theta, log_predict
from .law import Estimate, Optimum, ScalingLaw, estimate_dict
from .table import check_losses

NAMES = ("E", "A", "B", "alpha", "beta")


def constants(theta: np.ndarray) -> dict[str, np.ndarray]:
    """Named constants and derived allocation exponents for one theta (5,) or many (k, 5)."""
    th = np.atleast_2d(theta)
    e, a, b, al, be = th.T
    out = {"E": np.exp(e), "A": np.exp(a), "B": np.exp(b), "alpha": al, "beta": be,
           "a": be / (al + be), "b": al / (al + be)}
    out["log_G"] = (np.log(al) + a - np.log(be) - b) / (al + be)
    return {k: (v[0] if np.ndim(theta) == 1 else v) for k, v in out.items()}


def optimal_allocation(theta: np.ndarray, compute) -> tuple[np.ndarray, np.ndarray]:
    c = constants(theta)
    x = np.log(np.asarray(compute, dtype=float) / 6.0)
    n = np.exp(np.add.outer(c["log_G"], 0) + np.multiply.outer(c["a"], x))
    d = np.exp(-np.add.outer(c["log_G"], 0) + np.multiply.outer(c["b"], x))
    return n, d


class ParametricLaw(ScalingLaw):
    """Parametric fit L = E + A/N^alpha + B/D^beta (Chinchilla approach 3) with bootstrap intervals."""

    method = "parametric"

    def __init__(self, theta, boot=None, residuals=None, level: float = 0.95, seed: int = 0):
        self.theta = np.asarray(theta, dtype=float)
        self.boot = np.asarray(boot if boot is not None else np.empty((0, 5)), dtype=float).reshape(-1, 5)
        self.residuals = np.asarray(residuals if residuals is not None else [], dtype=float)
        self.level = level
        self.seed = seed

    @classmethod
    def fit(cls, table: pl.DataFrame, bootstrap: int = 200, level: float = 0.95, seed: int = 0,
            n_starts: int = 24, delta: float = DELTA, **_: Any) -> ParametricLaw:
        table = check_losses(table)
        if table.height < 6:
            raise LmforgeError(f"the parametric law has 5 constants; fitting it needs at least 6 runs, "
                               f"got {table.height}")
        log_n = np.log(table["params"].to_numpy())
        log_d = np.log(table["tokens"].to_numpy())
        log_l = np.log(table["loss"].to_numpy())
        theta, _, optima = fit_theta(log_n, log_d, log_l, n_starts=n_starts, delta=delta)
        rng = np.random.default_rng(seed)
        starts = optima[: min(2, len(optima))]  # the full-data optimum is close to every resample's
        boot = []
        for _ in range(bootstrap):
            w = rng.multinomial(len(log_l), np.full(len(log_l), 1 / len(log_l))).astype(float)
            th, _, _ = fit_theta(log_n, log_d, log_l, starts=starts, weights=w, delta=delta)
            boot.append(th)
        residuals = log_l - log_predict(theta, log_n, log_d)
        law = cls(theta, np.array(boot), residuals, level=level, seed=seed)
        law.table = table
        return law

    # -- intervals -------------------------------------------------------------------------------

    def _interval(self, value: float, samples: np.ndarray) -> Estimate:
        if samples.size == 0:
            return Estimate(float(value), math.nan, math.nan)
        q = (1 - self.level) / 2
        lo, hi = np.quantile(samples, [q, 1 - q])
        return Estimate(float(value), float(lo), float(hi))

    def summary(self) -> dict[str, Any]:
        point, boot = constants(self.theta), constants(self.boot) if len(self.boot) else {}
        out: dict[str, Any] = {"method": self.method, "level": self.level, "bootstrap": len(self.boot)}
        for k in (*NAMES, "a", "b"):
            out[k] = estimate_dict(self._interval(point[k], boot.get(k, np.empty(0))))
        out["G"] = estimate_dict(self._interval(math.exp(point["log_G"]),
                                                np.exp(boot["log_G"]) if boot else np.empty(0)))
        out["residual_sd"] = float(np.std(self.residuals)) if self.residuals.size else math.nan
        # a constant pinned to the optimiser's bound is not estimated by the data (e.g. E when the
        # runs are far from the irreducible loss); say so instead of reporting a tight interval
        out["at_bound"] = [name for name, v, (lo, hi) in zip(NAMES, self.theta, BOUNDS)
                           if min(abs(v - lo), abs(v - hi)) < 1e-6]
        return out

    # -- predictions -----------------------------------------------------------------------------

    def predict_loss(self, params, tokens) -> np.ndarray:
        n, d = np.broadcast_arrays(np.asarray(params, float), np.asarray(tokens, float))
        return np.exp(log_predict(self.theta, np.log(n).ravel(), np.log(d).ravel())).reshape(n.shape)

    def loss_interval(self, params: float, tokens: float) -> Estimate:
        """Prediction interval for one run's loss: bootstrap laws plus resampled run-level noise."""
        value = float(self.predict_loss(params, tokens))
        if not len(self.boot):
            return Estimate(value, math.nan, math.nan)
        logs = log_predict(self.boot, np.log([params]), np.log([tokens]))[:, 0]
        rng = np.random.default_rng(self.seed + 1)
        noise = rng.choice(self.residuals, size=logs.size) if self.residuals.size else 0.0
        return self._interval(value, np.exp(logs + noise))

    def optimal(self, compute: float) -> Optimum:
        if not compute > 0:
            raise LmforgeError(f"compute budget must be positive, got {compute}")
        n, d = optimal_allocation(self.theta, compute)
        n, d = float(n), float(d)
        if len(self.boot):
            nb, db = optimal_allocation(self.boot, compute)
            n_est, d_est = self._interval(n, nb), self._interval(d, db)
        else:
            n_est = d_est = None
        return Optimum(float(compute), n_est or Estimate(n, math.nan, math.nan),
                       d_est or Estimate(d, math.nan, math.nan), self.loss_interval(n, d))

    # -- persistence -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"theta": self.theta.tolist(), "boot": self.boot.tolist(),
                "residuals": self.residuals.tolist(), "seed": self.seed}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ParametricLaw:
        return cls(state["theta"], state.get("boot"), state.get("residuals"), seed=state.get("seed", 0))
