"""Scaling-law figures as PNG (matplotlib, Agg backend: no display needed).

- ``isoflops.png``: loss against N for every budget, with its parabola and vertex (excluded
  budgets drawn dashed)
- ``allocation.png``: N_opt and D_opt against C: per-budget optima, the fitted power law and its
  prediction band, extrapolated past the data (to ``extrapolate_to``), and the parametric law's
  closed-form allocation when given
- ``contours.png``: iso-loss contours of the parametric law over (N, D), iso-FLOP lines, the
  compute-optimal frontier and the runs
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def budget_fits(table) -> list:
    """Every budget's IsoFLOPs parabola, excluded ones included (for drawing)."""
    from .isoflops import fit_budget

    groups = sorted(table.group_by("budget"), key=lambda g: g[0][0])
    return [fit_budget(runs, float(b)) for (b,), runs in groups if runs.height >= 3]


def plot_isoflops(table, budgets: list, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 5))
    cmap = plt.get_cmap("viridis")
    for i, b in enumerate(budgets):
        color = cmap(i / max(1, len(budgets) - 1))
        runs = table.filter(table["budget"] == b.budget)
        n = runs["params"].to_numpy()
        ax.scatter(n, runs["loss"].to_numpy(), color=color, s=18, zorder=3)
        x = np.linspace(np.log10(n.min()) - 0.1, np.log10(n.max()) + 0.1, 100)
        a2, a1, a0 = b.coef
        if np.isfinite(a2):
            ax.plot(10**x, a2 * x * x + a1 * x + a0, color=color, ls="--" if b.excluded else "-",
                    label=f"C={b.budget:.1e}" + (" (excluded)" if b.excluded else ""))
        if not b.excluded and np.isfinite(b.params_opt):
            ax.scatter([b.params_opt], [b.loss_opt], color=color, marker="*", s=120, edgecolor="k", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel("non-embedding parameters N")
    ax.set_ylabel("final loss")
    ax.set_title("IsoFLOPs profiles (star: parabola vertex)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_allocation(iso, path: Path, parametric=None, extrapolate_to: float = 1e24, budgets=None) -> Path:
    """``iso`` may be None (too few usable budgets): then only the parametric allocation is drawn."""
    plt = _plt()
    used = [b for b in (iso.budgets if iso else budgets or []) if not b.excluded]
    c_data = np.array([6 * b.params_opt * b.tokens_opt for b in used])
    c_runs = parametric.table["flops"].to_numpy() if parametric is not None else c_data
    grid = np.geomspace(c_runs.min() / 3, max(extrapolate_to, c_runs.max() * 3), 60)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, what, pts in ((axes[0], "params", [b.params_opt for b in used]),
                          (axes[1], "tokens", [b.tokens_opt for b in used])):
        if iso is not None:
            est = [getattr(iso.optimal(c), what) for c in grid]
            ax.plot(grid, [e.value for e in est], color="C0",
                    label=f"IsoFLOPs fit, {iso.summary()['a' if what == 'params' else 'b']['value']:.3f}")
            lows, highs = [e.low for e in est], [e.high for e in est]
            if np.all(np.isfinite(lows)):
                ax.fill_between(grid, lows, highs, color="C0", alpha=0.2,
                                label=f"{iso.level:.0%} prediction interval")
        if parametric is not None:
            pest = [getattr(parametric.optimal(c), what) for c in grid]
            ax.plot(grid, [e.value for e in pest], color="C1", ls="--", label="parametric law")
            if np.all(np.isfinite([e.low for e in pest])):
                ax.fill_between(grid, [e.low for e in pest], [e.high for e in pest], color="C1", alpha=0.15)
        if len(used):
            ax.scatter(c_data, pts, color="k", zorder=3, label="per-budget optimum")
        ax.axvspan(c_runs.max() * 1.05, grid[-1], color="grey", alpha=0.07)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training FLOPs C")
        ax.set_ylabel("N_opt (non-embedding params)" if what == "params" else "D_opt (tokens)")
        ax.legend(fontsize=8)
    axes[0].set_title("compute-optimal model size (shaded: extrapolation)")
    axes[1].set_title("compute-optimal tokens")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_contours(parametric, path: Path) -> Path:
    plt = _plt()
    table = parametric.table
    n_runs, d_runs = table["params"].to_numpy(), table["tokens"].to_numpy()
    n = np.geomspace(n_runs.min() / 10, n_runs.max() * 100, 120)
    d = np.geomspace(d_runs.min() / 10, d_runs.max() * 100, 120)
    nn, dd = np.meshgrid(n, d)
    loss = parametric.predict_loss(nn, dd)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    levels = np.quantile(loss, np.linspace(0.02, 0.95, 14))
    cs = ax.contour(nn, dd, loss, levels=np.unique(levels), cmap="viridis")
    ax.clabel(cs, fontsize=7, fmt="%.2f")
    for c in np.geomspace(6 * n.min() * d.min() * 10, 6 * n.max() * d.max() / 10, 6):
        ax.plot(n, c / (6 * n), color="grey", lw=0.6, ls=":")
    cs_ = np.geomspace(6 * n.min() * d.min(), 6 * n.max() * d.max(), 50)
    opt = [parametric.optimal(c) for c in cs_]
    ax.plot([o.params.value for o in opt], [o.tokens.value for o in opt], color="C3", lw=2,
            label="compute-optimal frontier")
    ax.scatter(n_runs, d_runs, c="k", s=10, label="runs")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(n.min(), n.max())
    ax.set_ylim(d.min(), d.max())
    ax.set_xlabel("non-embedding parameters N")
    ax.set_ylabel("tokens D")
    ax.set_title("parametric law: iso-loss contours (dotted: iso-FLOP lines)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_all(table, out_dir: str | Path, bootstrap: int = 100, extrapolate_to: float = 1e24) -> list[Path]:
    import warnings

    from lmforge.core import LmforgeError, get_part

    # the laws come from the registry, so a plugin's replacement of either is what gets drawn
    IsoFlopsLaw, ParametricLaw = get_part("scaling_law", "isoflops"), get_part("scaling_law", "parametric")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        budgets = budget_fits(table)
        try:
            iso, why = IsoFlopsLaw.fit(table), None
        except LmforgeError as e:  # e.g. every parabola but one flagged: still draw what exists
            iso, why = None, e
    if why is not None:
        warnings.warn(f"no IsoFLOPs power law to draw: {why}", stacklevel=2)
    par = ParametricLaw.fit(table, bootstrap=bootstrap)
    return [plot_isoflops(table, budgets, out / "isoflops.png"),
            plot_allocation(iso, out / "allocation.png", par, extrapolate_to, budgets),
            plot_contours(par, out / "contours.png")]
