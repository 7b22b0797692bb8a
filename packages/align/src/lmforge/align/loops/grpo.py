"""GRPO-style RL: sample groups, score, normalize within the group, several epochs per batch.

Per step: the rollout engine samples ``group_size`` responses for each of ``prompts_per_step`` prompts;
the reward part scores them; the rl_loss part says how advantages are formed and how the per-token
loss is reduced; old log-probs are computed once per batch under inference mode (the importance
ratio's denominator for every epoch); optionally a KL penalty to the frozen initial policy is added
per token. After the optimizer steps the engine receives the new weights.
"""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path

import torch

from lmforge.core import get_part

from ..checkpointing import save_checkpoint
from ..config import GRPOConfig
from ..engines.factory import make_rollout_engine
from ..logprobs import get_response_log_probs, masked_mean
from ..plotting import plot_run_curves
from ..policy import Policy, load_policy, save_policy
from ..policy_gradient import compute_group_normalized_rewards, grpo_microbatch_train_step
from ..preflight import check_engine_log_probs
from ..rollout import SamplingSettings
from ..tasks.base import Problem, make_problems
from ..tokenization import encode_text, eos_id_of, pack_prompt_and_output_ids, pad_id_of
from .common import (
    decode_response,
    evaluate,
    make_optimizer,
    optimizer_step,
    progress,
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


def run_grpo(cfg: GRPOConfig, policy: Policy | None = None) -> Path:
    seed_everything(cfg.run.seed, cfg.run.threads)
    policy = policy or load_policy(cfg.policy, cfg.task.name, cfg.run.device)
    opts = {"max_operand": cfg.task.max_operand, "ops": cfg.task.ops} if cfg.task.name == "arithmetic" else {}
    train = make_problems(cfg.task.name, "train", cfg.task.train_size, cfg.run.seed, **opts)
    held_out = make_problems(cfg.task.name, "eval", cfg.task.eval_size, cfg.run.seed, **opts)
    return train_grpo(cfg, policy, train, held_out)


def train_grpo(cfg: GRPOConfig, policy: Policy, train: list[Problem], held_out: list[Problem]) -> Path:
    tok, model, rc = policy.tokenizer, policy.model, cfg.rollout
    stop_id, pad_id = eos_id_of(tok), pad_id_of(tok)
    loss_part, reward_fn = get_part("rl_loss", cfg.loss), get_part("reward", cfg.reward)
    engine_options = {"gpu_memory_utilization": rc.gpu_memory_utilization} if rc.engine == "vllm" else {}
    # created before the optimizer state exists, so a GPU engine sizes its memory with the policy alone
    engine = make_rollout_engine(rc.engine, model, stop_id=stop_id, pad_id=pad_id, **engine_options)
    reference = None
    if cfg.kl_beta > 0:
        reference = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = make_optimizer(model, cfg.optim)
    run = start_run(cfg, cfg.run, "grpo", policy, optimizer)
    if run.start_step:
        engine.update_weights(model)
    device = next(model.parameters()).device
    max_new = rc.max_new_tokens

    def do_eval(step: int) -> dict:
        metrics = evaluate(policy, engine, held_out, reward_fn, max_new, stop_id)
        run.logger.log(step, **metrics)
        return metrics

    if rc.preflight:
        probe = [encode_text(tok, p.prompt) for p in train[:4]]
        stats = check_engine_log_probs(
            engine,
            model,
            probe,
            SamplingSettings(
                n=2,
                max_new_tokens=max_new,
                temperature=rc.temperature,
                top_p=rc.top_p,
                stop_id=stop_id,
                seed=cfg.run.seed,
            ),
            tolerance=rc.preflight_tolerance,
        )
        run.logger.log(run.start_step, **stats)
    if run.start_step == 0:
        do_eval(0)
    bar = progress(cfg.steps, run.start_step, cfg.run.progress, f"grpo[{cfg.loss}]")
    for step in range(run.start_step, cfg.steps):
        rng = random.Random(cfg.run.seed * 1_000_003 + step)
        problems = rng.sample(train, rc.prompts_per_step)
        settings = SamplingSettings(
            n=rc.group_size,
            max_new_tokens=max_new,
            temperature=rc.temperature,
            top_p=rc.top_p,
            stop_id=stop_id,
            seed=cfg.run.seed * 7919 + step,
        )
        rollouts = engine.generate([encode_text(tok, p.prompt) for p in problems], settings)
        responses = [decode_response(tok, r.token_ids, stop_id) for r in rollouts]
        truths = [problems[r.prompt_index].answer for r in rollouts]
        advantages, raw, reward_meta = compute_group_normalized_rewards(
            reward_fn, responses, truths, rc.group_size, cfg.advantage_eps, loss_part.normalize_by_std
        )
        batch = {
            k: v.to(device)
            for k, v in pack_prompt_and_output_ids(
                [r.prompt_ids for r in rollouts], [r.token_ids for r in rollouts], pad_id
            ).items()
        }
        n, micro = len(rollouts), min(cfg.microbatch_size, len(rollouts))
        accum = math.ceil(n / micro)
        old = batch_log_probs(model, batch, micro, rc.temperature)
        ref = batch_log_probs(reference, batch, micro, rc.temperature) if reference is not None else None
        sums = {"loss": 0.0, "token_entropy": 0.0, "clip_fraction": 0.0, "kl": 0.0}
        for _epoch in range(cfg.epochs_per_batch):
            order = torch.randperm(n)
            for i in range(0, n, micro):
                idx = order[i : i + micro]
                mask = batch["response_mask"][idx]
                out = get_response_log_probs(
                    model,
                    batch["input_ids"][idx],
                    batch["labels"][idx],
                    return_token_entropy=True,
                    temperature=rc.temperature,
                )
                extra = None
                if ref is not None:
                    kl = kl_per_token(out["log_probs"], ref[idx])
                    extra = cfg.kl_beta * kl
                    sums["kl"] += float(masked_mean(kl.detach(), mask)) / accum / cfg.epochs_per_batch
                loss, meta = grpo_microbatch_train_step(
                    out["log_probs"],
                    mask,
                    accum,
                    loss_part.loss_type,
                    raw_rewards=raw[idx].to(device)[:, None],
                    advantages=advantages[idx].to(device)[:, None],
                    old_log_probs=old[idx],
                    cliprange=cfg.cliprange,
                    length_normalization=loss_part.length_normalization,
                    normalize_constant=float(max_new),
                    extra_per_token_loss=extra,
                )
                sums["loss"] += float(loss) / cfg.epochs_per_batch
                sums["token_entropy"] += (
                    float(masked_mean(out["token_entropy"], mask)) / accum / cfg.epochs_per_batch
                )
                if "clip_fraction" in meta:
                    sums["clip_fraction"] += float(meta["clip_fraction"]) / accum / cfg.epochs_per_batch
            grad_norm, lr = optimizer_step(model, optimizer, cfg.optim, step)
        engine.update_weights(model)
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
    run.logger.close()
    return run.dir
