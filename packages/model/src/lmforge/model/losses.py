"""Cross-entropy from scratch: log-sum-exp with the max subtracted, so large logits do not overflow."""

from __future__ import annotations

import torch


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int | None = -100,
                  reduction: str = "mean") -> torch.Tensor:
    """Mean negative log-likelihood of ``targets`` under ``logits`` (..., vocab), over any leading dims.

    Targets equal to ``ignore_index`` count for nothing (and not in the mean's denominator).
    ``reduction`` is "mean", "sum" or "none" (per-position losses, 0 where ignored).
    """
    logits = logits.float()  # the log-sum-exp needs float32 even when the model ran in bf16
    maxes = logits.amax(dim=-1, keepdim=True)
    shifted = logits - maxes.detach()
    log_z = torch.log(torch.exp(shifted).sum(dim=-1))
    keep = torch.ones_like(targets, dtype=torch.bool) if ignore_index is None else targets != ignore_index
    safe_targets = torch.where(keep, targets, torch.zeros_like(targets))
    target_logit = shifted.gather(-1, safe_targets.unsqueeze(-1)).squeeze(-1)
    losses = torch.where(keep, log_z - target_logit, torch.zeros_like(log_z))
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    if reduction != "mean":
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return losses.sum() / keep.sum().clamp(min=1)
