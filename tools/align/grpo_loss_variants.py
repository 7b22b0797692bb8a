"""GRPO evidence on the demo task: the loss variants compared at equal steps from one SFT policy.

    nice -n 10 uv run python tools/align/grpo_loss_variants.py --sft-steps 300 --grpo-steps 40

Trains the SFT policy once (or reuses ``--sft-run``), then runs GRPO with each loss from that same
policy, seed and prompts. Prints held-out accuracy before/after per variant, writes JSON and one PNG
with the reward and accuracy curves of every variant.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lmforge.align.config import (
    GRPOConfig,
    OptimConfig,
    PolicyConfig,
    RolloutConfig,
    RunConfig,
    SFTConfig,
    TaskConfig,
)
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.loops.sft import run_sft
from lmforge.core import read_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--losses", default="no_baseline,reinforce_with_baseline,grpo_clip,dr_grpo")
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--sft-run", default=None, help="reuse this SFT run's final policy")
    ap.add_argument("--grpo-steps", type=int, default=40)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--epochs-per-batch", type=int, default=1)
    ap.add_argument("--max-operand", type=int, default=29)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tag", default="", help="suffix for the run names (e.g. a second setting)")
    ap.add_argument("--root", default=".bench/align/loss_variants")
    ap.add_argument("--out", default=".bench/align/loss_variants.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = TaskConfig(max_operand=args.max_operand, train_size=4000, eval_size=200)
    sft_dir = (
        Path(args.sft_run)
        if args.sft_run
        else run_sft(
            SFTConfig(
                task=task,
                optim=OptimConfig(lr=3e-3, warmup_steps=20),
                steps=args.sft_steps,
                run=RunConfig(
                    out=args.root, name="sft", seed=args.seed, eval_every=args.sft_steps, progress=False
                ),
            )
        )
    )
    results = {}
    for loss in args.losses.split(","):
        cfg = GRPOConfig(
            policy=PolicyConfig(path=str(sft_dir / "final")),
            task=task,
            optim=OptimConfig(lr=args.lr),
            rollout=RolloutConfig(group_size=8, prompts_per_step=16),
            loss=loss,
            steps=args.grpo_steps,
            epochs_per_batch=args.epochs_per_batch,
            run=RunConfig(
                out=args.root,
                name=f"grpo-{loss}{args.tag}",
                seed=args.seed,
                eval_every=args.eval_every,
                checkpoint_every=args.grpo_steps,
                progress=False,
            ),
        )
        run = run_grpo(cfg)
        records = read_metrics(run)
        evals = [(r["step"], r["eval_accuracy"]) for r in records if "eval_accuracy" in r]
        rewards = [(r["step"], r["reward_mean"]) for r in records if "reward_mean" in r]
        results[loss] = {
            "run": str(run),
            "accuracy_before": evals[0][1],
            "accuracy_after": evals[-1][1],
            "accuracy_curve": evals,
            "reward_curve": rewards,
        }
        early, late = [r for _, r in rewards[:10]], [r for _, r in rewards[-10:]]
        results[loss].update(
            train_reward_first10=sum(early) / len(early), train_reward_last10=sum(late) / len(late)
        )
        print(
            f"{loss:24} accuracy {evals[0][1]:.3f} -> {evals[-1][1]:.3f}   train reward "
            f"{sum(early) / len(early):.3f} -> {sum(late) / len(late):.3f} (mean of first / last 10 steps)"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"sft_run": str(sft_dir), "settings": vars(args), "variants": results}, indent=2)
    )
    plot(results, Path(args.out).with_suffix(".png"))


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    for loss, r in results.items():
        a.plot(*zip(*r["reward_curve"]), label=loss)
        b.plot(*zip(*r["accuracy_curve"]), marker=".", label=loss)
    a.set_title("train reward (mean over rollouts)")
    b.set_title("held-out accuracy (greedy)")
    for ax in (a, b):
        ax.set_xlabel("GRPO step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
