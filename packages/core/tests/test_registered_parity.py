"""Every registered part that declares ``reference=`` matches it, through its kind's parity check.

The parameters come from the registry, so a third-party part (any installed plugin) that declares a
reference is checked here with no test of its own; a kind with references but no check fails.
"""

import pytest

from lmforge.core.testing import assert_parity, parity_params


def _marked(param):
    kind = param.values[0]
    marks = [pytest.mark.distributed] if kind == "parallel_backend" else []  # forks gloo ranks
    return pytest.param(*param.values, id=param.id, marks=[*param.marks, *marks, pytest.mark.slow])


@pytest.mark.parametrize("kind, name", [_marked(p) for p in parity_params()])
def test_registered_part_matches_its_reference(kind, name):
    assert_parity(kind, name)
