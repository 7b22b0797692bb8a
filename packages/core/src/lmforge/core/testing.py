"""Pytest helpers so each package's suite runs the parity harness over its own kinds.

In a package's tests::

    import pytest
    from lmforge.core.testing import assert_parity, parity_params

    @pytest.mark.parametrize("kind, name", parity_params("norm"))
    def test_norm_parity(kind, name):
        assert_parity(kind, name)

Every registered part of that kind with ``reference=`` becomes one test, third-party parts included.
"""

from __future__ import annotations

from .parity import PASS, check_one
from .plugins import get_registry


def parity_params(kind: str | None = None) -> list:
    """``pytest.param(kind, name, id="kind:name")`` for every part (of ``kind``) declaring a reference."""
    import pytest  # a test helper; pytest is a dev dependency

    registry = get_registry()
    return [pytest.param(p.kind, p.name, id=f"{p.kind}:{p.name}")
            for p in registry if p.reference is not None and p.kind != "parity_check"
            and (kind is None or p.kind == kind)]


def assert_parity(kind: str, name: str) -> None:
    """Fail with the check's detail unless ``name`` matches its declared reference."""
    registry = get_registry()
    part = registry.part(kind, name)
    row = check_one(registry, kind, name, part.reference)
    assert row.verdict == PASS, (f"{kind} {name!r} vs {part.reference!r}: {row.verdict} "
                                 f"(max error {row.max_error}, tolerance {row.tolerance}) {row.detail}")
