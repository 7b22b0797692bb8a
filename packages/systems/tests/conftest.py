"""Systems tests: Triton kernels run in Triton's CPU interpreter when there is no GPU.

TRITON_INTERPRET must be set before triton is first imported; the workspace's root conftest.py does
that before any test module is collected. Kernel modules are imported inside tests.
"""

import pytest


def _has_triton() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


needs_triton = pytest.mark.skipif(not _has_triton(), reason="triton is not installed")
