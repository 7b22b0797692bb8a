"""Group-normalized advantages and the policy-gradient losses of REINFORCE, GRPO and Dr. GRPO.

Shapes: log-probs are (batch, seq); rewards and advantages are (batch, 1) so they broadcast over the
tokens of their sequence. Every loss here is per token; the microbatch step reduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .logprobs import masked_mean, masked_normalize
from .rl_losses import REDUCTIONS


def compute_group_normalized_rewards(
    reward_fn: Callable[[str, str], dict[str, float]],
    rollout_responses: list[str],
    repeated_ground_truths: list[str],
    group_size: int,
    advantage_eps: float,
    normalize_by_std: bool,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Score every response, then subtract its group's mean reward (and divide by std + eps).

    Responses come in consecutive groups of ``group_size`` answers to the same prompt.
    Returns (advantages, raw_rewards, metadata), both tensors of shape (rollout_batch_size,).
    """
    if len(rollout_responses) != len(repeated_ground_truths):
        raise ValueError("one ground truth per response is needed")
    if len(rollout_responses) % group_size:
        raise ValueError(f"{len(rollout_responses)} responses do not split into groups of {group_size}")
    scored = [reward_fn(r, g) for r, g in zip(rollout_responses, repeated_ground_truths)]
    raw = torch.tensor([float(s["reward"]) for s in scored], dtype=torch.float32)
    groups = raw.view(-1, group_size)
    centered = groups - groups.mean(dim=1, keepdim=True)
    if normalize_by_std:
        centered = centered / (groups.std(dim=1, keepdim=True) + advantage_eps)
    metadata: dict[str, float] = {
        "reward_mean": raw.mean().item(),
        "reward_std": raw.std().item() if raw.numel() > 1 else 0.0,
        "reward_max": raw.max().item(),
        "reward_min": raw.min().item(),
    }
    for key in scored[0]:  # every component a reward reports (format_reward, answer_reward, ...)
        if key != "reward":
            metadata[f"reward_{key.removesuffix('_reward')}"] = sum(float(s[key]) for s in scored) / len(
                scored
            )
    return centered.reshape(-1), raw, metadata


def group_advantages(rewards: torch.Tensor, group_size: int, mode: str, eps: float) -> torch.Tensor:
    """Advantages from consecutive groups of ``group_size`` rewards (TRL's ``scale_rewards="group"``).

    ``mode``: ``group_normalized`` (minus the group mean, over the unbiased group std + eps),
    ``group_centered`` (minus the group mean) or ``raw``. A NaN reward (no reward part could score the
    response) is left out of its group's mean and std, and its advantage is 0, as in TRL.
    """
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    if mode == "raw":
        return torch.nan_to_num(rewards, nan=0.0)
    groups = rewards.view(-1, group_size)
    mean = torch.nanmean(groups, dim=1, keepdim=True)
    centered = groups - mean
    if mode == "group_normalized":
        count = (~torch.isnan(groups)).sum(dim=1, keepdim=True)
        var = torch.nanmean(centered**2, dim=1, keepdim=True) * count / (count - 1).clamp(min=1)
        centered = centered / (var.sqrt() + eps)
    elif mode != "group_centered":
        raise ValueError(f"advantage mode must be group_normalized, group_centered or raw, got {mode!r}")
    return torch.nan_to_num(centered, nan=0.0).reshape(-1)


def compute_naive_policy_gradient_loss(
    raw_rewards_or_advantages: torch.Tensor, policy_log_probs: torch.Tensor
) -> torch.Tensor:
    """REINFORCE per token: -A * log pi(token)."""
    return -raw_rewards_or_advantages * policy_log_probs


def compute_grpo_clip_loss(
    advantages: torch.Tensor, policy_log_probs: torch.Tensor, old_log_probs: torch.Tensor, cliprange: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate per token: -min(r A, clip(r, 1-eps, 1+eps) A), r = pi / pi_old.

    ``metadata["clipped"]`` is true where the clipped term was the smaller one (that token's gradient
    is zero).
    """
    from .rl_losses import ClippedSurrogate

    return ClippedSurrogate(epsilon=cliprange)(
        policy_log_probs, advantages=advantages, old_log_probs=old_log_probs, response_mask=None
    )


def compute_policy_gradient_loss(
    policy_log_probs: torch.Tensor,
    loss_type: str,
    raw_rewards: torch.Tensor | None = None,
    advantages: torch.Tensor | None = None,
    old_log_probs: torch.Tensor | None = None,
    cliprange: float | None = None,
    response_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The per-token loss of the registered rl_loss part ``loss_type`` (``cliprange`` is its epsilon).

    The part says whether it reads raw rewards or advantages and old log-probs; a missing input fails.
    """
    from lmforge.core import get_part

    options = {} if cliprange is None else {"epsilon": cliprange}
    loss = get_part("rl_loss", loss_type)(**options)
    wants_raw = getattr(loss, "advantage", "group_normalized") == "raw"
    scores = raw_rewards if wants_raw else advantages
    if scores is None:
        raise ValueError(f"loss_type {loss_type!r} needs {'raw_rewards' if wants_raw else 'advantages'}")
    if loss.uses_old_log_probs and old_log_probs is None:
        raise ValueError(f"loss_type {loss_type!r} needs old_log_probs")
    return call_rl_loss(loss, policy_log_probs, scores, old_log_probs, response_mask)


def call_rl_loss(loss, log_probs, advantages, old_log_probs, response_mask):
    """Call a loss part; one returning a bare tensor is read as (tensor, no metrics)."""
    out = loss(
        log_probs,
        advantages=advantages,
        old_log_probs=old_log_probs if loss.uses_old_log_probs else None,
        response_mask=response_mask,
    )
    per_token, metrics = out if isinstance(out, tuple) else (out, {})
    if per_token.shape != log_probs.shape:
        raise ValueError(
            f"an rl_loss must return one loss per token {tuple(log_probs.shape)}, "
            f"got {tuple(per_token.shape)}"
        )
    return per_token, metrics


@dataclass(frozen=True)
class BatchTotals:
    """What a micro-batch's share of the batch loss is divided by."""

    sequences: int
    tokens: int
    max_new_tokens: int


def microbatch_loss(
    per_token: torch.Tensor, response_mask: torch.Tensor, reduction: str, totals: BatchTotals
) -> torch.Tensor:
    """This micro-batch's share of the batch loss: the shares of all micro-batches add up to the batch
    loss whatever their sizes (an uneven last micro-batch weighs by its sequences, not by 1/steps)."""
    mask = response_mask.to(per_token.dtype)
    summed = per_token * mask
    if reduction == "sequence_mean":
        return (summed.sum(-1) / mask.sum(-1).clamp(min=1.0)).sum() / totals.sequences
    if reduction == "constant":
        return summed.sum() / (totals.max_new_tokens * totals.sequences)
    if reduction == "dapo":
        return summed.sum() / max(1, totals.tokens)
    if reduction == "bnpo":
        return summed.sum() / mask.sum().clamp(min=1.0) * (per_token.shape[0] / totals.sequences)
    raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")


def truncated_importance_weights(
    trainer_log_probs: torch.Tensor, engine_log_probs: torch.Tensor, response_mask: torch.Tensor, cap: float
) -> torch.Tensor:
    """Per-token min(pi_trainer / pi_engine, cap), detached: TRL's ``token_truncate`` correction.

    Tokens were sampled by the engine, whose numerics (dtype, kernels, sampler) differ from the
    trainer's; weighting each token's loss by this ratio makes the gradient the trainer policy's own.
    Outside the response the weight is 1.
    """
    diff = torch.nan_to_num((trainer_log_probs - engine_log_probs) * response_mask, nan=0.0)
    return torch.clamp(torch.exp(diff), max=cap).detach()


def reduce_per_token_loss(
    per_token: torch.Tensor,
    response_mask: torch.Tensor,
    length_normalization: str = "masked_mean",
    normalize_constant: float | None = None,
) -> torch.Tensor:
    """Per-sequence loss (masked mean, or masked sum over a constant), then mean over the batch."""
    if length_normalization == "masked_mean":
        per_sequence = masked_mean(per_token, response_mask, dim=-1)
    elif length_normalization == "constant":
        if not normalize_constant:
            raise ValueError("length_normalization='constant' needs normalize_constant")
        per_sequence = masked_normalize(per_token, response_mask, normalize_constant, dim=-1)
    else:
        raise ValueError(
            f"length_normalization must be 'masked_mean' or 'constant', got {length_normalization!r}"
        )
    return per_sequence.mean()


def grpo_microbatch_train_step(
    policy_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    gradient_accumulation_steps: int,
    loss_type: str,
    raw_rewards: torch.Tensor | None = None,
    advantages: torch.Tensor | None = None,
    old_log_probs: torch.Tensor | None = None,
    cliprange: float | None = None,
    length_normalization: str = "masked_mean",
    normalize_constant: float | None = None,
    extra_per_token_loss: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-token policy-gradient loss, reduced over the response, averaged over the batch,
    divided by the accumulation steps, then backpropagated (the public, equal-micro-batch helper;
    the GRPO loop weighs micro-batches with :func:`microbatch_loss`).

    ``extra_per_token_loss`` (for example beta * KL to a reference model) is added per token before
    the reduction, so it is normalized the same way.
    """
    per_token, metadata = compute_policy_gradient_loss(
        policy_log_probs, loss_type, raw_rewards, advantages, old_log_probs, cliprange, response_mask
    )
    if extra_per_token_loss is not None:
        per_token = per_token + extra_per_token_loss
    loss = reduce_per_token_loss(per_token, response_mask, length_normalization, normalize_constant)
    loss = loss / gradient_accumulation_steps
    loss.backward()
    if "clipped" in metadata:
        metadata["clip_fraction"] = masked_mean(metadata["clipped"].float(), response_mask).detach()
    return loss.detach(), metadata
