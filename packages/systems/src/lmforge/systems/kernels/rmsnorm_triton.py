"""Fused RMSNorm forward and backward in Triton (imported lazily: only when the part is used).

Forward: one program per row; y and the row's 1/rms (fp32) are written. Backward: each program owns a
contiguous slab of rows, writes dx row by row and keeps a running dg partial sum in registers; the
(programs, D) partials are summed afterwards in torch, so no atomics are needed and the result is
deterministic. Any hidden size works: the row is padded to a power of two and masked.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import nn

from .triton_support import check_triton_device, next_power_of_2


@triton.jit
def _rmsnorm_fwd(X, G, Y, RSTD, stride_x, stride_y, D, eps, BLOCK_D: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)  # row * stride_x passes 2^31 on large inputs in int32
    cols = tl.arange(0, BLOCK_D)
    mask = cols < D
    x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(G + cols, mask=mask, other=0.0).to(tl.float32)
    rstd = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / D + eps)
    tl.store(RSTD + row, rstd)
    tl.store(Y + row * stride_y + cols, (x * rstd * g).to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _rmsnorm_bwd(DY, X, G, RSTD, DX, DG_PARTIAL, stride_dy, stride_x, stride_dx, n_rows, D,
                 rows_per_program, BLOCK_D: tl.constexpr):
    pid = tl.program_id(0).to(tl.int64)  # so row and row * stride are int64 (see _rmsnorm_fwd)
    cols = tl.arange(0, BLOCK_D)
    mask = cols < D
    g = tl.load(G + cols, mask=mask, other=0.0).to(tl.float32)
    dg = tl.zeros([BLOCK_D], dtype=tl.float32)
    row_start = pid * rows_per_program
    row_end = tl.minimum(row_start + rows_per_program, n_rows)
    for row in range(row_start, row_end):
        x = tl.load(X + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(DY + row * stride_dy + cols, mask=mask, other=0.0).to(tl.float32)
        rstd = tl.load(RSTD + row)
        xhat = x * rstd
        u = dy * g
        c = tl.sum(u * xhat, axis=0) / D
        tl.store(DX + row * stride_dx + cols, (rstd * (u - xhat * c)).to(DX.dtype.element_ty), mask=mask)
        dg += dy * xhat
    tl.store(DG_PARTIAL + pid * D + cols, dg, mask=mask)


def _launch_config(D: int) -> tuple[int, int]:
    block = next_power_of_2(D)
    warps = 4 if block <= 1024 else 8 if block <= 4096 else 16
    return block, warps


def _num_programs(n_rows: int, device: torch.device) -> int:
    if device.type == "cuda":
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        return max(1, min(n_rows, 4 * sms))
    return max(1, min(n_rows, 4))


def rmsnorm_triton_forward(x2: torch.Tensor, g: torch.Tensor, eps: float):
    n_rows, D = x2.shape
    y = torch.empty_like(x2)
    rstd = torch.empty(n_rows, device=x2.device, dtype=torch.float32)
    block, warps = _launch_config(D)
    _rmsnorm_fwd[(n_rows,)](x2, g, y, rstd, x2.stride(0), y.stride(0), D, eps, BLOCK_D=block, num_warps=warps)
    return y, rstd


def rmsnorm_triton_backward(dy2: torch.Tensor, x2: torch.Tensor, g: torch.Tensor, rstd: torch.Tensor):
    n_rows, D = x2.shape
    dx = torch.empty_like(x2)
    programs = _num_programs(n_rows, x2.device)
    rows_per_program = triton.cdiv(n_rows, programs)
    programs = triton.cdiv(n_rows, rows_per_program)
    partial = torch.empty(programs, D, device=x2.device, dtype=torch.float32)
    block, warps = _launch_config(D)
    _rmsnorm_bwd[(programs,)](dy2, x2, g, rstd, dx, partial, dy2.stride(0), x2.stride(0), dx.stride(0),
                              n_rows, D, rows_per_program, BLOCK_D=block, num_warps=warps)
    return dx, partial.sum(0)


class RMSNormTritonFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, g: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
        check_triton_device(x, g)
        shape = x.shape
        x2 = x.reshape(-1, shape[-1]).contiguous()
        y, rstd = rmsnorm_triton_forward(x2, g.contiguous(), eps)
        ctx.save_for_backward(x2, g, rstd)
        return y.view(shape)

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x2, g, rstd = ctx.saved_tensors
        dy2 = dy.reshape(-1, x2.shape[-1]).contiguous()
        dx, dg = rmsnorm_triton_backward(dy2, x2, g.contiguous(), rstd)
        return dx.view(dy.shape), dg.to(g.dtype), None


class RMSNormTriton(nn.Module):
    """RMSNorm with fused Triton forward and backward kernels (parameter named ``weight``)."""

    def __init__(self, d_model: int, eps: float = 1e-5, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return RMSNormTritonFunction.apply(x, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"
