"""Expert iteration: sample, keep the responses the reward accepts, fine-tune on them, repeat."""

from __future__ import annotations

import random
from pathlib import Path

from lmforge.core import bind_part

from ..config import EIConfig
from ..engines.factory import make_rollout_engine
from ..plotting import plot_run_curves
from ..policy import Policy, load_policy, save_policy
from ..rollout import SamplingSettings
from ..tasks.base import task_problems
from ..tokenization import encode_text, eos_id_of, pad_id_of
from .common import (
    check_parts,
    decode_response,
    evaluate,
    make_optimizer,
    progress,
    save_checkpoint,
    seed_everything,
    start_run,
)
from .sft import sft_steps


def run_ei(cfg: EIConfig, policy: Policy | None = None) -> Path:
    seed_everything(cfg.run.seed, cfg.run.threads)
    check_parts(cfg, ("reward", cfg.reward, "reward"),
                ("rollout_engine", cfg.rollout.engine, "rollout.engine"))
    reward_fn = bind_part("reward", cfg.reward, "reward")
    policy = policy or load_policy(cfg.policy, cfg.task.name, cfg.run.device)
    tok, rc = policy.tokenizer, cfg.rollout
    stop_id = eos_id_of(tok)
    train = task_problems(cfg.task, "train", cfg.train_size, cfg.run.seed)
    held_out = task_problems(cfg.task, "eval", cfg.eval_size, cfg.run.seed)
    engine = make_rollout_engine(rc.engine, policy.model)
    optimizer = make_optimizer(policy.model, cfg.optim)
    run = start_run(cfg, cfg.run, "ei", policy, optimizer)
    device = next(policy.model.parameters()).device
    if run.start_step == 0:
        run.logger.log(0, **evaluate(policy, engine, held_out, reward_fn, rc.max_new_tokens, stop_id))
    bar = progress(cfg.rounds, run.start_step, cfg.run.progress, "ei")
    for round_ in range(run.start_step, cfg.rounds):
        rng = random.Random(cfg.run.seed * 1_000_003 + round_)
        problems = rng.sample(train, min(cfg.prompts_per_round, len(train)))
        settings = SamplingSettings(
            n=rc.group_size,
            max_new_tokens=rc.max_new_tokens,
            temperature=rc.temperature,
            top_p=rc.top_p,
            stop_id=stop_id,
            pad_id=pad_id_of(tok),
            seed=cfg.run.seed * 7919 + round_,
        )
        rollouts = engine.generate([encode_text(tok, p.prompt) for p in problems], settings)
        kept = []
        for r in rollouts:
            text = decode_response(tok, r.token_ids, stop_id)
            if reward_fn(text, problems[r.prompt_index].answer)["reward"] > 0 and r.token_ids[-1:] == [
                stop_id
            ]:
                kept.append((problems[r.prompt_index].prompt, text))
        metrics = {"kept_fraction": len(kept) / len(rollouts), "kept": len(kept)}
        if kept:
            losses = []
            sft_steps(
                policy,
                optimizer,
                cfg.optim,
                kept,
                cfg.sft_steps_per_round,
                cfg.batch_size,
                1,
                rng,
                device,
                first_step=round_ * cfg.sft_steps_per_round,
                on_step=lambda s, m, sink=losses: sink.append(m["loss"]),
                total_steps=cfg.rounds * cfg.sft_steps_per_round,
            )
            metrics["loss"] = sum(losses) / len(losses)
            engine.update_weights(policy.model)
        record = run.logger.log(round_ + 1, **metrics)
        bar.update(1)
        if (round_ + 1) % cfg.run.eval_every == 0 or round_ + 1 == cfg.rounds:
            run.logger.log(
                round_ + 1, **evaluate(policy, engine, held_out, reward_fn, rc.max_new_tokens, stop_id)
            )
        if (round_ + 1) % cfg.run.checkpoint_every == 0 or round_ + 1 == cfg.rounds:
            save_checkpoint(run.dir, policy, optimizer, round_ + 1, record["time_s"])
    bar.close()
    save_policy(policy, run.dir / "final")
    plot_run_curves(run.dir)
    run.close()
    return run.dir
