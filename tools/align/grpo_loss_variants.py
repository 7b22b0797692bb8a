"""GRPO evidence on the demo task: the loss variants compared at equal steps from one SFT policy.

    nice -n 10 uv run python tools/align/grpo_loss_variants.py --sft-steps 300 --grpo-steps 40
    nice -n 10 uv run python tools/align/grpo_loss_variants.py --losses grpo_clip,dapo,gspo \
        --seeds 0,1,2 --epochs-per-batch 2 --out .bench/align/loss_seeds.json

Trains the SFT policy once (or reuses ``--sft-run``), then runs GRPO with each loss and each GRPO
seed (rollout sampling and prompt order) from that same policy. Prints held-out accuracy per eval
step as mean and spread (min-max) over seeds, writes JSON and one PNG of the seed-mean curves.
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
)
from lmforge.align.loops.grpo import run_grpo
from lmforge.align.loops.sft import run_sft
from lmforge.core import PartRef, read_metrics


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
    ap.add_argument("--seed", type=int, default=0, help="the SFT policy's seed")
    ap.add_argument("--seeds", default="0", help="GRPO seeds, comma-separated")
    ap.add_argument("--tag", default="", help="suffix for the run names (e.g. a second setting)")
    ap.add_argument("--root", default=".bench/align/loss_variants")
    ap.add_argument("--out", default=".bench/align/loss_variants.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = PartRef("arithmetic", {"max_operand": args.max_operand})  # 4000 train, 200 held-out problems
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
        seeds = {}
        for seed in [int(x) for x in args.seeds.split(",")]:
            seeds[seed] = grpo_run(args, task, sft_dir, loss, seed)
        results[loss] = {"seeds": seeds, **aggregate(seeds)}
        curve = results[loss]["accuracy_mean"]
        spread = results[loss]["accuracy_spread"]
        print(
            f"{loss:24} held-out accuracy by step (mean over {len(seeds)} seeds, [min, max]): "
            + "  ".join(f"{s}: {m:.3f} [{lo:.3f}, {hi:.3f}]" for (s, m), (lo, hi) in zip(curve, spread))
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"sft_run": str(sft_dir), "settings": vars(args), "variants": results}, indent=2)
    )
    plot(results, Path(args.out).with_suffix(".png"))


def grpo_run(args, task: PartRef, sft_dir: Path, loss: str, seed: int) -> dict:
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
            name=f"grpo-{loss}-s{seed}{args.tag}",
            seed=seed,
            eval_every=args.eval_every,
            checkpoint_every=args.grpo_steps,
            progress=False,
        ),
    )
    records = read_metrics(run_grpo(cfg))
    return {
        "accuracy_curve": [(r["step"], r["eval_accuracy"]) for r in records if "eval_accuracy" in r],
        "reward_curve": [(r["step"], r["reward_mean"]) for r in records if "reward_mean" in r],
    }


def aggregate(seeds: dict) -> dict:
    """Seed mean and [min, max] at every eval step, and the mean train-reward curve."""
    curves = [r["accuracy_curve"] for r in seeds.values()]
    steps = [s for s, _ in curves[0]]
    by_step = [[c[i][1] for c in curves] for i in range(len(steps))]
    rewards = [r["reward_curve"] for r in seeds.values()]
    return {
        "accuracy_mean": [(s, sum(v) / len(v)) for s, v in zip(steps, by_step)],
        "accuracy_spread": [(min(v), max(v)) for v in by_step],
        "reward_mean_curve": [
            (rewards[0][i][0], sum(c[i][1] for c in rewards) / len(rewards)) for i in range(len(rewards[0]))
        ],
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    for loss, r in results.items():
        a.plot(*zip(*r["reward_mean_curve"]), label=loss)
        steps, means = zip(*r["accuracy_mean"])
        lo, hi = zip(*r["accuracy_spread"])
        (line,) = b.plot(steps, means, marker=".", label=loss)
        b.fill_between(steps, lo, hi, alpha=0.2, color=line.get_color())
    a.set_title("train reward (seed mean)")
    b.set_title("held-out accuracy (greedy; seed mean, min-max band)")
    for ax in (a, b):
        ax.set_xlabel("GRPO step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
