"""Rotary position embedding: rotate adjacent pairs of query/key features by a position-dependent angle."""

from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Rotates pairs (x[2k], x[2k+1]) by pos * theta^(-2k/d_k).

    The rotation is written as x * cos + swap_pairs(x) * signed_sin, with cos/sin repeated per pair
    (c0 c0 c1 c1 ...) and the sine's sign alternating (-s0 +s0 -s1 +s1 ...): contiguous elementwise
    work instead of strided even/odd slices. The tables live in non-persistent buffers: they are
    derived from (theta, d_k, max_seq_len), follow ``.to(device)`` and stay out of the state dict.
    """

    def __init__(self, theta: float, d_k: int, max_seq_len: int, device=None) -> None:
        super().__init__()
        if d_k % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {d_k}")
        self.theta, self.d_k, self.max_seq_len = theta, d_k, max_seq_len
        inv_freq = theta ** (-torch.arange(0, d_k, 2, device=device, dtype=torch.float64) / d_k)
        angles = torch.arange(max_seq_len, device=device, dtype=torch.float64)[:, None] * inv_freq[None, :]
        sign = torch.tensor([-1.0, 1.0], device=device, dtype=torch.float64).repeat(d_k // 2)
        self.register_buffer("cos", angles.cos().repeat_interleave(2, dim=-1).float(), persistent=False)
        self.register_buffer("sin", (angles.sin().repeat_interleave(2, dim=-1) * sign).float(),
                             persistent=False)  # (max_seq_len, d_k)

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor | None = None) -> torch.Tensor:
        """x: (..., seq, d_k); token_positions: (..., seq) broadcastable to x's leading dims
        (``None`` = 0, 1, ..., seq-1)."""
        if token_positions is None:
            cos, sin = self.cos[: x.shape[-2]], self.sin[: x.shape[-2]]
        else:
            cos, sin = self.cos[token_positions], self.sin[token_positions]
        x32 = x.float()
        swapped = x32.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)  # (x1, x0, x3, x2, ...)
        return (x32 * cos + swapped * sin).to(x.dtype)


class NoPosition(nn.Module):
    """No position encoding (the ``none`` ablation, "NoPE"): causal masking alone carries order."""

    def __init__(self, theta: float = 0.0, d_k: int = 0, max_seq_len: int = 0, device=None) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor | None = None) -> torch.Tensor:
        return x
