"""FlashAttention-2 in Triton: forward with online softmax, backward as two kernels (no atomics).

Layout (batch*heads, seq, head_dim). Forward: one program per (query tile, batch*head); it walks key
tiles, and under causal masking stops at the diagonal tile, so fully masked tiles are never loaded;
only tiles crossing the diagonal (or the ragged sequence end) pay for masking. Saves O and the
logsumexp L (fp32). Backward: D = rowsum(dO * O) in torch; one kernel per key tile accumulates dK, dV
over query tiles; another per query tile accumulates dQ over key tiles. Each output tile is owned by one
program, so no atomics are needed. The backward kernels have their own autotuned tile set (BWD_CONFIGS).
Programs sit on one grid axis and compute their (tile, batch*head) in int64, so neither the 65535 limit of
grid axis 1 nor int32 offset overflow past 2^31 elements applies.

Under the CPU interpreter (TRITON_INTERPRET=1) tiles are cast to fp32 right after loading and dots use
input_precision="ieee"; on the GPU fp32 inputs also use "ieee" (parity over speed; bf16 is the fast path).
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from .attention_layout import run_flattened
from .triton_support import check_triton_device, interpreting, next_power_of_2

LOG2E = 1.4426950408889634


@triton.jit
def _tile_and_head(seq, BLOCK: tl.constexpr):
    """(tile, batch*head) of this program on the 1-D grid, in int64: a 2-D grid would cap batch*heads at
    65535 (grid axis 1), and ``bh * stride_b`` passes 2^31 for large tensors if computed in int32."""
    pid = tl.program_id(0).to(tl.int64)
    n_tiles = tl.cdiv(seq, BLOCK)
    return (pid % n_tiles).to(tl.int32), pid // n_tiles


@triton.jit
def _fa2_fwd(Q, K, V, O, L, s_q, s_k, D, offset, scale_log2,
             stride_b, stride_s, k_stride_b, k_stride_s, v_stride_b, v_stride_s, o_stride_b, o_stride_s,
             CAUSAL: tl.constexpr, TO_FP32: tl.constexpr, PRECISION: tl.constexpr,
             BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_m, bh = _tile_and_head(s_q, BLOCK_M)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, BLOCK_D)
    dmask = dims < D
    q = tl.load(Q + bh * stride_b + rows[:, None] * stride_s + dims[None, :],
                mask=(rows[:, None] < s_q) & dmask[None, :], other=0.0)
    if TO_FP32:
        q = q.to(tl.float32)
    m = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    if CAUSAL:
        k_end = tl.minimum(s_k, (pid_m + 1) * BLOCK_M + offset)
    else:
        k_end = s_k
    for k0 in range(0, k_end, BLOCK_N):
        cols = k0 + tl.arange(0, BLOCK_N)
        kv_mask = (cols[:, None] < s_k) & dmask[None, :]
        k = tl.load(K + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], mask=kv_mask, other=0.0)
        v = tl.load(V + bh * v_stride_b + cols[:, None] * v_stride_s + dims[None, :], mask=kv_mask, other=0.0)
        if TO_FP32:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale_log2
        keep = cols[None, :] < s_k
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None] + offset)
        s = tl.where(keep, s, float("-inf"))
        m_new = tl.maximum(m, tl.max(s, axis=1))
        shift = tl.where(m_new == float("-inf"), 0.0, m_new)
        p = tl.exp2(s - shift[:, None])
        alpha = tl.exp2(m - shift)
        l = l * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
        m = m_new
    out = acc / l[:, None]
    tl.store(O + bh * o_stride_b + rows[:, None] * o_stride_s + dims[None, :], out.to(O.dtype.element_ty),
             mask=(rows[:, None] < s_q) & dmask[None, :])
    # L in natural-log units: (m + log2 l) / log2(e)
    tl.store(L + bh * s_q + rows, (m + tl.log2(l)) / 1.4426950408889634, mask=rows < s_q)


@triton.jit
def _fa2_bwd_dkdv(Q, K, V, DO, L, DELTA, DK, DV, s_q, s_k, D, offset, scale,
                  stride_b, stride_s, k_stride_b, k_stride_s,
                  CAUSAL: tl.constexpr, TO_FP32: tl.constexpr, PRECISION: tl.constexpr,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_n, bh = _tile_and_head(s_k, BLOCK_N)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, BLOCK_D)
    dmask = dims < D
    kv_mask = (cols[:, None] < s_k) & dmask[None, :]
    k = tl.load(K + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], mask=kv_mask, other=0.0)
    v = tl.load(V + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], mask=kv_mask, other=0.0)
    if TO_FP32:
        k = k.to(tl.float32)
        v = v.to(tl.float32)
    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    if CAUSAL:
        # query rows before (first key - offset) see none of this tile's keys: skip their tiles
        q_start = tl.maximum(pid_n * BLOCK_N - offset, 0) // BLOCK_M * BLOCK_M
    else:
        q_start = 0
    for q0 in range(q_start, s_q, BLOCK_M):
        rows = q0 + tl.arange(0, BLOCK_M)
        q_mask = (rows[:, None] < s_q) & dmask[None, :]
        q = tl.load(Q + bh * stride_b + rows[:, None] * stride_s + dims[None, :], mask=q_mask, other=0.0)
        do = tl.load(DO + bh * stride_b + rows[:, None] * stride_s + dims[None, :], mask=q_mask, other=0.0)
        if TO_FP32:
            q = q.to(tl.float32)
            do = do.to(tl.float32)
        lse = tl.load(L + bh * s_q + rows, mask=rows < s_q, other=0.0)
        delta = tl.load(DELTA + bh * s_q + rows, mask=rows < s_q, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
        keep = (rows[:, None] < s_q) & (cols[None, :] < s_k)
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None] + offset)
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        dv += tl.dot(tl.trans(p).to(do.dtype), do, input_precision=PRECISION)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None]) * scale
        dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=PRECISION)
    tl.store(DK + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], dk.to(DK.dtype.element_ty),
             mask=kv_mask)
    tl.store(DV + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], dv.to(DV.dtype.element_ty),
             mask=kv_mask)


@triton.jit
def _fa2_bwd_dq(Q, K, V, DO, L, DELTA, DQ, s_q, s_k, D, offset, scale,
                stride_b, stride_s, k_stride_b, k_stride_s,
                CAUSAL: tl.constexpr, TO_FP32: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_m, bh = _tile_and_head(s_q, BLOCK_M)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, BLOCK_D)
    dmask = dims < D
    q_mask = (rows[:, None] < s_q) & dmask[None, :]
    q = tl.load(Q + bh * stride_b + rows[:, None] * stride_s + dims[None, :], mask=q_mask, other=0.0)
    do = tl.load(DO + bh * stride_b + rows[:, None] * stride_s + dims[None, :], mask=q_mask, other=0.0)
    if TO_FP32:
        q = q.to(tl.float32)
        do = do.to(tl.float32)
    lse = tl.load(L + bh * s_q + rows, mask=rows < s_q, other=0.0)
    delta = tl.load(DELTA + bh * s_q + rows, mask=rows < s_q, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    if CAUSAL:
        k_end = tl.minimum(s_k, (pid_m + 1) * BLOCK_M + offset)
    else:
        k_end = s_k
    for k0 in range(0, k_end, BLOCK_N):
        cols = k0 + tl.arange(0, BLOCK_N)
        kv_mask = (cols[:, None] < s_k) & dmask[None, :]
        k = tl.load(K + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], mask=kv_mask, other=0.0)
        v = tl.load(V + bh * k_stride_b + cols[:, None] * k_stride_s + dims[None, :], mask=kv_mask, other=0.0)
        if TO_FP32:
            k = k.to(tl.float32)
            v = v.to(tl.float32)
        s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale
        keep = (rows[:, None] < s_q) & (cols[None, :] < s_k)
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None] + offset)
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (dp - delta[:, None]) * scale
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)
    tl.store(DQ + bh * stride_b + rows[:, None] * stride_s + dims[None, :], dq.to(DQ.dtype.element_ty),
             mask=q_mask)


def _settings(q: torch.Tensor) -> dict:
    """Forward launch settings (fixed per head dim and dtype)."""
    to_fp32 = interpreting()
    # "ieee" is exact fp32 for fp32 inputs and has no effect on bf16/fp16 dots (the fast path)
    precision = "ieee"
    block_d = max(16, next_power_of_2(q.shape[-1]))
    if interpreting():
        bm, bn, warps, stages = 16, 16, 4, 1
    else:
        bm, bn = (128, 64) if block_d <= 64 else (64, 64)
        if q.dtype == torch.float32:
            bm, bn = 64, 32
        warps, stages = (4, 3) if block_d <= 64 else (8, 2)
    return dict(TO_FP32=to_fp32, PRECISION=precision, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=block_d,
                num_warps=warps, num_stages=stages)


# The backward holds q, k, v, dO tiles plus two fp32 accumulators per program: the forward's 128x64 tiles
# with 4 warps spill registers, so it gets its own small set (tiles <= 64, 4-8 warps), tuned per shape.
BWD_CONFIGS = [
    triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=w, num_stages=st)
    for bm, bn, w, st in ((64, 64, 4, 2), (64, 64, 8, 2), (32, 64, 4, 2), (64, 32, 4, 2), (32, 32, 4, 1),
                          (64, 64, 8, 3))
]
_BWD_KEY = ["s_q", "s_k", "D", "CAUSAL", "TO_FP32"]


def _prune_fp32(configs, named_args, **kwargs):
    # exact fp32 dots are register-hungry: keep the small tiles for fp32 inputs
    if named_args["Q"].dtype == torch.float32:
        return [c for c in configs if c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= 2048] or configs[:1]
    return configs


_bwd_dkdv_tuned = triton.autotune(BWD_CONFIGS, key=_BWD_KEY,
                                  prune_configs_by={"early_config_prune": _prune_fp32})(_fa2_bwd_dkdv)
_bwd_dq_tuned = triton.autotune(BWD_CONFIGS, key=_BWD_KEY,
                                prune_configs_by={"early_config_prune": _prune_fp32})(_fa2_bwd_dq)


def flat_grid(n_heads: int, seq: int, block: int) -> tuple[int]:
    """One grid axis holding (tile, batch*head) pairs: no 65535 cap on batch*heads (see _tile_and_head)."""
    return (triton.cdiv(seq, block) * n_heads,)


class FlashAttention2Triton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, is_causal: bool = False):
        check_triton_device(q, k, v)
        q, k, v = (t.contiguous() for t in (q, k, v))
        bh, s_q, d = q.shape
        s_k = k.shape[1]
        assert v.shape[-1] == d, "flash2_triton needs the same head dim for q, k and v"
        cfg = _settings(q)
        o = torch.empty_like(q)
        lse = torch.empty(bh, s_q, device=q.device, dtype=torch.float32)
        _fa2_fwd[flat_grid(bh, s_q, cfg["BLOCK_M"])](
            q, k, v, o, lse, s_q, s_k, d, s_k - s_q, LOG2E / math.sqrt(d),
            q.stride(0), q.stride(1), k.stride(0), k.stride(1), v.stride(0), v.stride(1),
            o.stride(0), o.stride(1), CAUSAL=bool(is_causal), **cfg)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.is_causal = bool(is_causal)
        return o

    @staticmethod
    def backward(ctx, d_out: torch.Tensor):
        q, k, v, o, lse = ctx.saved_tensors
        d_out = d_out.contiguous()
        bh, s_q, d = q.shape
        s_k = k.shape[1]
        fixed = _settings(q)
        delta = (d_out.float() * o.float()).sum(-1)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        common = (s_q, s_k, d, s_k - s_q, 1.0 / math.sqrt(d),
                  q.stride(0), q.stride(1), k.stride(0), k.stride(1))
        flags = dict(CAUSAL=ctx.is_causal, TO_FP32=fixed["TO_FP32"], PRECISION=fixed["PRECISION"],
                     BLOCK_D=fixed["BLOCK_D"])
        if interpreting():  # the interpreter cannot time configs: the fixed interpreter tiles
            dkdv, dq_kernel = _fa2_bwd_dkdv, _fa2_bwd_dq
            flags.update(BLOCK_M=fixed["BLOCK_M"], BLOCK_N=fixed["BLOCK_N"], num_warps=fixed["num_warps"],
                         num_stages=fixed["num_stages"])
        else:
            dkdv, dq_kernel = _bwd_dkdv_tuned, _bwd_dq_tuned
        # the grid depends on the tile size the autotuner picks
        dkdv[lambda meta: flat_grid(bh, s_k, meta["BLOCK_N"])](
            q, k, v, d_out, lse, delta, dk, dv, *common, **flags)
        dq_kernel[lambda meta: flat_grid(bh, s_q, meta["BLOCK_M"])](
            q, k, v, d_out, lse, delta, dq, *common, **flags)
        return dq, dk, dv, None


def flash2_triton(q, k, v, mask=None, is_causal=False):
    """FlashAttention-2 with Triton forward and backward kernels."""
    return run_flattened(FlashAttention2Triton, q, k, v, mask=mask, is_causal=is_causal)
