"""IsoFLOPs fits (Chinchilla approach 2).

For every budget, the loss of runs that spent the same compute is fitted by a parabola in log10 N;
its vertex is that budget's compute-optimal N (or, with ``optimum="min"``, the lowest-loss run).
Then ``log10 N_opt = log10 k + a log10 C`` and ``log10 D_opt = log10 k_D + b log10 C`` are fitted by
ordinary least squares (statsmodels), which gives coefficient confidence intervals and, for
extrapolation (1e23, 1e24 FLOPs), prediction intervals. The optimal loss per budget is fitted the
same way, as a pure power law in C: with no irreducible-loss term it bends too little and so
under-predicts loss when extrapolated far (a few percent a decade out on Chinchilla-like data);
prefer the parametric law for loss, this method for allocation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from lmforge.core import LmforgeError

from .law import Estimate, Optimum, ScalingLaw, estimate_dict
from .table import check_losses


@dataclass
class BudgetFit:
    budget: float
    n_runs: int
    curvature: float  # parabola coefficient of (log10 N)^2; must be > 0
    params_opt: float
    tokens_opt: float
    loss_opt: float
    coef: tuple[float, float, float]  # parabola a2, a1, a0 in log10 N (nan for optimum="min")
    excluded: str | None = None  # why this budget was left out of the power-law fits


def fit_budget(runs: pl.DataFrame, budget: float, optimum: str = "parabola") -> BudgetFit:
    """The compute-optimal point of one IsoFLOPs profile."""
    if runs.height < 3:
        raise LmforgeError(f"budget {budget:.3g} FLOPs has {runs.height} run(s); an IsoFLOPs profile needs "
                           "at least 3 model sizes")
    x = np.log10(runs["params"].to_numpy())
    loss = runs["loss"].to_numpy()
    flops = float(np.median(runs["flops"].to_numpy()))
    if np.unique(x).size < 3:
        raise LmforgeError(f"budget {budget:.3g} FLOPs needs at least 3 distinct model sizes")
    a2, a1, a0 = np.polyfit(x, loss, 2)
    if optimum == "min":
        best = int(np.argmin(loss))
        n_opt, l_opt = 10 ** x[best], float(loss[best])
    elif optimum == "parabola":
        if a2 <= 0:
            return BudgetFit(budget, runs.height, float(a2), math.nan, math.nan, math.nan, (a2, a1, a0),
                             excluded="parabola opens downward (no minimum): sizes miss the optimum")
        xv = -a1 / (2 * a2)
        if not x.min() - 0.5 <= xv <= x.max() + 0.5:  # half a decade of extrapolation at most
            return BudgetFit(budget, runs.height, float(a2), math.nan, math.nan, math.nan, (a2, a1, a0),
                             excluded=f"parabola vertex (N=10^{xv:.2f}) lies far outside the sizes tried "
                                      f"(10^{x.min():.2f}..10^{x.max():.2f}): extend the sweep")
        n_opt, l_opt = 10**xv, float(a0 - a1 * a1 / (4 * a2))
        if not x.min() <= xv <= x.max():
            warnings.warn(f"budget {budget:.3g}: parabola vertex N={n_opt:.3g} lies outside the sizes tried; "
                          "extend the sweep to bracket the optimum", stacklevel=3)
    else:
        raise LmforgeError(f"unknown optimum {optimum!r}; use 'parabola' or 'min'")
    return BudgetFit(budget, runs.height, float(a2), float(n_opt), flops / (6 * n_opt), l_opt,
                     (float(a2), float(a1), float(a0)))


def _ols(x: np.ndarray, y: np.ndarray):
    import statsmodels.api as sm

    with np.errstate(all="ignore"):  # two points: an exact line, no residual variance (handled below)
        return sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()


class IsoFlopsLaw(ScalingLaw):
    """IsoFLOPs (Chinchilla approach 2): per-budget parabolas, then power laws N_opt, D_opt ~ C^a."""

    method = "isoflops"

    def __init__(self, budgets: list[BudgetFit], level: float = 0.95, optimum: str = "parabola"):
        self.budgets = budgets
        self.level = level
        self.optimum = optimum
        used = [b for b in budgets if b.excluded is None]
        if len(used) < 2:
            raise LmforgeError(f"isoflops needs at least 2 usable budgets, got {len(used)} "
                               f"(of {len(budgets)}; excluded: "
                               + "; ".join(f"{b.budget:.3g}: {b.excluded}" for b in budgets if b.excluded)
                               + ")")
        if len(used) == 2:
            warnings.warn("only 2 usable budgets: the power laws go exactly through them and have no "
                          "intervals", stacklevel=3)
        c = np.log10([b.params_opt * b.tokens_opt * 6 for b in used])
        self._logc = c
        self.fit_n = _ols(c, np.log10([b.params_opt for b in used]))
        self.fit_d = _ols(c, np.log10([b.tokens_opt for b in used]))
        self.fit_l = _ols(c, np.log10([b.loss_opt for b in used]))
        curv = [b.curvature for b in used if b.curvature > 0]
        self.curvature = float(np.mean(curv)) if curv else math.nan

    @classmethod
    def fit(cls, table: pl.DataFrame, optimum: str = "parabola", level: float = 0.95,
            **_: Any) -> IsoFlopsLaw:
        table = check_losses(table)
        fits = []
        for (budget,), runs in sorted(table.group_by("budget"), key=lambda g: g[0][0]):
            fit = fit_budget(runs, float(budget), optimum)
            if fit.excluded:
                warnings.warn(f"budget {budget:.3g} FLOPs excluded: {fit.excluded}", stacklevel=2)
            fits.append(fit)
        law = cls(fits, level=level, optimum=optimum)
        law.table = table
        return law

    # -- coefficients ----------------------------------------------------------------------------

    def _coef(self, res, i: int) -> Estimate:
        value = float(res.params[i])
        if res.df_resid < 1:
            return Estimate(value, math.nan, math.nan)
        lo, hi = res.conf_int(alpha=1 - self.level)[i]
        return Estimate(value, float(lo), float(hi))

    def summary(self) -> dict[str, Any]:
        a, b = self._coef(self.fit_n, 1), self._coef(self.fit_d, 1)
        logk, logkd = self._coef(self.fit_n, 0), self._coef(self.fit_d, 0)
        pw = lambda e: Estimate(10**e.value, 10**e.low, 10**e.high)
        return {"method": self.method, "level": self.level, "optimum": self.optimum,
                "a": estimate_dict(a), "b": estimate_dict(b),
                "k": estimate_dict(pw(logk)), "k_D": estimate_dict(pw(logkd)),
                "loss_exponent": estimate_dict(self._coef(self.fit_l, 1)),
                "budgets": [asdict(x) for x in self.budgets]}

    # -- predictions -----------------------------------------------------------------------------

    def _predict(self, res, logc: float) -> Estimate:
        if res.df_resid < 1:
            return Estimate(10 ** float(res.params[0] + res.params[1] * logc), math.nan, math.nan)
        frame = res.get_prediction(np.array([[1.0, logc]])).summary_frame(alpha=1 - self.level)
        mean = float(frame["mean"].iloc[0])
        return Estimate(10**mean, 10 ** float(frame["obs_ci_lower"].iloc[0]),
                        10 ** float(frame["obs_ci_upper"].iloc[0]))

    def optimal(self, compute: float) -> Optimum:
        if not compute > 0:
            raise LmforgeError(f"compute budget must be positive, got {compute}")
        logc = math.log10(compute)
        return Optimum(float(compute), self._predict(self.fit_n, logc), self._predict(self.fit_d, logc),
                       self._predict(self.fit_l, logc))

    def predict_loss(self, params, tokens) -> np.ndarray:
        """Loss of N params on D tokens: the optimal loss at C = 6ND plus the mean IsoFLOPs curvature
        times the squared log-distance from that budget's N_opt (approach 2 has no full L(N, D))."""
        n = np.asarray(params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        logc = np.log10(6 * n * d)
        x = np.column_stack([np.ones(logc.size), logc.ravel()])
        l_opt = 10 ** self.fit_l.predict(x).reshape(logc.shape)
        n_opt = self.fit_n.predict(x).reshape(logc.shape)
        return l_opt + self.curvature * (np.log10(n) - n_opt) ** 2

    # -- persistence -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"optimum": self.optimum, "budgets": [asdict(b) for b in self.budgets]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> IsoFlopsLaw:
        budgets = [BudgetFit(**{**b, "coef": tuple(b["coef"])}) for b in state["budgets"]]
        return cls(budgets, optimum=state.get("optimum", "parabola"))
