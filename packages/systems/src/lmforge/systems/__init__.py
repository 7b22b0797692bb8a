"""lmforge.systems: fused kernels, benchmarks and profiling, data parallelism and sharding.

Public names are loaded lazily so that ``import lmforge.systems`` never imports Triton or DeepSpeed.
"""

from __future__ import annotations

from lmforge.core import lazy_exports

_PUBLIC = {
    "RMSNormFunction": "kernels.rmsnorm_torch",
    "RMSNormTorch": "kernels.rmsnorm_torch",
    "rmsnorm_grad_x": "kernels.rmsnorm_torch",
    "rmsnorm_grad_g": "kernels.rmsnorm_torch",
    "RMSNormTriton": "kernels.rmsnorm_triton",
    "RMSNormTritonFunction": "kernels.rmsnorm_triton",
    "FlashAttention2Torch": "kernels.flash2_torch",
    "flash2_torch": "kernels.flash2_torch",
    "FlashAttention2Triton": "kernels.flash2_triton",
    "flash2_triton": "kernels.flash2_triton",
    "fused_linear_cross_entropy": "kernels.fused_linear_ce",
    "FusedLinearCrossEntropy": "kernels.fused_linear_ce",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
