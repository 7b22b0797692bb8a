"""AdamW and global gradient-norm clipping, from scratch (only the ``torch.optim.Optimizer`` base)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter), with bias correction.

    Per parameter: m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
    theta <- theta - lr * wd * theta;  theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),
    where m_hat, v_hat are m, v divided by (1 - b^t). Same order of operations as torch.optim.AdamW,
    so the two agree to float rounding over long runs.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"invalid AdamW settings lr={lr} betas={betas} eps={eps} wd={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = state["step"].item()
                m, v = state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - lr * wd)
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                bias1 = 1 - b1 ** t
                bias2_sqrt = math.sqrt(1 - b2 ** t)
                denom = (v.sqrt() / bias2_sqrt).add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias1)
        return loss


def torch_adamw(params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                weight_decay: float = 0.01) -> torch.optim.Optimizer:
    """``torch.optim.AdamW`` with the same keyword arguments as ours (the ``torch_adamw`` part)."""
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                             foreach=False)


@torch.no_grad()
def clip_grad_norm(parameters: Iterable[torch.nn.Parameter], max_norm: float, eps: float = 1e-6) -> float:
    """Scale all gradients so their global L2 norm is at most ``max_norm``; return the norm before.

    Parameters without a gradient are skipped.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.sqrt(sum(g.detach().float().pow(2).sum() for g in grads))
    if max_norm is not None and max_norm > 0:
        scale = (max_norm / (total + eps)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return float(total)
