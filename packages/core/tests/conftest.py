import pytest

from lmforge.core import reset_host


@pytest.fixture
def fresh_host(monkeypatch):
    """A host loaded from scratch for this test, forgotten afterwards."""
    monkeypatch.delenv("LMFORGE_PLUGINS", raising=False)
    monkeypatch.delenv("LMFORGE_TRACE", raising=False)
    reset_host()
    yield
    reset_host()
