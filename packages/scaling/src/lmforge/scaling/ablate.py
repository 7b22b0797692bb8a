"""Data ablations at equal compute: which pipeline's output trains the best model for a FLOPs budget?

Each candidate is a pipeline's token file. Every candidate trains the same model shape, batch size,
learning rate and seed for exactly the same FLOPs (so the same number of steps and tokens seen) through
a ``Lab``, so runs are charged to the budget ledger and a repeated ablation costs nothing. A filter
that keeps less data is repeated more: ``repetition`` = tokens seen / tokens kept (epochs). Every
model is judged on the same fixed batches of one held-out text: loss, perplexity and bits per byte.

Candidates enter by content: each token file is linked as ``data-<sha>.bin`` in the work folder, and
that path is part of the experiment, so a changed file is a new experiment and an unchanged one is
answered from the ledger.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError, atomic_write, file_sha256, read_metrics

from .experiment import Experiment
from .lab import Lab
from .train_backend import TrainBackend


@dataclass(frozen=True)
class AblationRow:
    pipeline: str
    kept_tokens: int
    tokens_seen: float
    repetition: float  # epochs over the kept tokens
    flops: float
    val_loss: float
    perplexity: float
    bits_per_byte: float | None
    run_dir: str
    cached: bool


def sidecar(path: Path) -> dict[str, Any]:
    side = Path(f"{path}.json")
    try:
        return json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise LmforgeError(f"{path}: not a token file with a readable sidecar {side.name} ({e})") from None


def content_id(path: Path) -> str:
    return file_sha256(path)[:16]


def stage(path: str | Path, work: Path) -> Path:
    """Link ``path`` (and its sidecar) into ``work`` under a name made from its content."""
    path = Path(path).resolve()
    sidecar(path)
    staged = work / f"data-{content_id(path)}.bin"
    for src, dst in ((path, staged), (Path(f"{path}.json"), Path(f"{staged}.json"))):
        if not dst.exists():
            dst.symlink_to(src)
    return staged


def heldout_tokens(heldout: str | Path, tokenizer_dir: str | Path, work: Path) -> Path:
    """A token file of the held-out text: used as is when it is one, else encoded here."""
    heldout = Path(heldout)
    if Path(f"{heldout}.json").is_file():
        return heldout
    from lmforge.tokenize import encode_files_to_bin, load_tokenizer

    target = work / f"heldout-{content_id(heldout)}.bin"
    if not Path(f"{target}.json").is_file():
        encode_files_to_bin(load_tokenizer(tokenizer_dir), [heldout], target, workers=1)
    return target


def final_eval(run_dir: str) -> dict[str, float]:
    last = [r for r in read_metrics(run_dir) if "val_loss" in r]
    if not last:
        raise LmforgeError(f"{run_dir}: the run logged no validation loss")
    return last[-1]


def run_ablation(pipelines: dict[str, str | Path], heldout: str | Path, tokenizer_dir: str | Path,
                 budget: float, model: dict[str, int], out: str | Path, batch_size: int = 16,
                 lr: float = 3e-3, seed: int = 0, ledger: str | Path | None = None,
                 total_flops: float | None = None, device: str = "cpu",
                 eval_batches: int = 16) -> dict[str, Any]:
    """Train one model per pipeline at exactly ``budget`` FLOPs; rows sorted best (lowest bpb) first."""
    if len(pipelines) < 2:
        raise LmforgeError(f"an ablation compares at least two pipelines, got {len(pipelines)}")
    out = Path(out)
    work = out / "data"
    work.mkdir(parents=True, exist_ok=True)
    val = heldout_tokens(heldout, tokenizer_dir, work)
    vocab = sidecar(val)["vocab_size"]
    staged = {}
    for name, path in pipelines.items():
        staged[name] = stage(path, work)
        if sidecar(staged[name])["vocab_size"] != vocab:
            raise LmforgeError(f"pipeline {name}: its vocabulary differs from the held-out text's ({vocab}): "
                               f"tokenize both with {tokenizer_dir}")
    backend = TrainBackend(data=next(iter(staged.values())), val_data=val, out=out / "runs", device=device,
                           eval_batches=eval_batches, tokenizer_dir=str(tokenizer_dir))
    shape = {**model, "vocab_size": vocab}
    plan = {name: Experiment(model=shape, flops=float(budget), batch_size=batch_size, lr=lr, seed=seed,
                             extra={"data": {"train_path": str(path)}}) for name, path in staged.items()}
    ledger = Path(ledger) if ledger else out / "ledger.sqlite"
    if not ledger.exists() and total_flops is None:  # a run may spend up to one step past its budget
        total_flops = sum(e.flops + backend.flops_per_token(e) * batch_size * shape["context_length"]
                          for e in plan.values())
    lab = Lab(backend, ledger, None if ledger.exists() else total_flops)
    rows = []
    for name, exp in plan.items():
        path = staged[name]
        result = lab.run(exp)
        ev = final_eval(result["name"])
        kept = int(sidecar(path)["count"])
        rows.append(AblationRow(name, kept, float(result["tokens"]), float(result["tokens"]) / kept,
                                float(result["flops"]), float(ev["val_loss"]), math.exp(ev["val_loss"]),
                                ev.get("val_bpb"), result["name"], bool(result["cached"])))
    rows.sort(key=lambda r: r.bits_per_byte if r.bits_per_byte is not None else r.val_loss)
    report = {"budget": float(budget), "model": shape, "batch_size": batch_size, "lr": lr, "seed": seed,
              "heldout": str(heldout), "best": rows[0].pipeline, "rows": [asdict(r) for r in rows],
              "ledger": {"path": str(ledger), "spent": lab.ledger.spent(), "total": lab.ledger.total}}
    atomic_write(out / "ablation.json", json.dumps(report, indent=1))
    report["plot"] = str(plot_ablation(rows, budget, out / "ablation.png"))
    return report


def plot_ablation(rows: list[AblationRow], budget: float, path: Path) -> Path:
    from .plots import _plt

    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    names = [r.pipeline for r in rows]
    metric = [r.bits_per_byte if r.bits_per_byte is not None else r.val_loss for r in rows]
    ax1.bar(names, metric, color=["C2"] + ["C0"] * (len(rows) - 1))
    ax1.set_ylabel("held-out bits per byte" if rows[0].bits_per_byte is not None else "held-out loss")
    ax1.set_ylim(min(metric) * 0.95, max(metric) * 1.02)
    ax1.set_title(f"equal compute: {budget:.3g} FLOPs each (green: best)")
    ax2.bar(names, [r.kept_tokens for r in rows], color="C1")
    for i, r in enumerate(rows):
        ax2.annotate(f"{r.repetition:.2g} epochs", (i, r.kept_tokens), ha="center", va="bottom", fontsize=8)
    ax2.set_yscale("log")
    ax2.set_ylabel("tokens kept by the pipeline")
    ax2.set_title("data kept, and how often it was repeated")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def format_ablation(report: dict[str, Any]) -> str:
    lines = [f"equal compute: {report['budget']:.3g} FLOPs per pipeline, model {report['model']}",
             f"{'pipeline':<18}{'kept tokens':>13}{'seen':>11}{'epochs':>8}{'val loss':>10}{'ppl':>9}"
             f"{'bits/byte':>11}"]
    for r in report["rows"]:
        bpb = f"{r['bits_per_byte']:.4f}" if r["bits_per_byte"] is not None else "-"
        lines.append(f"{r['pipeline']:<18}{r['kept_tokens']:>13,}{r['tokens_seen']:>11,.0f}"
                     f"{r['repetition']:>8.2f}{r['val_loss']:>10.4f}{r['perplexity']:>9.2f}{bpb:>11}"
                     + ("  (cached)" if r["cached"] else ""))
    lines.append(f"best: {report['best']}")
    return "\n".join(lines)
