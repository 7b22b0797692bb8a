"""The basic layers, written from first principles (no torch.nn layers, no torch.nn.functional).

Only ``nn.Module`` / ``nn.Parameter`` and tensor arithmetic are used, so every number a model
computes can be traced to a line in this package.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _trunc_normal(shape: tuple[int, ...], std: float, device=None, dtype=None) -> torch.Tensor:
    w = torch.empty(shape, device=device, dtype=dtype)
    # torch.nn.init is plain tensor math (no layer), and gives the truncated normal we want in place
    return nn.init.trunc_normal_(w, mean=0.0, std=std, a=-3 * std, b=3 * std)


class Linear(nn.Module):
    """y = x W^T, no bias; W is (out, in), truncated normal with variance 2/(in+out) cut at 3 sigma."""

    def __init__(self, in_features: int, out_features: int, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        std = math.sqrt(2.0 / (in_features + out_features))
        self.weight = nn.Parameter(_trunc_normal((out_features, in_features), std, device, dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.t()

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class Embedding(nn.Module):
    """A lookup table of (num_embeddings, embedding_dim) vectors, N(0, 1) truncated at +-3."""

    def __init__(self, num_embeddings: int, embedding_dim: int, device=None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = nn.Parameter(_trunc_normal((num_embeddings, embedding_dim), 1.0, device, dtype))

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.weight[token_ids]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * g, in float32 (bf16 squares lose too much), returned in x's dtype."""

    def __init__(self, d_model: int, eps: float = 1e-5, device=None, dtype=None) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_dtype = x.dtype
        x32 = x.float()
        rms = torch.rsqrt(x32.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return (x32 * rms * self.weight.float()).to(in_dtype)


class LayerNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) * g + b over the last dim, in float32; the ``layernorm`` ablation."""

    def __init__(self, d_model: int, eps: float = 1e-5, device=None, dtype=None) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(d_model, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_dtype = x.dtype
        x32 = x.float()
        mean = x32.mean(dim=-1, keepdim=True)
        var = (x32 - mean).pow(2).mean(dim=-1, keepdim=True)
        y = (x32 - mean) * torch.rsqrt(var + self.eps) * self.weight.float() + self.bias.float()
        return y.to(in_dtype)


class NoNorm(nn.Module):
    """The identity: the ``none`` norm ablation (no parameters)."""

    def __init__(self, d_model: int = 0, eps: float = 1e-5, device=None, dtype=None) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def silu(x: torch.Tensor) -> torch.Tensor:
    """x * sigmoid(x)."""
    return x * torch.sigmoid(x)


def softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """exp(x - max) / sum: subtracting the max keeps exp from overflowing for large logits."""
    shifted = x - x.amax(dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)


def default_swiglu_d_ff(d_model: int) -> int:
    """About 8/3 d_model (the SwiGLU width with the parameters of a 4x MLP), a multiple of 64."""
    return max(64, int(round(8 * d_model / 3 / 64)) * 64)


class SwiGLU(nn.Module):
    """FFN(x) = w2(silu(w1 x) * w3 x)."""

    def __init__(self, d_model: int, d_ff: int | None = None, device=None, dtype=None) -> None:
        super().__init__()
        d_ff = d_ff or default_swiglu_d_ff(d_model)
        self.w1 = Linear(d_model, d_ff, device=device, dtype=dtype)
        self.w2 = Linear(d_ff, d_model, device=device, dtype=dtype)
        self.w3 = Linear(d_model, d_ff, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(silu(self.w1(x)) * self.w3(x))


class SiLUMLP(nn.Module):
    """FFN(x) = w2(silu(w1 x)), d_ff = 4 d_model by default: the ungated ablation of SwiGLU."""

    def __init__(self, d_model: int, d_ff: int | None = None, device=None, dtype=None) -> None:
        super().__init__()
        d_ff = d_ff or 4 * d_model
        self.w1 = Linear(d_model, d_ff, device=device, dtype=dtype)
        self.w2 = Linear(d_ff, d_model, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(silu(self.w1(x)))
