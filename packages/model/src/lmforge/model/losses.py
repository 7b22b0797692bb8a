"""Cross-entropy from scratch: log-sum-exp with the max subtracted, so large logits do not overflow.

The forward and backward are written out (a ``torch.autograd.Function``) rather than left to
autograd: autograd would keep three vocabulary-sized tensors per position for backward, this keeps
one (the softmax), which is what makes the LM head's loss as cheap as torch's fused kernel.
"""

from __future__ import annotations

import torch


class _SoftmaxCrossEntropy(torch.autograd.Function):
    """Per-row -log softmax(logits)[target] over (N, V) float logits; rows with keep=0 give 0."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, targets: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        maxes = logits.amax(dim=-1, keepdim=True)
        probs = (logits - maxes).exp_()
        sums = probs.sum(dim=-1, keepdim=True)
        log_z = (sums.log() + maxes).squeeze(-1)
        losses = (log_z - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)) * keep
        probs.div_(sums)
        ctx.save_for_backward(probs, targets, keep)
        return losses

    @staticmethod
    def backward(ctx, grad_losses: torch.Tensor):
        probs, targets, keep = ctx.saved_tensors
        scale = (grad_losses * keep).unsqueeze(-1)
        grad = probs * scale  # d loss / d logits = softmax - onehot(target)
        grad.scatter_add_(-1, targets.unsqueeze(-1), -scale)
        return grad, None, None


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int | None = -100,
                  reduction: str = "mean") -> torch.Tensor:
    """Mean negative log-likelihood of ``targets`` under ``logits`` (..., vocab), over any leading dims.

    Targets equal to ``ignore_index`` count for nothing (and not in the mean's denominator).
    ``reduction`` is "mean", "sum" or "none" (per-position losses, 0 where ignored).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    lead = targets.shape
    flat = logits.reshape(-1, logits.shape[-1]).float()  # the log-sum-exp needs float32 even under bf16
    flat_targets = targets.reshape(-1)
    if ignore_index is None:
        keep = torch.ones_like(flat_targets, dtype=torch.bool)
    else:
        keep = flat_targets != ignore_index
    safe_targets = torch.where(keep, flat_targets, torch.zeros_like(flat_targets))
    losses = _SoftmaxCrossEntropy.apply(flat, safe_targets, keep.to(flat.dtype))
    if reduction == "none":
        return losses.reshape(lead)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / keep.sum().clamp(min=1)
