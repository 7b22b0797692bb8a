"""Shared plumbing for the attention parts: the model's ``fn(q, k, v, mask=None, is_causal=False)``
calling convention on (..., seq, head_dim) tensors, mapped onto a kernel over (batch*heads, seq, dim).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def match_kv_heads(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor):
    """Grouped-query attention: repeat k/v heads (dim -3) so every query head has its own."""
    if q.dim() >= 3 and k.shape[:-2] != q.shape[:-2] and q.shape[-3] % k.shape[-3] == 0:
        rep = q.shape[-3] // k.shape[-3]
        k = k.repeat_interleave(rep, dim=-3)
        v = v.repeat_interleave(rep, dim=-3)
    return k, v


def run_flattened(function, q, k, v, mask=None, is_causal=False):
    """Call ``function.apply(q3, k3, v3, is_causal)`` on (batch*heads, seq, dim) views.

    An explicit mask is not something a FlashAttention kernel takes; such calls go to PyTorch's SDPA
    (a boolean mask keeps positions where it is True, as in the model's reference attention). So does a
    causal call with fewer or more queries than keys: the kernels align the last query with the last
    key, while the reference (and torch) align the first with the first; the model only makes causal
    calls with equal lengths (a KV cache passes an explicit mask), which the kernels take.
    """
    k, v = match_kv_heads(q, k, v)
    s_q, d = q.shape[-2:]
    s_k = k.shape[-2]
    if mask is not None or (is_causal and s_q != s_k):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None and is_causal)
    lead = q.shape[:-2]
    out = function.apply(q.reshape(-1, s_q, d), k.reshape(-1, s_k, d), v.reshape(-1, s_k, v.shape[-1]),
                         bool(is_causal))
    return out.reshape(*lead, s_q, v.shape[-1])
