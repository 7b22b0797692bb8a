"""Per-token log-probabilities and entropies of a causal LM, and masked reductions."""

from __future__ import annotations

import torch


def model_logits(model, input_ids: torch.Tensor) -> torch.Tensor:
    """Logits of an lmforge ``TransformerLM`` (returns a tensor) or an HF model (returns ``.logits``)."""
    out = model(input_ids)
    return out if isinstance(out, torch.Tensor) else out.logits


def compute_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) over the last dimension, per token.

    H = logsumexp(z) - sum_i p_i z_i, which never exponentiates a large logit.
    """
    logits = logits.float()
    log_z = torch.logsumexp(logits, dim=-1)
    probs = torch.softmax(logits, dim=-1)
    return log_z - (probs * logits).sum(dim=-1)


def get_response_log_probs(
    model,
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    return_token_entropy: bool = False,
    temperature: float = 1.0,
) -> dict[str, torch.Tensor]:
    """log p(labels[t] | input_ids[:t+1]) for every position, and optionally the token entropy.

    ``temperature`` divides the logits first, so the numbers match a sampler that used the same
    temperature (the rollout engines report processed log-probs).
    """
    logits = model_logits(model, input_ids).float()
    if temperature != 1.0:
        logits = logits / temperature
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    result = {"log_probs": log_probs}
    if return_token_entropy:
        with torch.no_grad():  # a diagnostic, never differentiated
            result["token_entropy"] = compute_entropy(logits)
    return result


def masked_mean(tensor: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``tensor`` over the entries where ``mask`` is true (along ``dim``, or over all)."""
    mask = mask.to(tensor.dtype)
    if dim is None:
        return (tensor * mask).sum() / mask.sum()
    return (tensor * mask).sum(dim=dim) / mask.sum(dim=dim)


def masked_normalize(
    tensor: torch.Tensor, mask: torch.Tensor, normalize_constant: float, dim: int | None = None
) -> torch.Tensor:
    """Sum of ``tensor`` over the mask, divided by a constant (Dr. GRPO's length normalization)."""
    masked = tensor * mask.to(tensor.dtype)
    total = masked.sum() if dim is None else masked.sum(dim=dim)
    return total / normalize_constant
