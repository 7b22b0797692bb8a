"""Rotary position embedding: rotate adjacent pairs of query/key features by a position-dependent angle."""

from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Rotates pairs (x[2k], x[2k+1]) by pos * theta^(-2k/d_k).

    cos/sin tables live in non-persistent buffers: they are derived from (theta, d_k, max_seq_len), so
    they follow ``.to(device)`` but stay out of the state dict.
    """

    def __init__(self, theta: float, d_k: int, max_seq_len: int, device=None) -> None:
        super().__init__()
        if d_k % 2:
            raise ValueError(f"RoPE needs an even head dimension, got {d_k}")
        self.theta, self.d_k, self.max_seq_len = theta, d_k, max_seq_len
        inv_freq = theta ** (-torch.arange(0, d_k, 2, device=device, dtype=torch.float64) / d_k)
        angles = torch.arange(max_seq_len, device=device, dtype=torch.float64)[:, None] * inv_freq[None, :]
        self.register_buffer("cos", angles.cos().float(), persistent=False)  # (max_seq_len, d_k/2)
        self.register_buffer("sin", angles.sin().float(), persistent=False)

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor) -> torch.Tensor:
        """x: (..., seq, d_k); token_positions: (..., seq) broadcastable to x's leading dims."""
        cos = self.cos[token_positions]  # (..., seq, d_k/2)
        sin = self.sin[token_positions]
        x_pairs = x.float().unflatten(-1, (-1, 2))
        x_even, x_odd = x_pairs[..., 0], x_pairs[..., 1]
        out = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
        return out.flatten(-2).to(x.dtype)


class NoPosition(nn.Module):
    """No position encoding (the ``none`` ablation, "NoPE"): causal masking alone carries order."""

    def __init__(self, theta: float = 0.0, d_k: int = 0, max_seq_len: int = 0, device=None) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor) -> torch.Tensor:
        return x
