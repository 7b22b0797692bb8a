"""The data ablation's report: the trainer's per-seed reports merged per pipeline, checked, printed, plotted.

One seed ranks pipelines by one model each; training noise (initialisation, batch order, which
held-out batches are scored) can be as large as a filter's effect, so ``--seed`` may be repeated:
each pipeline's score is then the mean over seeds, each seed's score is kept, and the table says in
how many seeds the best pipeline was best. Within one seed every pipeline is scored on the same
held-out batches, so comparisons inside a seed are paired.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError


def check_equal_compute(reports: dict[int, dict[str, Any]], budget: float, trainer: str) -> None:
    """The comparison is only fair at equal compute: refuse trainer reports that are not."""
    rows = [r for report in reports.values() for r in report["rows"]]
    flops, seen = {r["flops"] for r in rows}, {r["tokens_seen"] for r in rows}
    if len(flops) != 1 or len(seen) != 1 or min(flops) < budget:
        detail = ", ".join(f"{r['pipeline']}: {r['flops']:.4g} FLOPs, {r['tokens_seen']:,.0f} tokens"
                           for r in rows)
        raise LmforgeError(f"ablation_trainer {trainer!r} did not train every pipeline at the same compute "
                         f"of at least {budget:.4g} FLOPs ({detail})")


def _score(row: dict[str, Any]) -> float:
    return row["bits_per_byte"] if row["bits_per_byte"] is not None else row["val_loss"]


def merge_seeds(reports: dict[int, dict[str, Any]], pipelines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One row per pipeline, best (lowest mean held-out bits per byte, else loss) first."""
    first = next(iter(reports.values()))
    by_name: dict[str, dict[int, dict[str, Any]]] = {}
    for seed, report in reports.items():
        for r in report["rows"]:
            by_name.setdefault(r["pipeline"], {})[seed] = r
    best_in = {seed: report["best"] for seed, report in reports.items()}
    rows = []
    for name, per_seed in by_name.items():
        base = next(iter(per_seed.values()))
        bpbs = [r["bits_per_byte"] for r in per_seed.values()]
        loss = sum(r["val_loss"] for r in per_seed.values()) / len(per_seed)
        p = pipelines[name]
        rows.append({
            "pipeline": name, "documents_in": p["documents_in"], "documents_kept": p["documents_kept"],
            "kept_tokens": base["kept_tokens"], "tokens_seen": base["tokens_seen"],
            "repetition": base["repetition"], "flops": base["flops"], "val_loss": loss,
            "perplexity": math.exp(loss),
            "bits_per_byte": None if None in bpbs else sum(bpbs) / len(bpbs),
            "seeds": {seed: {"val_loss": r["val_loss"], "bits_per_byte": r["bits_per_byte"],
                             "run_dir": r["run_dir"], "cached": r["cached"]} for seed, r in per_seed.items()},
            "best_in_seeds": sum(1 for b in best_in.values() if b == name),
            "pipeline_reused": p["reused"], "cached": all(r["cached"] for r in per_seed.values())})
    rows.sort(key=_score)
    return {"budget": first["budget"], "model": first["model"], "seeds": list(reports),
            "best": rows[0]["pipeline"], "rows": rows}


def format_data_ablation(report: dict[str, Any]) -> str:
    """The table: documents and tokens each pipeline kept, epochs at equal compute, held-out scores."""
    row0, seeds = report["rows"][0], report["seeds"]
    several = len(seeds) > 1
    lines = [f"equal compute: {report['budget']:.3g} FLOPs per pipeline and seed ({row0['flops']:.4g} spent, "
             f"{row0['tokens_seen']:,.0f} tokens seen each); model {report['model']}"
             + (f"; mean over seeds {', '.join(map(str, seeds))}" if several else ""),
             f"{'pipeline':<18}{'docs kept':>16}{'kept tokens':>13}{'epochs':>8}{'val loss':>10}{'ppl':>10}"
             f"{'bits/byte':>11}" + "".join(f"{f'seed {s}':>9}" for s in seeds if several) + "  reused"]
    for r in report["rows"]:
        bpb = f"{r['bits_per_byte']:.4f}" if r["bits_per_byte"] is not None else "-"
        per_seed = "".join(f"{_score(r['seeds'][s]):>9.4f}" for s in seeds) if several else ""
        docs = f"{r['documents_kept']:,}/{r['documents_in']:,}"
        reused = ",".join(what for what, flag in (("pipeline", r["pipeline_reused"]), ("model", r["cached"]))
                          if flag) or "-"
        lines.append(f"{r['pipeline']:<18}{docs:>16}{r['kept_tokens']:>13,}{r['repetition']:>8.2f}"
                     f"{r['val_loss']:>10.4f}{r['perplexity']:>10.2f}{bpb:>11}{per_seed}  {reused}")
    for r in report["rows"]:
        if r["repetition"] > 1:
            lines.append(f"repeated: {r['pipeline']} kept {r['kept_tokens']:,} tokens, fewer than the "
                         f"{r['tokens_seen']:,.0f} its model saw: {r['repetition']:.2f} epochs over its data")
    metric = "bits per byte" if row0["bits_per_byte"] is not None else "validation loss"
    lines.append(f"best: {report['best']} (lowest {'mean ' if several else ''}held-out {metric}"
                 + (f"; best in {row0['best_in_seeds']} of {len(seeds)} seeds)" if several else ")"))
    return "\n".join(lines)


def plot_data_ablation(report: dict[str, Any], path: Path) -> Path:
    """Held-out score per pipeline (bar: mean, dots: each seed), and tokens kept with their epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    names = [r["pipeline"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    scores = [_score(r) for r in rows]
    ax1.bar(names, scores, color=["C2"] + ["C0"] * (len(rows) - 1))
    dots = [(i, _score(s)) for i, r in enumerate(rows) for s in r["seeds"].values()]
    ax1.scatter([i for i, _ in dots], [v for _, v in dots], color="k", s=12, zorder=3, label="each seed")
    low, high = min(v for _, v in dots), max(v for _, v in dots)
    ax1.set_ylim(low - 0.1 * (high - low + 0.01), high + 0.1 * (high - low + 0.01))
    ax1.set_ylabel("held-out bits per byte" if rows[0]["bits_per_byte"] is not None else "held-out loss")
    ax1.set_title(f"equal compute: {report['budget']:.3g} FLOPs each (green: best)")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.bar(names, [r["kept_tokens"] for r in rows], color="C1")
    for i, r in enumerate(rows):
        ax2.annotate(f"{r['repetition']:.2g} epochs", (i, r["kept_tokens"]), ha="center", va="bottom",
                     fontsize=8)
    ax2.set_ylabel("tokens kept by the pipeline")
    ax2.set_title("data kept, and how often it was repeated")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
