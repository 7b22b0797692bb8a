"""Reward and accuracy curves of a run, drawn from its metrics.jsonl."""

from __future__ import annotations

from pathlib import Path

from lmforge.core import read_metrics

CURVES = ("reward_mean", "eval_accuracy", "eval_format", "eval_pref_accuracy", "eval_reward_margin", "loss")


def plot_run_curves(
    run_dir: str | Path, keys: tuple[str, ...] = CURVES, out_name: str = "curves.png"
) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")  # no display on CPU boxes and CI
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    series = {k: [(r["step"], r[k]) for r in records if isinstance(r.get(k), int | float)] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3), squeeze=False)
    for ax, (key, points) in zip(axes[0], series.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 50 else None)
        ax.set_title(key)
        ax.set_xlabel("step")
    fig.tight_layout()
    out = Path(run_dir) / out_name
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
