"""What every loop shares: the run directory, checkpoints, the optimizer, evaluation and the curve plot.

Checkpoints are the model package's run checkpoints (``checkpoints/step_N/`` folders with a sha256
manifest, the newest two kept), so an align run gets what a training run gets: a corrupt checkpoint is
detected and resuming falls back to the newest one that verifies. The policy is saved as its state
dict, LoRA adapters apart from the base weights, an HF policy under its own names.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lmforge.core import build_part, check_part_options, lock_dir, new_run_dir, save_config, truncate_metrics
from lmforge.model.checkpoint import CheckpointError, load_state_dict_checked
from lmforge.model.run_checkpoint import (
    capture_rng,
    checkpoint_to_resume,
    load_model_weights,
    load_rank_file,
    read_trainer_state,
    restore_rng,
    save_run_checkpoint,
)

from ..config import OptimConfig, RunConfig
from ..policy import Policy
from ..rollout import SamplingSettings
from ..tasks.base import Problem, check_task
from ..tokenization import decode_ids, encode_text, pad_id_of


@dataclass
class Run:
    dir: Path
    logger: Any  # a metrics_logger part: log(step, **metrics) -> record, close()
    start_step: int
    elapsed_s: float
    lock: Any  # core's DirLock on ``dir``: one writer per run (a crash releases it with the process)

    def close(self) -> None:
        self.logger.close()
        self.lock.release()


def seed_everything(seed: int, threads: int = 0) -> None:
    if threads > 0:
        torch.set_num_threads(threads)
    random.seed(seed)
    torch.manual_seed(seed)


def check_parts(cfg, *more: tuple[str, object, str]) -> None:
    """Every part a loop builds, ``(kind, ref, config key)``: its name and options checked before a
    policy loads or a run folder is written, so a misspelt option is one ConfigError naming its key.
    The task, optimizer, schedule and metrics logger every loop has are always checked."""
    check_task(cfg.task)
    for kind, ref, key in (("optimizer", cfg.optim.optimizer, "optim.optimizer"),
                           ("lr_schedule", cfg.optim.schedule, "optim.schedule"),
                           ("metrics_logger", cfg.run.metrics_logger, "run.metrics_logger"), *more):
        if ref is not None:
            check_part_options(kind, ref, key)


def start_run(cfg, run_cfg: RunConfig, kind: str, policy: Policy, optimizer) -> Run:
    """A fresh run directory, or (``run.resume``) the old one with weights, optimizer and RNG restored."""
    if run_cfg.resume:
        run_dir = Path(run_cfg.resume)
        lock = lock_dir(run_dir, "align run directory")
        state = load_checkpoint(run_dir, policy, optimizer)
        truncate_metrics(run_dir, state["step"])
    else:
        run_dir = new_run_dir(run_cfg.out, run_cfg.name or f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}")
        lock = lock_dir(run_dir, "align run directory")
        state = {"step": 0, "elapsed_s": 0.0}
    save_config(cfg, run_dir)
    logger = build_part("metrics_logger", run_cfg.metrics_logger, run_dir, start_time_s=state["elapsed_s"])
    return Run(run_dir, logger, state["step"], state["elapsed_s"], lock)


def save_checkpoint(run_dir: Path, policy: Policy, optimizer, step: int, elapsed_s: float) -> Path:
    """``run_dir/checkpoints/step_N/``: weights (adapters as they are), optimizer, RNG, step and time."""
    return save_run_checkpoint(
        run_dir, step, model_state=policy.model.state_dict(), optimizer_state=optimizer.state_dict(),
        rng_state=capture_rng(), trainer_state={"step": step, "time_s": elapsed_s, "source": policy.source},
        config_toml=(run_dir / "config.toml").read_text())


def load_checkpoint(run_dir: Path, policy: Policy, optimizer) -> dict:
    """Restore weights, optimizer and RNG in place from the newest checkpoint that verifies; returns
    ``{"step", "elapsed_s"}`` (step 0 for a run that never saved one)."""
    if (run_dir / "checkpoints" / "latest").is_dir():
        raise CheckpointError(f"{run_dir} holds an align checkpoint from before checksums "
                              "(checkpoints/latest/): it cannot be verified; start a new run")
    ckpt = checkpoint_to_resume(run_dir, lambda message: print(f"lmforge: {message}", file=sys.stderr))
    if ckpt is None:
        return {"step": 0, "elapsed_s": 0.0}
    state = read_trainer_state(ckpt, ("step", "time_s"))
    load_state_dict_checked(policy.model, load_model_weights(ckpt), str(ckpt))
    try:
        optimizer.load_state_dict(load_rank_file(ckpt, "optimizer", 0))
    except (ValueError, KeyError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {ckpt}: optimizer state does not fit: {e}") from e
    restore_rng(load_rank_file(ckpt, "rng", 0))
    return {"step": state["step"], "elapsed_s": state["time_s"]}


def make_optimizer(model, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The ``optimizer`` part over the trainable parameters (a LoRA policy: the adapters only)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return build_part("optimizer", cfg.optimizer, params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                      weight_decay=cfg.weight_decay)


def learning_rate(cfg: OptimConfig, step: int, total_steps: int) -> float:
    """The ``lr_schedule`` part at 1-based iteration ``step + 1`` (the first step already learns)."""
    return build_part("lr_schedule", cfg.schedule, step + 1, cfg.lr, cfg.min_lr, cfg.warmup_steps,
                      max(total_steps, cfg.warmup_steps + 1))


def optimizer_step(model, optimizer, cfg: OptimConfig, step: int, total_steps: int) -> tuple[float, float]:
    """Scheduled learning rate, gradient clipping, one step. Returns (grad_norm, lr)."""
    lr = learning_rate(cfg, step, total_steps)
    for group in optimizer.param_groups:
        group["lr"] = lr
    params = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(norm), lr


def decode_response(tokenizer, token_ids: list[int], stop_id: int | None) -> str:
    if stop_id is not None and token_ids and token_ids[-1] == stop_id:
        token_ids = token_ids[:-1]
    return decode_ids(tokenizer, token_ids)


def evaluate(
    policy: Policy,
    engine,
    problems: list[Problem],
    reward_fn,
    max_new_tokens: int,
    stop_id: int | None,
    batch: int = 100,
) -> dict[str, float]:
    """Greedy decoding on held-out problems: accuracy, format rate, reward and response length."""
    totals = {"eval_reward": 0.0, "eval_accuracy": 0.0, "eval_format": 0.0, "eval_response_length": 0.0}
    for start in range(0, len(problems), batch):
        chunk = problems[start : start + batch]
        settings = SamplingSettings(
            n=1,
            max_new_tokens=max_new_tokens,
            temperature=0.0,
            stop_id=stop_id,
            pad_id=pad_id_of(policy.tokenizer),
            seed=0,
        )
        rollouts = engine.generate([encode_text(policy.tokenizer, p.prompt) for p in chunk], settings)
        for r in rollouts:
            scored = reward_fn(
                decode_response(policy.tokenizer, r.token_ids, stop_id), chunk[r.prompt_index].answer
            )
            totals["eval_reward"] += scored["reward"]
            totals["eval_accuracy"] += scored.get("answer_reward", scored["reward"])
            totals["eval_format"] += scored.get("format_reward", 1.0)
            totals["eval_response_length"] += len(r.token_ids)
    return {k: v / max(1, len(problems)) for k, v in totals.items()}


def progress(total: int, initial: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, dynamic_ncols=True)
