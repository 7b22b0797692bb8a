"""``lmforge align demo``: SFT teaches a tiny TransformerLM the answer format, then GRPO raises accuracy.

Everything runs on CPU in minutes: a character-level arithmetic task, a 2-layer model, the ``torch``
rollout engine. The summary gives held-out accuracy before SFT, after SFT (= before GRPO) and after
GRPO, and the run folders hold metrics.jsonl and the reward / accuracy curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lmforge.core import read_metrics

from .config import (
    GRPOConfig,
    OptimConfig,
    PartRef,
    PolicyConfig,
    RolloutConfig,
    RunConfig,
    SFTConfig,
    parse_parts,
    ref,
)


@dataclass
class DemoConfig:
    out: str = "runs/align-demo"
    seed: int = 0
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    task: PartRef = field(default_factory=lambda: PartRef("arithmetic", {"max_operand": 29}))  # task part
    train_size: int = 4000
    eval_size: int = 200
    sft_steps: int = 300
    sft_lr: float = 3e-3
    grpo_steps: int = 60
    grpo_lr: float = 2e-4
    loss: PartRef = ref("grpo_clip")
    rollout: RolloutConfig = field(default_factory=lambda: RolloutConfig(group_size=8, prompts_per_step=16))
    epochs_per_batch: int = 1
    eval_every: int = 20
    progress: bool = True

    def __post_init__(self) -> None:
        parse_parts(self)


@dataclass
class DemoSummary:
    sft_run: Path
    grpo_run: Path
    accuracy_before_sft: float
    accuracy_after_sft: float
    accuracy_after_grpo: float
    format_after_sft: float

    def lines(self) -> list[str]:
        return [
            f"held-out accuracy before SFT:  {self.accuracy_before_sft:.3f}",
            f"held-out accuracy after SFT:   {self.accuracy_after_sft:.3f} "
            f"(answer format followed: {self.format_after_sft:.2f})",
            f"held-out accuracy after GRPO:  {self.accuracy_after_grpo:.3f}",
            f"SFT run:  {self.sft_run}",
            f"GRPO run: {self.grpo_run} (curves.png: reward and accuracy curves)",
        ]


def _evals(run_dir: Path) -> list[dict]:
    return [r for r in read_metrics(run_dir) if "eval_accuracy" in r]


def run_demo(cfg: DemoConfig) -> DemoSummary:
    from .loops.grpo import train_grpo
    from .loops.sft import run_sft
    from .policy import load_saved_policy
    from .tasks.base import task_problems

    sft_cfg = SFTConfig(
        policy=cfg.policy,
        task=cfg.task,
        train_size=cfg.train_size,
        eval_size=cfg.eval_size,
        optim=OptimConfig(lr=cfg.sft_lr, warmup_steps=20),
        run=RunConfig(
            out=cfg.out,
            name="sft",
            seed=cfg.seed,
            eval_every=max(1, cfg.sft_steps // 4),
            checkpoint_every=cfg.sft_steps,
            progress=cfg.progress,
        ),
        steps=cfg.sft_steps,
    )
    sft_dir = run_sft(sft_cfg)
    policy = load_saved_policy(sft_dir / "final")
    grpo_cfg = GRPOConfig(
        policy=PolicyConfig(source="lmforge", path=str(sft_dir / "final")),
        task=cfg.task,
        train_size=cfg.train_size,
        eval_size=cfg.eval_size,
        optim=OptimConfig(lr=cfg.grpo_lr),
        rollout=cfg.rollout,
        loss=cfg.loss,
        run=RunConfig(
            out=cfg.out,
            name=f"grpo-{cfg.loss.name}",
            seed=cfg.seed,
            eval_every=cfg.eval_every,
            checkpoint_every=cfg.grpo_steps,
            progress=cfg.progress,
        ),
        steps=cfg.grpo_steps,
        epochs_per_batch=cfg.epochs_per_batch,
    )
    train = task_problems(cfg.task, "train", cfg.train_size, cfg.seed)
    held_out = task_problems(cfg.task, "eval", cfg.eval_size, cfg.seed)
    grpo_dir = train_grpo(grpo_cfg, policy, train, held_out)
    sft_evals, grpo_evals = _evals(sft_dir), _evals(grpo_dir)
    return DemoSummary(
        sft_dir,
        grpo_dir,
        sft_evals[0]["eval_accuracy"],
        grpo_evals[0]["eval_accuracy"],
        grpo_evals[-1]["eval_accuracy"],
        grpo_evals[0]["eval_format"],
    )
