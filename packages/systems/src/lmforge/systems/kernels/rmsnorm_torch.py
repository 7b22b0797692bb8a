"""RMSNorm with a hand-derived backward, as a torch autograd Function.

y = x * r * g with r = 1 / sqrt(mean(x^2) + eps). With xhat = x * r and u = dy * g (per row of size D):
    dx = r * (u - xhat * mean(u * xhat))      (the normalisation couples every element of a row)
    dg = sum over rows of dy * xhat
Only x, g and r (one float per row) are saved, not xhat or y. Math is done in fp32 for bf16 inputs.
"""

from __future__ import annotations

import torch
from torch import nn


def rmsnorm_forward(x: torch.Tensor, g: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (y, rstd) where rstd has x's shape without the last dimension, in fp32."""
    xf = x.float()
    rstd = torch.rsqrt(xf.pow(2).mean(-1) + eps)
    y = (xf * rstd.unsqueeze(-1) * g.float()).to(x.dtype)
    return y, rstd


def rmsnorm_grad_x(dy: torch.Tensor, x: torch.Tensor, g: torch.Tensor, rstd: torch.Tensor) -> torch.Tensor:
    """Gradient of RMSNorm with respect to its input x."""
    r = rstd.unsqueeze(-1)
    xhat = x.float() * r
    u = dy.float() * g.float()
    dx = r * (u - xhat * (u * xhat).mean(-1, keepdim=True))
    return dx.to(x.dtype)


def rmsnorm_grad_g(dy: torch.Tensor, x: torch.Tensor, rstd: torch.Tensor) -> torch.Tensor:
    """Gradient of RMSNorm with respect to its gain g (summed over every leading dimension)."""
    xhat = x.float() * rstd.unsqueeze(-1)
    return (dy.float() * xhat).reshape(-1, x.shape[-1]).sum(0)


class RMSNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, g: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        y, rstd = rmsnorm_forward(x, g, eps)
        ctx.save_for_backward(x, g, rstd)
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x, g, rstd = ctx.saved_tensors
        dx = rmsnorm_grad_x(dy, x, g, rstd) if ctx.needs_input_grad[0] else None
        dg = rmsnorm_grad_g(dy, x, rstd).to(g.dtype) if ctx.needs_input_grad[1] else None
        return dx, dg, None


def rmsnorm(x: torch.Tensor, g: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    return RMSNormFunction.apply(x, g, eps)


class RMSNormTorch(nn.Module):
    """RMSNorm whose backward is the hand-derived one above (parameter named ``weight``)."""

    def __init__(self, d_model: int, eps: float = 1e-5, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return RMSNormFunction.apply(x, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"
