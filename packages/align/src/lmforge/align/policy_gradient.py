"""Group-normalized advantages and the policy-gradient losses of REINFORCE, GRPO and Dr. GRPO.

Shapes: log-probs are (batch, seq); rewards and advantages are (batch, 1) so they broadcast over the
tokens of their sequence. Every loss here is per token; the microbatch step reduces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from .logprobs import masked_mean, masked_normalize

LossType = Literal["no_baseline", "reinforce_with_baseline", "grpo_clip", "grpo_no_clip"]


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
    ratio = torch.exp(policy_log_probs - old_log_probs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange) * advantages
    return -torch.minimum(unclipped, clipped), {"clipped": clipped < unclipped, "ratio": ratio.detach()}


def compute_grpo_no_clip_loss(
    advantages: torch.Tensor, policy_log_probs: torch.Tensor, old_log_probs: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The importance-weighted surrogate without clipping: -r A."""
    ratio = torch.exp(policy_log_probs - old_log_probs)
    return -ratio * advantages, {"ratio": ratio.detach()}


def compute_policy_gradient_loss(
    policy_log_probs: torch.Tensor,
    loss_type: LossType,
    raw_rewards: torch.Tensor | None = None,
    advantages: torch.Tensor | None = None,
    old_log_probs: torch.Tensor | None = None,
    cliprange: float | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Dispatch on ``loss_type``; each type checks that the inputs it needs were given."""

    def need(value, name):
        if value is None:
            raise ValueError(f"loss_type {loss_type!r} needs {name}")
        return value

    if loss_type == "no_baseline":
        return compute_naive_policy_gradient_loss(need(raw_rewards, "raw_rewards"), policy_log_probs), {}
    if loss_type == "reinforce_with_baseline":
        return compute_naive_policy_gradient_loss(need(advantages, "advantages"), policy_log_probs), {}
    if loss_type == "grpo_clip":
        return compute_grpo_clip_loss(
            need(advantages, "advantages"),
            policy_log_probs,
            need(old_log_probs, "old_log_probs"),
            need(cliprange, "cliprange"),
        )
    if loss_type == "grpo_no_clip":
        return compute_grpo_no_clip_loss(
            need(advantages, "advantages"), policy_log_probs, need(old_log_probs, "old_log_probs")
        )
    raise ValueError(
        f"unknown loss_type {loss_type!r}; known: no_baseline, reinforce_with_baseline, "
        "grpo_clip, grpo_no_clip"
    )


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
    loss_type: LossType,
    raw_rewards: torch.Tensor | None = None,
    advantages: torch.Tensor | None = None,
    old_log_probs: torch.Tensor | None = None,
    cliprange: float | None = None,
    length_normalization: str = "masked_mean",
    normalize_constant: float | None = None,
    extra_per_token_loss: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Per-token policy-gradient loss, reduced over the response, averaged over the batch,
    divided by the accumulation steps, then backpropagated.

    ``extra_per_token_loss`` (for example beta * KL to a reference model) is added per token before
    the reduction, so it is normalized the same way.
    """
    per_token, metadata = compute_policy_gradient_loss(
        policy_log_probs, loss_type, raw_rewards, advantages, old_log_probs, cliprange
    )
    if extra_per_token_loss is not None:
        per_token = per_token + extra_per_token_loss
    loss = reduce_per_token_loss(per_token, response_mask, length_normalization, normalize_constant)
    loss = loss / gradient_accumulation_steps
    loss.backward()
    if "clipped" in metadata:
        metadata["clip_fraction"] = masked_mean(metadata["clipped"].float(), response_mask).detach()
    return loss.detach(), metadata
