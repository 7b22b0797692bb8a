"""Stage ``grpo``: GRPO on the task, starting from the SFT stage's policy.

The ``[grpo]`` section is the align package's ``GRPOConfig`` (loss, rollout engine, reward are parts
picked by name); the recipe sets the policy, the task and the run folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lmforge.align.config import GRPOConfig, PolicyConfig
from lmforge.align.loops.grpo import run_grpo
from lmforge.core import config_to_dict, read_metrics

from .stage_sft import evals, part_name


def run(cfg: GRPOConfig, shared: dict, policy_dir: str, stage_dir: Path, seed: int, device: str,
        log) -> dict:
    """``shared``: the recipe's task part and sizes (``task``, ``train_size``, ``eval_size``)."""
    cfg = dataclasses.replace(
        cfg, policy=PolicyConfig(source="lmforge", path=policy_dir), **shared,
        run=dataclasses.replace(cfg.run, out=str(stage_dir), name="run", seed=seed, device=device,
                                resume=None))
    log(f"GRPO ({part_name(cfg.loss)}) for {cfg.steps} steps, {cfg.rollout.prompts_per_step} prompts x "
        f"{cfg.rollout.group_size} samples")
    run_dir = run_grpo(cfg)
    ev = evals(run_dir)
    rewards = [r[k] for r in read_metrics(run_dir) for k in ("reward_mean", "train_reward") if k in r]
    k = max(1, len(rewards) // 4)
    figures = {"held-out accuracy before": ev[0]["eval_accuracy"],
               "held-out accuracy after": ev[-1]["eval_accuracy"],
               "best held-out accuracy": max(e["eval_accuracy"] for e in ev), "steps": cfg.steps}
    if rewards:
        figures["train reward, first / last quarter"] = (f"{sum(rewards[:k]) / k:.3f} / "
                                                         f"{sum(rewards[-k:]) / k:.3f}")
    return {
        "inputs": {"policy": policy_dir, "task": config_to_dict(cfg.task), "train_size": cfg.train_size,
                   "eval_size": cfg.eval_size},
        "outputs": {"run_dir": str(run_dir), "policy_dir": str(run_dir / "final"),
                    "curves": str(run_dir / "curves.png")},
        "figures": figures,
        "parts": [("task", cfg.task.name), ("rl_loss", part_name(cfg.loss)),
                  *(("reward", r) for r in dict.fromkeys([*map(part_name, cfg.rewards),
                                                          cfg.eval_reward.name])),
                  ("rollout_engine", part_name(cfg.rollout.engine))],
    }
