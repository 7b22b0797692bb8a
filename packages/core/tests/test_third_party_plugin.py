"""Third-party plugins are found through real package metadata (a dist-info with entry_points.txt)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import get_host, get_part, reset_host
from lmforge.core.cli import build_cli

EXAMPLE = Path(__file__).parent / "example_plugin"


def install_dist_info(site: Path, name: str, version: str, entry_points: str) -> None:
    """Lay down what an installer would: the dist-info that importlib.metadata reads."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_host):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    yield tmp_path
    reset_host()


def test_example_plugin_is_discovered_through_its_entry_point(site):
    install_dist_info(site, "lmforge-example", "1.2.3", "[lmforge]\nexample = lmforge_example.plugin\n")
    min_words = get_part("doc_filter", "min_words")
    assert min_words("one two three") is True
    assert min_words("one") == (False, "fewer than 3 words")
    part = get_host().registry.part("doc_filter", "min_words")
    assert (part.package, part.version) == ("lmforge-example", "1.2.3")
    result = CliRunner().invoke(build_cli(), ["hello"])
    assert result.output.strip() == "hello from lmforge-example"


def test_broken_plugin_is_quarantined_and_the_rest_work(site, capsys):
    pkg = site / "lmforge_broken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    install_dist_info(site, "lmforge-broken", "0.0.1", "[lmforge]\nbroken = lmforge_broken.plugin\n")
    install_dist_info(site, "lmforge-example", "1.2.3", "[lmforge]\nexample = lmforge_example.plugin\n")
    host = get_host()
    assert "needs a library" in host.plugins["broken"].error
    assert "plugin 'broken'" in capsys.readouterr().err
    assert get_part("doc_filter", "min_words")("a b c")
    assert get_part("metrics_logger", "jsonl")
    result = CliRunner().invoke(build_cli(), ["plugins"])
    assert "broken plugins" in result.output and "needs a library" in result.output
