"""Cheap entry points for the registered parts: each imports its heavy module only when called.

Keeps ``lmforge plugins`` fast and keeps Triton / DeepSpeed out of the import path until used.
"""

from __future__ import annotations

import importlib


def _load(module: str, name: str):
    return getattr(importlib.import_module(f"lmforge.systems.{module}"), name)


def rmsnorm_torch(d_model, eps=1e-5, device=None, dtype=None):
    """RMSNorm as an autograd Function with a hand-derived backward (PyTorch)."""
    return _load("kernels.rmsnorm_torch", "RMSNormTorch")(d_model, eps=eps, device=device, dtype=dtype)


def rmsnorm_triton(d_model, eps=1e-5, device=None, dtype=None):
    """RMSNorm with fused Triton forward and backward kernels."""
    return _load("kernels.rmsnorm_triton", "RMSNormTriton")(d_model, eps=eps, device=device, dtype=dtype)


def flash2_torch(q, k, v, mask=None, is_causal=False):
    """FlashAttention-2, tiled in PyTorch (saves only O and logsumexp)."""
    return _load("kernels.flash2_torch", "flash2_torch")(q, k, v, mask=mask, is_causal=is_causal)


def flash2_triton(q, k, v, mask=None, is_causal=False):
    """FlashAttention-2 with Triton forward and backward kernels."""
    return _load("kernels.flash2_triton", "flash2_triton")(q, k, v, mask=mask, is_causal=is_causal)
