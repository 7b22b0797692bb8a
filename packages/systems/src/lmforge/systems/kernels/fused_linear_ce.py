"""Fused LM head + cross-entropy: loss = CE(h @ W^T (+ b), targets), chunked over tokens.

The (tokens x vocab) logits never exist at once: each chunk of tokens computes its logits in fp32,
its logsumexp and loss, and immediately the gradient of the loss w.r.t. those logits
(softmax - onehot) / n_valid, from which dh (chunk x d) and a contribution to dW (vocab x d, accumulated
in fp32) follow. Forward therefore already holds the gradients; backward only scales them by the
incoming gradient. Peak extra memory is chunk x vocab instead of tokens x vocab.
"""

from __future__ import annotations

import torch
from torch import nn


class FusedLinearCrossEntropyFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor,
                chunk_size: int = 1024, ignore_index: int = -100):
        shape = h.shape
        h2 = h.reshape(-1, shape[-1])
        t = targets.reshape(-1)
        valid = t != ignore_index
        n_valid = max(int(valid.sum()), 1)
        need_h, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        need_b = bias is not None and ctx.needs_input_grad[2]
        dh = torch.empty_like(h2) if need_h else None
        dw = torch.zeros(weight.shape, device=weight.device, dtype=torch.float32) if need_w else None
        db = torch.zeros(weight.shape[0], device=weight.device, dtype=torch.float32) if need_b else None
        loss = torch.zeros((), device=h.device, dtype=torch.float32)
        for start in range(0, h2.shape[0], chunk_size):
            hc = h2[start:start + chunk_size]
            tc = t[start:start + chunk_size]
            vc = valid[start:start + chunk_size]
            logits = hc.float() @ weight.float().t()
            if bias is not None:
                logits += bias.float()
            lse = torch.logsumexp(logits, dim=-1)
            safe_t = torch.where(vc, tc, 0)
            picked = logits.gather(1, safe_t[:, None]).squeeze(1)
            loss += torch.where(vc, lse - picked, 0.0).sum()
            if need_h or need_w or need_b:
                # reuse the logits buffer for d loss / d logits
                grad = logits.sub_(lse[:, None]).exp_()
                grad[torch.arange(len(tc), device=grad.device), safe_t] -= 1.0
                grad.mul_((vc.float() / n_valid)[:, None])
                if need_h:
                    dh[start:start + chunk_size] = (grad @ weight.float()).to(h.dtype)
                if need_w:
                    dw.addmm_(grad.t(), hc.float())
                if need_b:
                    db += grad.sum(0)
        ctx.save_for_backward(dh, dw, db)
        ctx.shape = shape
        ctx.dtypes = (weight.dtype, None if bias is None else bias.dtype)
        return loss / n_valid

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        dh, dw, db = ctx.saved_tensors
        w_dtype, b_dtype = ctx.dtypes
        g = grad_loss.float()
        out_h = None if dh is None else (dh * g.to(dh.dtype)).reshape(ctx.shape)
        out_w = None if dw is None else (dw * g).to(w_dtype)
        out_b = None if db is None else (db * g).to(b_dtype)
        return out_h, out_w, out_b, None, None, None


def fused_linear_cross_entropy(h: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                               bias: torch.Tensor | None = None, chunk_size: int = 1024,
                               ignore_index: int = -100) -> torch.Tensor:
    """Mean cross-entropy of ``h @ weight.T (+ bias)`` against ``targets`` without materialising logits."""
    return FusedLinearCrossEntropyFunction.apply(h, weight, bias, targets, chunk_size, ignore_index)


class FusedLinearCrossEntropy(nn.Module):
    """An LM head whose forward returns the loss directly: ``head(h, targets) -> mean CE``."""

    def __init__(self, d_model: int, vocab_size: int, chunk_size: int = 1024, device=None, dtype=None):
        super().__init__()
        self.chunk_size = chunk_size
        self.weight = nn.Parameter(torch.empty(vocab_size, d_model, device=device, dtype=dtype))
        nn.init.trunc_normal_(self.weight, std=d_model ** -0.5, a=-3 * d_model ** -0.5, b=3 * d_model ** -0.5)

    def forward(self, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return fused_linear_cross_entropy(h, self.weight, targets, chunk_size=self.chunk_size)
