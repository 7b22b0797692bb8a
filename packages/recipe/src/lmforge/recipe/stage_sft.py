"""Stage ``sft``: supervised fine-tuning on the task, starting from the pretrained weights.

The ``[sft]`` section is the align package's ``SFTConfig``; the recipe sets where the policy comes
from (the pretrain stage's policy folder), the task (the recipe's ``[task]``), and the run folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lmforge.align.config import PolicyConfig, SFTConfig
from lmforge.align.loops.sft import run_sft
from lmforge.core import PartRef, config_to_dict, read_metrics


def part_name(value) -> str:
    """The name of a part reference (a ``PartRef``, a name or a table), for the report's part list."""
    return PartRef.parse(value).name


def evals(run_dir: Path) -> list[dict]:
    return [r for r in read_metrics(run_dir) if "eval_accuracy" in r]


def run(cfg: SFTConfig, shared: dict, policy_dir: str, stage_dir: Path, seed: int, device: str,
        log) -> dict:
    """``shared``: the recipe's task part and sizes (``task``, ``train_size``, ``eval_size``)."""
    cfg = dataclasses.replace(
        cfg, policy=PolicyConfig(source="lmforge", path=policy_dir), **shared,
        run=dataclasses.replace(cfg.run, out=str(stage_dir), name="run", seed=seed, device=device,
                                resume=None))
    log(f"SFT for {cfg.steps} steps on {cfg.task.name} (lr {cfg.optim.lr}, batch {cfg.batch_size})")
    run_dir = run_sft(cfg)
    ev = evals(run_dir)
    return {
        "inputs": {"policy": policy_dir, "task": config_to_dict(cfg.task), "train_size": cfg.train_size,
                   "eval_size": cfg.eval_size},
        "outputs": {"run_dir": str(run_dir), "policy_dir": str(run_dir / "final"),
                    "curves": str(run_dir / "curves.png")},
        "figures": {"held-out accuracy before": ev[0]["eval_accuracy"], "held-out accuracy after":
                    ev[-1]["eval_accuracy"], "answer format followed after": ev[-1].get("eval_format"),
                    "steps": cfg.steps},
        "parts": [("task", cfg.task.name), ("reward", cfg.reward.name),
                  ("rollout_engine", part_name(cfg.eval_engine or "torch"))],
    }
