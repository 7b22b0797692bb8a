"""One SFT microbatch: negative log-likelihood of the response tokens, scaled for accumulation."""

from __future__ import annotations

import torch

from .logprobs import masked_normalize


def sft_microbatch_train_step(
    policy_log_probs: torch.Tensor,
    response_mask: torch.Tensor,
    gradient_accumulation_steps: int,
    normalize_constant: float = 1.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Backpropagate -sum(response log-probs)/normalize_constant, averaged over the batch.

    The loss is divided by ``gradient_accumulation_steps`` so that summing the gradients of that
    many microbatches gives the gradient of their mean.
    """
    per_sequence = -masked_normalize(policy_log_probs, response_mask, normalize_constant, dim=-1)
    loss = per_sequence.mean() / gradient_accumulation_steps
    loss.backward()
    tokens = response_mask.sum()
    metadata = {
        "nll_per_token": (-(policy_log_probs * response_mask).sum() / tokens.clamp(min=1)).detach(),
        "response_tokens": tokens.detach(),
    }
    return loss.detach(), metadata
