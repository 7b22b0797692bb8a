"""Systems tests: Triton kernels run in Triton's CPU interpreter when there is no GPU.

TRITON_INTERPRET must be set before any kernel module is imported (``triton.jit`` reads it when it
decorates), so it is set here, at collection time, and kernel modules are imported inside tests.
"""

import os

import pytest


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if not _has_cuda():
    os.environ.setdefault("TRITON_INTERPRET", "1")


def _has_triton() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


needs_triton = pytest.mark.skipif(not _has_triton(), reason="triton is not installed")
