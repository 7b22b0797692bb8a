import pytest

from lmforge.core import reset_host


@pytest.fixture
def fresh_host(monkeypatch):
    """A host with only the core plugin (so these tests do not depend on the other packages' state),
    loaded from scratch for this test and forgotten afterwards. Tests that install more plugins add
    their names to LMFORGE_PLUGINS."""
    monkeypatch.setenv("LMFORGE_PLUGINS", "core")
    monkeypatch.delenv("LMFORGE_TRACE", raising=False)
    reset_host()
    yield
    reset_host()
