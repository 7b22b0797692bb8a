"""The report card's plots that no stage package draws: pretraining loss against the unigram
baseline, and held-out accuracy and train reward through SFT then GRPO on one step axis."""

from __future__ import annotations

from pathlib import Path

from lmforge.core import read_metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_pretrain_loss(run_dir: Path, unigram: float, path: Path) -> Path:
    plt = _pyplot()
    records = read_metrics(run_dir)
    tr = [(r["tokens"], r["train_loss"]) for r in records if "train_loss" in r]
    va = [(r["tokens"], r["val_loss"]) for r in records if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if tr:
        ax.plot(*zip(*tr), label="train loss", alpha=0.7)
    if va:
        ax.plot(*zip(*va), "o-", label="validation loss")
    ax.axhline(unigram, color="gray", ls="--", label="unigram baseline")
    ax.set_xlabel("tokens")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("pretraining")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_accuracy(sft_run: Path, grpo_run: Path, path: Path) -> Path:
    plt = _pyplot()
    sft, grpo = read_metrics(sft_run), read_metrics(grpo_run)
    offset = max((r["step"] for r in sft), default=0)
    acc = [(r["step"], r["eval_accuracy"]) for r in sft if "eval_accuracy" in r]
    acc += [(offset + r["step"], r["eval_accuracy"]) for r in grpo if "eval_accuracy" in r]
    reward = [(offset + r["step"], r["reward_mean"]) for r in grpo if "reward_mean" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*acc), "o-", label="held-out accuracy (greedy)")
    if reward:
        ax.plot(*zip(*reward), alpha=0.3, color="tab:orange", label="GRPO train reward (mean per step)")
        k = min(10, len(reward))  # one step's reward is noisy; the trend is what GRPO should move
        smooth = [(reward[i][0], sum(r for _, r in reward[i - k + 1:i + 1]) / k)
                  for i in range(k - 1, len(reward))]
        ax.plot(*zip(*smooth), color="tab:orange", label=f"GRPO train reward ({k}-step mean)")
    ax.axvline(offset, color="gray", ls="--")
    ax.text(offset, 0.02, " SFT | GRPO", color="gray")
    ax.set_xlabel("step (SFT, then GRPO)")
    ax.set_ylim(0, 1)
    ax.set_title("task accuracy and reward")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
