"""DPO-family training against the starting policy (a frozen copy, or the policy with its LoRA adapters
off), batched (one policy and one reference forward per step), with held-out preference accuracy and
margin. The loss is a ``preference_loss`` part: sigmoid (DPO, cDPO), robust, hinge, ipo."""

from __future__ import annotations

import random
from pathlib import Path

import torch

from lmforge.core import build_part, check_part_options

from ..config import DPOConfig
from ..dpo import preference_log_ratios, preference_loss_and_margin
from ..lora import frozen_reference
from ..plotting import plot_run_curves
from ..policy import Policy, load_policy, save_policy
from ..preferences import load_pairs, preference_pairs
from ..tasks.base import task_problems
from .common import (
    check_parts,
    make_optimizer,
    optimizer_step,
    progress,
    save_checkpoint,
    seed_everything,
    start_run,
)


def build_preference_loss(cfg: DPOConfig):
    check_part_options("preference_loss", cfg.loss, "loss")
    return build_part("preference_loss", cfg.loss, beta=cfg.beta)


@torch.no_grad()
def preference_metrics(
    policy: Policy, reference, pairs: list[dict], beta: float, batch: int = 32
) -> dict[str, float]:
    """Fraction of pairs whose implicit reward prefers the chosen response (a tie counts one half, so the
    untrained policy, identical to the reference, scores 0.5), and the mean margin."""
    margins = []
    for start in range(0, len(pairs), batch):
        ratios = preference_log_ratios(
            policy.model, reference, policy.tokenizer, pairs[start : start + batch]
        )
        margins += (beta * (ratios["chosen"] - ratios["rejected"])).tolist()
    return {
        "eval_pref_accuracy": sum(1.0 if m > 0 else 0.5 if m == 0 else 0.0 for m in margins) / len(margins),
        "eval_reward_margin": sum(margins) / len(margins),
    }


def run_dpo(cfg: DPOConfig, policy: Policy | None = None) -> Path:
    seed_everything(cfg.run.seed, cfg.run.threads)
    check_parts(cfg)
    loss_fn = build_preference_loss(cfg)  # a bad loss name or option fails before anything loads
    policy = policy or load_policy(cfg.policy, cfg.task.name, cfg.run.device)
    if cfg.data:
        pairs = load_pairs(cfg.data)
        random.Random(cfg.run.seed).shuffle(pairs)
        held_out, train = pairs[: cfg.eval_pairs], pairs[cfg.eval_pairs :]
    else:
        train = preference_pairs(task_problems(cfg.task, "train", cfg.train_size, cfg.run.seed), cfg.run.seed)
        held_out = preference_pairs(
            task_problems(cfg.task, "eval", cfg.eval_pairs, cfg.run.seed), cfg.run.seed + 1
        )
    reference = frozen_reference(policy.model)
    optimizer = make_optimizer(policy.model, cfg.optim)
    run = start_run(cfg, cfg.run, "dpo", policy, optimizer)
    if run.start_step == 0:
        run.logger.log(0, **preference_metrics(policy, reference, held_out, cfg.beta))
    bar = progress(cfg.steps, run.start_step, cfg.run.progress, "dpo")
    for step in range(run.start_step, cfg.steps):
        rng = random.Random(cfg.run.seed * 1_000_003 + step)
        ratios = preference_log_ratios(
            policy.model, reference, policy.tokenizer, rng.sample(train, cfg.pairs_per_step)
        )
        losses, margins = preference_loss_and_margin(loss_fn, cfg.beta, ratios)
        loss = losses.mean()
        loss.backward()
        total, wins, margin_sum = float(loss.detach()), int((margins > 0).sum()), float(margins.mean())
        grad_norm, lr = optimizer_step(policy.model, optimizer, cfg.optim, step, cfg.steps)
        record = run.logger.log(
            step + 1,
            loss=total,
            grad_norm=grad_norm,
            lr=lr,
            train_pref_accuracy=wins / cfg.pairs_per_step,
            train_reward_margin=margin_sum,
        )
        bar.update(1)
        bar.set_postfix(loss=f"{total:.3f}")
        if (step + 1) % cfg.run.eval_every == 0 or step + 1 == cfg.steps:
            run.logger.log(step + 1, **preference_metrics(policy, reference, held_out, cfg.beta))
        if (step + 1) % cfg.run.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(run.dir, policy, optimizer, step + 1, record["time_s"])
    bar.close()
    save_policy(policy, run.dir / "final")
    plot_run_curves(run.dir)
    run.close()
    return run.dir
