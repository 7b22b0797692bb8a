"""FlashAttention-2 as a tiled PyTorch autograd Function (runs anywhere; the reference for the Triton one).

Forward walks key tiles per query tile with an online softmax (running max m, running sum l), so the
full seq x seq score matrix never exists. Only O and the per-row logsumexp L = m + log(l) are saved;
backward recomputes P = exp(S - L) tile by tile, with D = rowsum(dO * O) standing in for the softmax
Jacobian's row term: dS = P * (dO V^T - D).
Causal masking aligns the last query with the last key (same convention as SDPA when s_q == s_k).
"""

from __future__ import annotations

import math

import torch

from .attention_layout import run_flattened

TILE_Q = 64
TILE_K = 64


def _causal_bias(q0: int, k0: int, nq: int, nk: int, offset: int, device) -> torch.Tensor:
    qi = torch.arange(q0, q0 + nq, device=device)[:, None] + offset
    ki = torch.arange(k0, k0 + nk, device=device)[None, :]
    return torch.where(ki > qi, float("-inf"), 0.0)


class FlashAttention2Torch(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, is_causal: bool = False):
        bh, s_q, d = q.shape
        s_k = k.shape[1]
        scale = 1.0 / math.sqrt(d)
        offset = s_k - s_q
        out = torch.empty(bh, s_q, v.shape[-1], device=q.device, dtype=q.dtype)
        lse = torch.empty(bh, s_q, device=q.device, dtype=torch.float32)
        for q0 in range(0, s_q, TILE_Q):
            qt = q[:, q0:q0 + TILE_Q].float()
            nq = qt.shape[1]
            m = torch.full((bh, nq), float("-inf"), device=q.device)
            l = torch.zeros(bh, nq, device=q.device)
            acc = torch.zeros(bh, nq, v.shape[-1], device=q.device)
            k_end = min(s_k, q0 + nq + offset) if is_causal else s_k
            for k0 in range(0, max(k_end, 0), TILE_K):
                kt = k[:, k0:k0 + TILE_K].float()
                s = qt @ kt.transpose(1, 2) * scale
                if is_causal:
                    s = s + _causal_bias(q0, k0, nq, kt.shape[1], offset, q.device)
                m_new = torch.maximum(m, s.amax(-1))
                # rows that have seen only masked keys keep m = -inf; shift by 0 there to avoid nan
                shift = torch.where(torch.isinf(m_new), 0.0, m_new)
                p = torch.exp(s - shift[..., None])
                alpha = torch.exp(m - shift)
                l = alpha * l + p.sum(-1)
                acc = alpha[..., None] * acc + p @ v[:, k0:k0 + TILE_K].float()
                m = m_new
            out[:, q0:q0 + nq] = (acc / l[..., None]).to(q.dtype)
            lse[:, q0:q0 + nq] = m + torch.log(l)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.is_causal = is_causal
        return out

    @staticmethod
    def backward(ctx, d_out: torch.Tensor):
        q, k, v, out, lse = ctx.saved_tensors
        bh, s_q, d = q.shape
        s_k = k.shape[1]
        scale = 1.0 / math.sqrt(d)
        offset = s_k - s_q
        dq = torch.zeros(bh, s_q, d, device=q.device)
        dk = torch.zeros(bh, s_k, d, device=q.device)
        dv = torch.zeros(bh, s_k, v.shape[-1], device=q.device)
        delta = (d_out.float() * out.float()).sum(-1)
        for q0 in range(0, s_q, TILE_Q):
            qt = q[:, q0:q0 + TILE_Q].float()
            dot = d_out[:, q0:q0 + TILE_Q].float()
            nq = qt.shape[1]
            k_end = min(s_k, q0 + nq + offset) if ctx.is_causal else s_k
            for k0 in range(0, max(k_end, 0), TILE_K):
                kt = k[:, k0:k0 + TILE_K].float()
                vt = v[:, k0:k0 + TILE_K].float()
                s = qt @ kt.transpose(1, 2) * scale
                if ctx.is_causal:
                    s = s + _causal_bias(q0, k0, nq, kt.shape[1], offset, q.device)
                p = torch.exp(s - lse[:, q0:q0 + nq, None])
                dv[:, k0:k0 + TILE_K] += p.transpose(1, 2) @ dot
                dp = dot @ vt.transpose(1, 2)
                ds = p * (dp - delta[:, q0:q0 + nq, None]) * scale
                dq[:, q0:q0 + nq] += ds @ kt
                dk[:, k0:k0 + TILE_K] += ds.transpose(1, 2) @ qt
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), None


def flash2_torch(q, k, v, mask=None, is_causal=False):
    """FlashAttention-2, tiled in PyTorch (saves only O and logsumexp)."""
    return run_flattened(FlashAttention2Torch, q, k, v, mask=mask, is_causal=is_causal)
