"""DPO evidence: held-out preference accuracy and implicit reward margin rising during training.

The preference set is built offline from the arithmetic task (chosen: the worked answer; rejected:
the same response with a near-miss answer); train and held-out pairs come from disjoint problems.

    nice -n 10 uv run python tools/align/dpo_evidence.py --sft-run .bench/align/loss_variants/sft
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from lmforge.align.config import DPOConfig, OptimConfig, PolicyConfig, RunConfig, SFTConfig
from lmforge.align.loops.dpo import run_dpo
from lmforge.align.loops.sft import run_sft
from lmforge.core import PartRef, read_metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sft-run", default=None, help="start from this SFT run's final policy (else a short SFT)"
    )
    ap.add_argument("--sft-steps", type=int, default=150)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--max-operand", type=int, default=29)
    ap.add_argument("--root", default=".bench/align/dpo")
    ap.add_argument("--out", default=".bench/align/dpo.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = PartRef("arithmetic", {"max_operand": args.max_operand})
    sft_dir = (
        Path(args.sft_run)
        if args.sft_run
        else run_sft(
            SFTConfig(
                task=task,
                optim=OptimConfig(lr=3e-3, warmup_steps=20),
                steps=args.sft_steps,
                run=RunConfig(out=args.root, name="sft", eval_every=args.sft_steps, progress=False),
            )
        )
    )
    run = run_dpo(
        DPOConfig(
            policy=PolicyConfig(path=str(sft_dir / "final")),
            task=task,
            beta=args.beta,
            optim=OptimConfig(lr=args.lr),
            steps=args.steps,
            pairs_per_step=16,
            eval_pairs=100,
            run=RunConfig(out=args.root, name="dpo", eval_every=10, progress=False),
        )
    )
    evals = [r for r in read_metrics(run) if "eval_pref_accuracy" in r]
    print(f"{'step':>5} {'held-out pref acc':>18} {'reward margin':>14}")
    for r in evals:
        print(f"{r['step']:5d} {r['eval_pref_accuracy']:18.3f} {r['eval_reward_margin']:14.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"run": str(run), "settings": vars(args), "curve": evals}, indent=2))


if __name__ == "__main__":
    main()
