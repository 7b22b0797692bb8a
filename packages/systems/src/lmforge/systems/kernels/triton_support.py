"""Small helpers shared by the Triton kernels: interpreter detection and launch sizing."""

from __future__ import annotations

import os

import torch


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def check_triton_device(*tensors: torch.Tensor) -> None:
    """Triton needs CUDA tensors unless the interpreter is on; say so plainly instead of crashing."""
    from lmforge.core import LmforgeError

    if interpreting():
        return
    for t in tensors:
        if t.device.type != "cuda":
            raise LmforgeError(
                f"Triton kernels need CUDA tensors (got {t.device}); set TRITON_INTERPRET=1 to run on CPU"
            )


def next_power_of_2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())
