"""Fitting L(N, D) = E + A/N^alpha + B/D^beta by the Chinchilla (approach 3) objective.

Parameters are theta = (e, a, b, alpha, beta) with E = exp(e), A = exp(a), B = exp(b), so the
predicted log loss is ``logsumexp(a - alpha ln N, b - beta ln D, e)``. The objective is the *sum*
over runs of the Huber loss (delta 1e-3) of the log-space residual: in log space a run's weight does
not depend on its loss level, and Huber keeps an outlier run from dragging the exponents.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

DELTA = 1e-3
# Chinchilla's initialisation grid, thinned: the objective is cheap, but local minima are real.
GRID = {
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "a": (0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 25.0),
    "b": (0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 25.0),
    "alpha": (0.1, 0.25, 0.5, 0.8, 1.2, 2.0),
    "beta": (0.1, 0.25, 0.5, 0.8, 1.2, 2.0),
}
BOUNDS = [(-10.0, 5.0), (-20.0, 80.0), (-20.0, 80.0), (1e-3, 4.0), (1e-3, 4.0)]


def _lse3(t0, t1, t2):
    """logsumexp over three same-shaped arrays and the softmax weights; plain numpy, because scipy's
    general versions cost milliseconds per call on arrays this small and L-BFGS calls them ~100 times."""
    m = np.maximum(np.maximum(t0, t1), t2)
    e0, e1, e2 = np.exp(t0 - m), np.exp(t1 - m), np.exp(t2 - m)
    s = e0 + e1 + e2
    return m + np.log(s), (e0 / s, e1 / s, e2 / s)


def huber(r: np.ndarray, delta: float = DELTA) -> np.ndarray:
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def log_predict(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray) -> np.ndarray:
    """Predicted log loss; ``theta`` may be (5,) or (G, 5) for a batch of parameter vectors."""
    th = np.atleast_2d(theta)
    e, a, b, al, be = (th[:, i : i + 1] for i in range(5))
    out, _ = _lse3(a - al * log_n, b - be * log_d, np.broadcast_to(e, (th.shape[0], log_n.size)))
    return out[0] if np.ndim(theta) == 1 else out


def objective(theta: np.ndarray, log_n, log_d, log_l, weights=None, delta: float = DELTA):
    """Sum of Huber losses of log residuals, and its gradient in theta."""
    e, a, b, al, be = theta
    lse, w = _lse3(a - al * log_n, b - be * log_d, np.full_like(log_n, e))  # w = d lse / d term
    r = lse - log_l
    h = huber(r, delta)
    dr = np.clip(r, -delta, delta)
    if weights is not None:
        h, dr = h * weights, dr * weights
    grad = np.array([
        np.sum(dr * w[2]),
        np.sum(dr * w[0]),
        np.sum(dr * w[1]),
        -np.sum(dr * w[0] * log_n),
        -np.sum(dr * w[1] * log_d),
    ])
    return float(np.sum(h)), grad


def grid_points() -> np.ndarray:
    return np.array(list(itertools.product(*GRID.values())), dtype=float)


def grid_objective(points: np.ndarray, log_n, log_d, log_l, weights=None, delta: float = DELTA) -> np.ndarray:
    h = huber(log_predict(points, log_n, log_d) - log_l, delta)
    return (h * weights).sum(axis=1) if weights is not None else h.sum(axis=1)


def lbfgs(theta0: np.ndarray, log_n, log_d, log_l, weights=None, delta: float = DELTA):
    # Huber values are ~1e-3 per run, so the default tolerances would stop almost at once.
    res = minimize(objective, theta0, args=(log_n, log_d, log_l, weights, delta), jac=True,
                   method="L-BFGS-B", bounds=BOUNDS,
                   options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12, "maxcor": 20})
    return res.x, float(res.fun)


def fit_theta(log_n, log_d, log_l, starts: np.ndarray | None = None, n_starts: int = 24,
              weights=None, delta: float = DELTA) -> tuple[np.ndarray, float, np.ndarray]:
    """Multi-start L-BFGS. Without ``starts``, the grid is scored in one vectorised pass and L-BFGS
    runs from the ``n_starts`` best grid points. Returns (best theta, its objective, all local optima)."""
    if starts is None:
        grid = grid_points()
        scores = grid_objective(grid, log_n, log_d, log_l, weights, delta)
        starts = grid[np.argsort(scores)[:n_starts]]
    # scipy's L-BFGS-B makes tiny BLAS calls; a multi-threaded BLAS on a busy machine spends 20x more
    # time spinning its threads than computing, so pin it to one thread here.
    with threadpool_limits(1):
        results = [lbfgs(s, log_n, log_d, log_l, weights, delta) for s in np.atleast_2d(starts)]
    order = np.argsort([f for _, f in results])
    optima = np.array([results[i][0] for i in order])
    return optima[0], results[order[0]][1], optima
