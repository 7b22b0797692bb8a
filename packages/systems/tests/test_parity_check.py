"""The parallel_backend parity check: a backend that does not synchronise gradients is caught."""

import pytest

from lmforge.core import get_part
from lmforge.systems.parity_checks import parallel_backend_parity

pytestmark = pytest.mark.distributed


def test_unsynchronised_ranks_fail_the_check():
    single = get_part("parallel_backend", "single")  # no sync: each rank trains on its own half
    result = parallel_backend_parity(single, single)
    assert not result.passed and result.max_error > 1e-3 and result.detail.startswith("largest difference")


def test_a_ddp_backend_passes():
    ddp, single = get_part("parallel_backend", "ddp_flat"), get_part("parallel_backend", "single")
    result = parallel_backend_parity(ddp, single)
    assert result.passed and result.max_error <= result.tolerance == 1e-6
