"""Print a pipeline's stats table and plot its classifier score histograms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_stats(path: str | Path) -> dict[str, Any]:
    """A run's stats: ``path`` is its output folder or its ``stats.json``, local or a URL."""
    from . import storage

    p = str(path)
    p = p if p.endswith(".json") else storage.join(p, "stats.json")
    if not storage.isfile(p):
        from lmforge.core import LmforgeError

        raise LmforgeError(f"no stats.json at {p}: run `lmforge data run` first")
    return json.loads(storage.read_text(p))


def format_table(stats: dict[str, Any]) -> str:
    rows = [("step", "in", "kept", "dropped", "time %", "reasons")]
    total = sum(s.get("seconds", 0.0) for s in stats["steps"]) or 1.0
    for s in stats["steps"]:
        dropped = sum(s["dropped"].values())
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(s["dropped"].items(), key=lambda kv: -kv[1]))
        # Counted but kept (a declared charset that disagreed with the bytes, ...).
        noted = ", ".join(f"{k}={v} (kept)" for k, v in sorted(s.get("noted", {}).items()))
        reasons = ", ".join(x for x in (reasons, noted) if x)
        rows.append(
            (
                s["step"],
                str(s["in"]),
                str(s["kept"]),
                str(dropped),
                f"{100 * s.get('seconds', 0.0) / total:.1f}",
                reasons,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r[:5], widths)))
        + "  "
        + r[5]
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"shards: {stats['shards']}  kept documents: {stats['kept']}")
    if "tokens" in stats:
        lines.append(f"tokens: {stats['tokens']['count']} ({stats['tokens']['dtype']})")
    return "\n".join(lines)


def plot_scores(stats: dict[str, Any], out_path: str | Path) -> Path | None:
    """One histogram per score key (kept documents); returns the image path, or None without scores."""
    scores = stats.get("scores") or {}
    if not scores:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(scores), figsize=(4 * len(scores), 3), squeeze=False)
    for ax, (name, bins) in zip(axes[0], sorted(scores.items())):
        edges = [i / len(bins) for i in range(len(bins))]
        ax.bar(edges, bins, width=1 / len(bins), align="edge")
        ax.set_title(name)
        ax.set_xlim(0, 1)
        ax.set_xlabel("score")
    axes[0][0].set_ylabel("documents")
    fig.tight_layout()
    out_path = Path(out_path)
    fig.savefig(out_path)
    plt.close(fig)
    return out_path
