"""Fused LM head + cross-entropy: loss = CE(h @ W^T (+ b), targets), chunked over tokens.

The (tokens x vocab) logits never exist at once: each chunk of tokens computes its logits, their
logsumexp and loss in fp32, and immediately the gradient of the loss w.r.t. those logits
(softmax - onehot) / n_valid, from which dh (chunk x d) and a contribution to dW (vocab x d) follow.
Forward therefore already holds the gradients; backward only scales them by the incoming gradient.

Precision: the three GEMMs run in the *compute dtype*: autocast's dtype when autocast is on for the
device (as ``h @ W.T`` would), else the promoted dtype of ``h`` and ``W``. The weight is cast to the
compute dtype once per call (no copy when it already has it), never once per chunk. Softmax and the loss
are fp32; dW is accumulated in fp32 across chunks (for a low-precision compute dtype each chunk's
product lands in one reused compute-dtype buffer, then is added), so it is rounded to the weight's dtype
once, at the end. Peak extra memory: the chunk's fp32 logits, one fp32 dW, one compute-dtype buffer of
the weight's size, and dh.
"""

from __future__ import annotations

import torch
from torch import nn


def compute_dtype(h: torch.Tensor, weight: torch.Tensor) -> torch.dtype:
    """The dtype the GEMMs run in: autocast's when it is on for this device, else the promoted one."""
    if torch.is_autocast_enabled(h.device.type):
        return torch.get_autocast_dtype(h.device.type)
    return torch.promote_types(h.dtype, weight.dtype)


class FusedLinearCrossEntropyFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, targets: torch.Tensor,
                chunk_size: int = 1024, ignore_index: int = -100):
        dtype = compute_dtype(h, weight)
        with torch.autocast(h.device.type, enabled=False):
            loss, dh, dw, db = _chunked(h, weight, bias, targets, chunk_size, ignore_index, dtype,
                                        ctx.needs_input_grad)
        ctx.save_for_backward(dh, dw, db)
        ctx.dtypes = (weight.dtype, None if bias is None else bias.dtype)
        return loss

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        dh, dw, db = ctx.saved_tensors
        w_dtype, b_dtype = ctx.dtypes
        g = grad_loss.float()
        out_h = None if dh is None else dh * g.to(dh.dtype)
        out_w = None if dw is None else dw.mul_(g).to(w_dtype)  # dw is ours: scale in place
        out_b = None if db is None else (db * g).to(b_dtype)
        return out_h, out_w, out_b, None, None, None


def _chunked(h, weight, bias, targets, chunk_size, ignore_index, dtype, needs_grad):
    shape = h.shape
    h2 = h.reshape(-1, shape[-1])
    t = targets.reshape(-1)
    valid = t != ignore_index
    n_valid = max(int(valid.sum()), 1)
    need_h, need_w = needs_grad[0], needs_grad[1]
    need_b = bias is not None and needs_grad[2]
    w_c = weight.to(dtype)  # once per call; a no-op when the weight is already in the compute dtype
    dh = torch.empty_like(h2) if need_h else None
    dw = torch.zeros(weight.shape, device=weight.device, dtype=torch.float32) if need_w else None
    # a low-precision chunk product cannot be added into the fp32 dW by addmm_: it goes through one buffer
    dw_chunk = torch.empty(weight.shape, device=weight.device, dtype=dtype) \
        if need_w and dtype != torch.float32 else None
    db = torch.zeros(weight.shape[0], device=weight.device, dtype=torch.float32) if need_b else None
    loss = torch.zeros((), device=h.device, dtype=torch.float32)
    for start in range(0, h2.shape[0], chunk_size):
        hc = h2[start:start + chunk_size].to(dtype)
        tc = t[start:start + chunk_size]
        vc = valid[start:start + chunk_size]
        logits = (hc @ w_c.t()).float()
        if bias is not None:
            logits += bias.float()
        lse = torch.logsumexp(logits, dim=-1)
        safe_t = torch.where(vc, tc, 0)
        picked = logits.gather(1, safe_t[:, None]).squeeze(1)
        loss += torch.where(vc, lse - picked, 0.0).sum()
        if not (need_h or need_w or need_b):
            continue
        # reuse the logits buffer for d loss / d logits
        grad = logits.sub_(lse[:, None]).exp_()
        grad[torch.arange(len(tc), device=grad.device), safe_t] -= 1.0
        grad.mul_((vc.float() / n_valid)[:, None])
        if need_b:
            db += grad.sum(0)
        grad_c = grad.to(dtype)
        if need_h:
            dh[start:start + chunk_size] = (grad_c @ w_c).to(h.dtype)
        if need_w:
            if dw_chunk is None:
                dw.addmm_(grad_c.t(), hc)
            else:
                torch.mm(grad_c.t(), hc, out=dw_chunk)
                dw += dw_chunk
    return loss / n_valid, None if dh is None else dh.reshape(shape), dw, db


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
