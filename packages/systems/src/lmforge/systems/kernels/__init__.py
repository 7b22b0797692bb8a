"""Kernels: RMSNorm, FlashAttention-2 and a fused LM-head cross-entropy, in PyTorch and Triton.

Triton modules are imported only when their part is first used, so the CPU path never needs Triton.
"""
