"""Supervised fine-tuning on a task's worked responses (the prompt tokens carry no loss)."""

from __future__ import annotations

import random
from pathlib import Path

from lmforge.core import bind_part

from ..config import SFTConfig
from ..engines.factory import make_rollout_engine
from ..logprobs import get_response_log_probs
from ..plotting import plot_run_curves
from ..policy import Policy, load_policy, save_policy
from ..sft_step import sft_microbatch_train_step
from ..tasks.base import Problem, task_problems
from ..tokenization import encode_text, eos_id_of, pack_prompt_and_output_ids, pad_id_of
from .common import (
    check_parts,
    evaluate,
    make_optimizer,
    optimizer_step,
    progress,
    save_checkpoint,
    seed_everything,
    start_run,
)


def sft_batch(policy: Policy, examples: list[tuple[str, str]], device) -> dict:
    """Prompt ids and response ids (+ end of sequence) packed into shifted, masked tensors."""
    tok, eos = policy.tokenizer, eos_id_of(policy.tokenizer)
    prompts = [encode_text(tok, p) for p, _ in examples]
    responses = [encode_text(tok, r) + ([eos] if eos is not None else []) for _, r in examples]
    return {
        k: v.to(device) for k, v in pack_prompt_and_output_ids(prompts, responses, pad_id_of(tok)).items()
    }


def sft_steps(
    policy: Policy,
    optimizer,
    cfg_optim,
    examples: list[tuple[str, str]],
    steps: int,
    batch_size: int,
    grad_accum: int,
    rng: random.Random,
    device,
    first_step: int = 0,
    on_step=None,
    total_steps: int | None = None,
) -> None:
    """``steps`` optimizer steps on random batches of (prompt, response) pairs."""
    micro = max(1, batch_size // grad_accum)
    total_steps = total_steps or first_step + steps  # the schedule's length
    for step in range(first_step, first_step + steps):
        batch_examples = [rng.choice(examples) for _ in range(batch_size)]
        nll, entropy, tokens = 0.0, 0.0, 0
        for start in range(0, batch_size, micro):
            batch = sft_batch(policy, batch_examples[start : start + micro], device)
            out = get_response_log_probs(
                policy.model, batch["input_ids"], batch["labels"], return_token_entropy=True
            )
            mask = batch["response_mask"]
            # per-token mean within the microbatch: normalize by its tokens per sequence
            constant = float(mask.sum()) / mask.shape[0]
            _, meta = sft_microbatch_train_step(
                out["log_probs"], mask, grad_accum, normalize_constant=constant
            )
            n = int(mask.sum())
            nll += float(meta["nll_per_token"]) * n
            entropy += float((out["token_entropy"] * mask).sum())
            tokens += n
        grad_norm, lr = optimizer_step(policy.model, optimizer, cfg_optim, step, total_steps)
        if on_step is not None:
            on_step(
                step + 1,
                {
                    "loss": nll / tokens,
                    "grad_norm": grad_norm,
                    "lr": lr,
                    "token_entropy": entropy / tokens,
                    "response_tokens": tokens,
                },
            )


def check_sft_parts(cfg: SFTConfig) -> None:
    check_parts(cfg, ("reward", cfg.reward, "reward"), ("rollout_engine", cfg.eval_engine, "eval_engine"))


def run_sft(cfg: SFTConfig) -> Path:
    seed_everything(cfg.run.seed, cfg.run.threads)
    check_sft_parts(cfg)  # before the policy loads
    policy = load_policy(cfg.policy, cfg.task.name, cfg.run.device)
    stop_id = eos_id_of(policy.tokenizer)
    train = task_problems(cfg.task, "train", cfg.train_size, cfg.run.seed)
    held_out = task_problems(cfg.task, "eval", cfg.eval_size, cfg.run.seed)
    return train_sft(cfg, policy, train, held_out, stop_id)


def train_sft(cfg: SFTConfig, policy: Policy, train: list[Problem], held_out: list[Problem], stop_id) -> Path:
    check_sft_parts(cfg)
    reward_fn = bind_part("reward", cfg.reward, "reward")
    # the model package's KV-cache engine serves lmforge models; transformers generate serves HF ones
    engine = make_rollout_engine(
        cfg.eval_engine or ("torch" if policy.source == "lmforge" else "hf"), policy.model, "eval_engine"
    )
    optimizer = make_optimizer(policy.model, cfg.optim)
    run = start_run(cfg, cfg.run, "sft", policy, optimizer)
    device = next(policy.model.parameters()).device
    bar = progress(cfg.steps, run.start_step, cfg.run.progress, "sft")

    def do_eval(step: int) -> dict:
        metrics = evaluate(policy, engine, held_out, reward_fn, cfg.eval_max_new_tokens, stop_id)
        run.logger.log(step, **metrics)
        return metrics

    if run.start_step == 0:
        do_eval(0)

    def on_step(step: int, metrics: dict) -> None:
        record = run.logger.log(step, **metrics)
        bar.update(1)
        bar.set_postfix(loss=f"{metrics['loss']:.3f}")
        if step % cfg.run.eval_every == 0 or step == cfg.steps:
            bar.set_postfix(acc=do_eval(step)["eval_accuracy"])
        if step % cfg.run.checkpoint_every == 0 or step == cfg.steps:
            save_checkpoint(run.dir, policy, optimizer, step, record["time_s"])

    rng = random.Random(cfg.run.seed * 1_000_003 + run.start_step)  # a resumed run draws fresh batches
    examples = [(p.prompt, p.sft_response) for p in train]
    sft_steps(
        policy,
        optimizer,
        cfg.optim,
        examples,
        cfg.steps - run.start_step,
        cfg.batch_size,
        cfg.grad_accum,
        rng,
        device,
        first_step=run.start_step,
        on_step=on_step,
        total_steps=cfg.steps,
    )
    bar.close()
    save_policy(policy, run.dir / "final")
    plot_run_curves(run.dir)
    run.close()
    return run.dir
