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


def _backend(module: str, cls: str, doc: str):
    def factory(**options):
        return _load(f"parallel.{module}", cls)(**options)

    factory.__name__ = factory.__qualname__ = cls
    factory.__doc__ = doc
    return factory


PARALLEL_BACKENDS = {
    "ddp_naive": _backend("backends", "NaiveDDPBackend", "DDP: all-reduce each gradient after backward."),
    "ddp_flat": _backend("backends", "FlatDDPBackend", "DDP: one all-reduce of all gradients, flattened."),
    "ddp_overlap": _backend("backends", "OverlapDDPBackend",
                            "DDP: async per-gradient all-reduce from post-accumulate-grad hooks."),
    "ddp_bucketed": _backend("backends", "BucketedDDPBackend",
                             "DDP: async all-reduce of reverse-order buckets (bucket_size_mb)."),
    "zero1": _backend("backends", "Zero1Backend", "ZeRO-1: optimizer state sharded across ranks."),
    "fsdp": _backend("backends", "FSDPBackend",
                     "Our FSDP: sharded Linear/Embedding weights, all-gather + reduce-scatter."),
    "torch_ddp": _backend("torch_backends", "TorchDDPBackend", "torch DistributedDataParallel."),
    "torch_fsdp2": _backend("torch_backends", "TorchFSDP2Backend", "torch FSDP2 (fully_shard)."),
    "deepspeed": _backend("deepspeed_backend", "DeepSpeedBackend",
                          "DeepSpeed ZeRO stage 1/2/3 (option stage) with our optimizer."),
}
