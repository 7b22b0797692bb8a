"""Attention: the scaled dot-product kernel parts and multi-head self-attention with GQA and RoPE."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .layers import Linear, softmax

AttentionFn = Callable[..., torch.Tensor]


def causal_mask(q_len: int, k_len: int, device=None) -> torch.Tensor:
    """Boolean (q_len, k_len) mask, True = may attend; the last query sees every key (queries are the
    last ``q_len`` positions, as when decoding with a KV cache)."""
    q_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]
    return q_pos >= torch.arange(k_len, device=device)[None, :]


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v over any leading batch dims; ``mask`` is boolean, True = may attend."""
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if is_causal:
        # top-left aligned, like torch's is_causal
        cm = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
        mask = cm if mask is None else (mask & cm)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return softmax(scores, dim=-1).to(v.dtype) @ v


def torch_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
    """PyTorch's fused ``scaled_dot_product_attention`` (flash / memory-efficient kernels)."""
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal and mask is None)


class MultiHeadSelfAttention(nn.Module):
    """Causal multi-head self-attention; ``num_kv_heads < num_heads`` gives grouped-query attention.

    ``rope`` is a position module applied to q and k (``None`` for none). ``attention`` is a kernel
    function ``fn(q, k, v, mask=None, is_causal=False)``.
    """

    def __init__(self, d_model: int, num_heads: int, num_kv_heads: int | None = None,
                 rope: nn.Module | None = None, attention: AttentionFn = scaled_dot_product_attention,
                 device=None, dtype=None) -> None:
        super().__init__()
        num_kv_heads = num_kv_heads or num_heads
        if d_model % num_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        if num_heads % num_kv_heads:
            raise ValueError(f"num_heads ({num_heads}) must be divisible by num_kv_heads ({num_kv_heads})")
        self.d_model, self.num_heads, self.num_kv_heads = d_model, num_heads, num_kv_heads
        self.head_dim = d_model // num_heads
        self.q_proj = Linear(d_model, num_heads * self.head_dim, device=device, dtype=dtype)
        self.k_proj = Linear(d_model, num_kv_heads * self.head_dim, device=device, dtype=dtype)
        self.v_proj = Linear(d_model, num_kv_heads * self.head_dim, device=device, dtype=dtype)
        self.output_proj = Linear(num_heads * self.head_dim, d_model, device=device, dtype=dtype)
        self.rope = rope
        self.attention = attention

    def forward(self, x: torch.Tensor, token_positions: torch.Tensor | None = None,
                kv_cache=None, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (batch..., seq, d_model).

        ``kv_cache``: optional object with ``update(k, v) -> (k_all, v_all)`` holding this layer's past
        keys/values ((batch..., kv_heads, past, head_dim)); new queries then attend to past + new keys.
        ``attn_mask``: optional boolean (..., q_len, k_len) mask (True = may attend) combined with the
        causal mask, e.g. to hide left padding.
        """
        *lead, seq, _ = x.shape
        q = self.q_proj(x).unflatten(-1, (self.num_heads, self.head_dim)).transpose(-3, -2)
        k = self.k_proj(x).unflatten(-1, (self.num_kv_heads, self.head_dim)).transpose(-3, -2)
        v = self.v_proj(x).unflatten(-1, (self.num_kv_heads, self.head_dim)).transpose(-3, -2)
        if self.rope is not None:
            if token_positions is None and kv_cache is not None and kv_cache.length:
                token_positions = torch.arange(kv_cache.length, kv_cache.length + seq, device=x.device)
            pos = None if token_positions is None else token_positions.unsqueeze(-2)  # over the head dim
            q, k = self.rope(q, pos), self.rope(k, pos)
        if kv_cache is not None:
            k, v = kv_cache.update(k, v)
        if self.num_kv_heads != self.num_heads:
            groups = self.num_heads // self.num_kv_heads
            k = k.repeat_interleave(groups, dim=-3)
            v = v.repeat_interleave(groups, dim=-3)
        if kv_cache is None and attn_mask is None:
            out = self.attention(q, k, v, is_causal=True)
        else:
            mask = causal_mask(seq, k.shape[-2], device=x.device)
            if attn_mask is not None:
                mask = mask & attn_mask
            out = self.attention(q, k, v, mask=mask)
        return self.output_proj(out.transpose(-3, -2).flatten(-2))
