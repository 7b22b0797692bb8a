"""An attention part: ``fn(q, k, v, mask=None, is_causal=False) -> out`` over (..., seq, d_head)."""

import math

import torch


def plain_softmax_attention(q, k, v, mask=None, is_causal=False):
    """softmax(q k^T / sqrt(d)) v; ``mask`` is True where attending is allowed."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if is_causal:  # top-left aligned, like the reference and torch's is_causal
        causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
        mask = causal if mask is None else mask & causal
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
