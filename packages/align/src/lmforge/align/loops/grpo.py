"""GRPO-style RL: sample groups, score, normalize within the group, several epochs per batch.

Per step: the rollout engine samples ``group_size`` responses for each of ``prompts_per_step`` prompts;
the reward parts score them (weighted sum); the rl_loss part says how advantages are formed, computes
the per-token loss and names its reduction. Old log-probs (the importance ratio's denominator) are
the trainer's at sampling time: with one epoch per batch they equal the current log-probs, detached,
and cost no forward pass; with several they are computed once per batch, and only when the loss or
the engine correction reads them. Each token's loss is weighted by min(pi_trainer / pi_engine, cap)
(truncated importance sampling), which corrects for the engine sampling from slightly different
numbers than the trainer scores. Optionally a KL penalty to the initial policy (a frozen copy, or the
policy with its LoRA adapters off) is added per token. After the optimizer step the engine receives
the new weights.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from lmforge.core import ConfigError, bind_part, build_part, check_part_options

from ..config import GRPOConfig
from ..engines.factory import make_rollout_engine
from ..logprobs import get_response_log_probs, masked_mean
from ..lora import frozen_reference, merged_copy
from ..plotting import plot_run_curves
from ..policy import Policy, load_policy, save_policy
from ..policy_gradient import (
    BatchTotals,
    call_rl_loss,
    group_advantages,
    microbatch_loss,
    truncated_importance_weights,
)
from ..preflight import check_engine_log_probs
from ..reward_mix import build_rewards, score_rollouts
from ..rl_losses import check_rl_loss
from ..rollout import Rollout, SamplingSettings
from ..tasks.base import Problem, task_problems
from ..tokenization import encode_text, eos_id_of, pack_prompt_and_output_ids, pad_id_of
from .common import (
    check_parts,
    decode_response,
    evaluate,
    make_optimizer,
    optimizer_step,
    progress,
    save_checkpoint,
    seed_everything,
    start_run,
)


def batch_log_probs(model, batch: dict, micro: int, temperature: float) -> torch.Tensor:
    """Trainer log-probs of every label, in microbatches, under inference mode, as a normal tensor."""
    with torch.inference_mode():
        parts = [
            get_response_log_probs(
                model,
                batch["input_ids"][i : i + micro],
                batch["labels"][i : i + micro],
                temperature=temperature,
            )["log_probs"]
            for i in range(0, batch["input_ids"].shape[0], micro)
        ]
    return torch.cat(parts).clone()  # clone outside inference mode so autograd may read it


def kl_per_token(policy_lp: torch.Tensor, ref_lp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimator of KL(pi || ref) from sampled tokens: unbiased and never negative."""
    delta = ref_lp - policy_lp
    return torch.exp(delta) - delta - 1.0


def build_loss(cfg: GRPOConfig):
    check_part_options("rl_loss", cfg.loss, "loss")  # a factory with a signature is checked by it
    try:  # a factory taking **options (this package's presets) reports a bad option when called
        loss = build_part("rl_loss", cfg.loss)
    except (TypeError, ValueError) as e:  # an unknown or out-of-range option
        raise ConfigError(f"loss: rl_loss {cfg.loss.name!r} with options {cfg.loss.options}: {e}") from e
    return check_rl_loss(loss, cfg.loss.name)


def check_grpo_parts(cfg: GRPOConfig) -> None:
    """Every part of a GRPO run, built or checked before the policy, engine or run folder cost anything."""
    check_parts(cfg, ("reward", cfg.eval_reward, "eval_reward"), ("rollout_engine", cfg.rollout.engine,
                                                                  "rollout.engine"))
    build_loss(cfg), build_rewards(cfg.rewards)


def engine_log_probs(rollouts: list[Rollout], shape: tuple[int, int]) -> torch.Tensor:
    """The engine's log-prob of each sampled token, laid out like the packed batch's labels."""
    out = torch.zeros(shape)
    for i, r in enumerate(rollouts):
        if len(r.log_probs) != len(r.token_ids):
            raise ValueError(
                f"the engine returned {len(r.log_probs)} log-probs for {len(r.token_ids)} tokens"
            )
        start = len(r.prompt_ids) - 1  # labels[j] is token j + 1
        out[i, start : start + len(r.token_ids)] = torch.tensor(r.log_probs)
    return out


def run_grpo(cfg: GRPOConfig, policy: Policy | None = None) -> Path:
    seed_everything(cfg.run.seed, cfg.run.threads)
    check_grpo_parts(cfg)  # a broken part fails before anything is loaded
    policy = policy or load_policy(cfg.policy, cfg.task.name, cfg.run.device)
    train = task_problems(cfg.task, "train", cfg.train_size, cfg.run.seed)
    held_out = task_problems(cfg.task, "eval", cfg.eval_size, cfg.run.seed)
    return train_grpo(cfg, policy, train, held_out)


def train_grpo(cfg: GRPOConfig, policy: Policy, train: list[Problem], held_out: list[Problem]) -> Path:
    tok, model, rc = policy.tokenizer, policy.model, cfg.rollout
    stop_id, pad_id = eos_id_of(tok), pad_id_of(tok)
    # every part is checked before the engine, the preflight or a rollout costs anything
    check_grpo_parts(cfg)
    loss_part, rewards = build_loss(cfg), build_rewards(cfg.rewards)
    eval_reward = bind_part("reward", cfg.eval_reward, "eval_reward")
    reduction = getattr(loss_part, "reduction", "sequence_mean")
    advantage_mode = getattr(loss_part, "advantage", "group_normalized")
    # created before the optimizer state exists, so a GPU engine sizes its memory with the policy alone
    engine = make_rollout_engine(rc.engine, merged_copy(model))
    reference = frozen_reference(model) if cfg.kl_beta > 0 else None
    optimizer = make_optimizer(model, cfg.optim)
    run = start_run(cfg, cfg.run, "grpo", policy, optimizer)
    if run.start_step:
        engine.update_weights(merged_copy(model))
    device = next(model.parameters()).device
    max_new = rc.max_new_tokens

    def do_eval(step: int) -> dict:
        metrics = evaluate(policy, engine, held_out, eval_reward, max_new, stop_id)
        run.logger.log(step, **metrics)
        return metrics

    def sampling(n: int, seed: int) -> SamplingSettings:
        return SamplingSettings(
            n=n,
            max_new_tokens=max_new,
            temperature=rc.temperature,
            top_p=rc.top_p,
            stop_id=stop_id,
            pad_id=pad_id,
            seed=seed,
        )

    if rc.preflight:
        probe = [encode_text(tok, p.prompt) for p in train[:4]]
        stats = check_engine_log_probs(
            engine, model, probe, sampling(2, cfg.run.seed), rc.preflight_tolerance
        )
        run.logger.log(run.start_step, **stats)
    if run.start_step == 0:
        do_eval(0)
    bar = progress(cfg.steps, run.start_step, cfg.run.progress, f"grpo[{cfg.loss.name}]")
    for step in range(run.start_step, cfg.steps):
        rng = random.Random(cfg.run.seed * 1_000_003 + step)
        problems = rng.sample(train, rc.prompts_per_step)
        settings = sampling(rc.group_size, cfg.run.seed * 7919 + step)
        rollouts = engine.generate([encode_text(tok, p.prompt) for p in problems], settings)
        responses = [decode_response(tok, r.token_ids, stop_id) for r in rollouts]
        truths = [problems[r.prompt_index].answer for r in rollouts]
        raw, reward_meta = score_rollouts(rewards, responses, truths)
        advantages = group_advantages(raw, rc.group_size, advantage_mode, cfg.advantage_eps)
        batch = {
            k: v.to(device)
            for k, v in pack_prompt_and_output_ids(
                [r.prompt_ids for r in rollouts], [r.token_ids for r in rollouts], pad_id
            ).items()
        }
        n, micro = len(rollouts), min(cfg.microbatch_size, len(rollouts))
        totals = BatchTotals(n, int(batch["response_mask"].sum()), max_new)
        correct = cfg.importance_cap > 0
        sampled_lp = engine_log_probs(rollouts, batch["labels"].shape).to(device) if correct else None
        # the trainer's log-probs at sampling time, computed only when something reads them and the
        # policy will have moved before it does (several epochs); else the current ones, detached
        needs_old = loss_part.uses_old_log_probs or correct
        old = (
            batch_log_probs(model, batch, micro, rc.temperature)
            if needs_old and cfg.epochs_per_batch > 1
            else None
        )
        ref = None
        if cfg.kl_beta > 0:
            ref = batch_log_probs(reference, batch, micro, rc.temperature)
        sums = {"loss": 0.0, "token_entropy": 0.0, "clip_fraction": 0.0, "kl": 0.0, "is_weight": 0.0}
        for _epoch in range(cfg.epochs_per_batch):
            order = torch.randperm(n)
            for i in range(0, n, micro):
                idx = order[i : i + micro]
                mask = batch["response_mask"][idx]
                share = len(idx) / n / cfg.epochs_per_batch  # this micro-batch's weight in the means
                out = get_response_log_probs(
                    model,
                    batch["input_ids"][idx],
                    batch["labels"][idx],
                    return_token_entropy=True,
                    temperature=rc.temperature,
                )
                lp = out["log_probs"]
                old_lp = old[idx] if old is not None else lp.detach()
                per_token, meta = call_rl_loss(
                    loss_part,
                    lp,
                    advantages[idx].to(device)[:, None],
                    old_lp if loss_part.uses_old_log_probs else None,
                    mask,
                )
                if correct:
                    weights = truncated_importance_weights(old_lp, sampled_lp[idx], mask, cfg.importance_cap)
                    per_token = per_token * weights
                    sums["is_weight"] += float(masked_mean(weights, mask)) * share
                if ref is not None:
                    kl = kl_per_token(lp, ref[idx])
                    per_token = per_token + cfg.kl_beta * kl
                    sums["kl"] += float(masked_mean(kl.detach(), mask)) * share
                loss = microbatch_loss(per_token, mask, reduction, totals)
                loss.backward()
                sums["loss"] += float(loss.detach()) / cfg.epochs_per_batch
                sums["token_entropy"] += float(masked_mean(out["token_entropy"], mask)) * share
                if "clipped" in meta:
                    sums["clip_fraction"] += float(masked_mean(meta["clipped"].float(), mask)) * share
            grad_norm, lr = optimizer_step(model, optimizer, cfg.optim, step, cfg.steps)
        engine.update_weights(merged_copy(model))
        record = run.logger.log(
            step + 1,
            grad_norm=grad_norm,
            lr=lr,
            **sums,
            **reward_meta,
            response_length=sum(len(r.token_ids) for r in rollouts) / n,
        )
        bar.update(1)
        bar.set_postfix(reward=f"{reward_meta['reward_mean']:.2f}")
        if (step + 1) % cfg.run.eval_every == 0 or step + 1 == cfg.steps:
            bar.set_postfix(acc=do_eval(step + 1)["eval_accuracy"])
        if (step + 1) % cfg.run.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(run.dir, policy, optimizer, step + 1, record["time_s"])
    bar.close()
    engine.close()
    save_policy(policy, run.dir / "final")
    plot_run_curves(run.dir)
    run.close()
    return run.dir
