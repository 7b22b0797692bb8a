"""The example plugin, installed as a real distribution (uv builds its wheel and installs it into a
throwaway --target folder), is found through its entry point, lists without importing torch, and its
parts meet their contracts and do what they declare."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from lmforge.core import get_host, get_part, reset_host
from lmforge.core.cli import build_cli

EXAMPLE = Path(__file__).parent / "example_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A folder holding the installed example distribution (its code and its dist-info)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv to build and install the example plugin")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([uv, "pip", "install", "--no-deps", "--offline", "--quiet", "--target", str(target),
                    str(EXAMPLE)], check=True, capture_output=True, text=True, timeout=300)
    assert (target / "lmforge_example-1.2.3.dist-info" / "entry_points.txt").is_file()
    return target


def install_dist_info(site: Path, name: str, version: str, entry_points: str) -> None:
    """Lay down what an installer would: the dist-info that importlib.metadata reads."""
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(installed, monkeypatch, fresh_host):
    monkeypatch.setenv("LMFORGE_PLUGINS", "core,example,broken")
    monkeypatch.syspath_prepend(str(installed))
    yield installed
    reset_host()


def test_lmforge_plugins_lists_the_example_without_importing_torch(installed):
    code = ("import sys\nfrom lmforge.core.cli import main\n"
            "try:\n    main(['plugins'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')\n")
    env = {**os.environ, "PYTHONPATH": str(installed), "LMFORGE_PLUGINS": "core,example"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()}
    assert "lmforge-example" in rows[("doc_filter", "min_words")]
    assert "length" in rows[("doc_filter", "min_words")]  # ablation_of column
    assert "reference" in rows[("attention", "plain_softmax")]
    assert "reinforce_with_baseline" in rows[("rl_loss", "reinforce_example")]
    assert "broken plugins" not in out
    assert out.strip().splitlines()[-1] == "NO TORCH"


def test_lmforge_plugins_check_passes_for_the_example(installed):
    env = {**os.environ, "PYTHONPATH": str(installed), "LMFORGE_PLUGINS": "core,example"}
    proc = subprocess.run([sys.executable, "-m", "lmforge.core", "plugins", "--check"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "contracts: " in proc.stdout and "parts pass" in proc.stdout


def test_example_parts_meet_their_contracts_and_work(site):
    torch = pytest.importorskip("torch")
    part = get_host().registry.part("doc_filter", "min_words")
    assert (part.package, part.version, part.ablation_of, part.reference) == ("lmforge-example", "1.2.3",
                                                                              "length", None)
    min_words = get_part("doc_filter", "min_words")(minimum=3)  # resolved and contract-checked here
    assert min_words.filter(SimpleNamespace(text="one two three", metadata={})) is True
    assert min_words.filter(SimpleNamespace(text="one", metadata={})) == (False, "fewer than 3 words")

    attention = get_part("attention", "plain_softmax")
    reference = pytest.importorskip("lmforge.model.attention").scaled_dot_product_attention
    gen = torch.Generator().manual_seed(0)
    for (n, m), causal, masked in [((5, 5), True, False), ((3, 7), True, True), ((4, 6), False, True)]:
        q = torch.randn(2, 3, n, 8, generator=gen, requires_grad=True)
        k, v = (torch.randn(2, 3, m, 8, generator=gen, requires_grad=True) for _ in range(2))
        mask = torch.rand(n, m, generator=gen) > 0.3 if masked else None
        if mask is not None:
            mask[:, 0] = True  # every query may attend somewhere
        out = attention(q, k, v, mask=mask, is_causal=causal)
        want = reference(q, k, v, mask=mask, is_causal=causal)
        torch.testing.assert_close(out, want)
        grads = torch.autograd.grad(out.square().sum(), (q, k, v))
        torch.testing.assert_close(grads, torch.autograd.grad(want.square().sum(), (q, k, v)))

    loss = get_part("rl_loss", "reinforce_example")()
    assert loss.uses_old_log_probs is False
    log_probs, adv = torch.randn(4, 6), torch.randn(4, 1)
    per_token, metrics = loss(log_probs, advantages=adv, old_log_probs=None, response_mask=None)
    torch.testing.assert_close(per_token, -adv * log_probs)


def test_example_command_runs(site):
    result = CliRunner().invoke(build_cli(), ["hello"])
    assert result.output.strip() == "hello from lmforge-example"


def test_broken_plugin_is_quarantined_and_the_rest_work(site, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    pkg = tmp_path / "lmforge_broken"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("raise ImportError('needs a library that is not installed')\n")
    install_dist_info(tmp_path, "lmforge-broken", "0.0.1", "[lmforge]\nbroken = lmforge_broken.plugin\n")
    host = get_host()
    assert "needs a library" in host.plugins["broken"].error
    assert "plugin 'broken'" in capsys.readouterr().err
    assert get_part("doc_filter", "min_words")
    assert get_part("metrics_logger", "jsonl")
    result = CliRunner().invoke(build_cli(), ["plugins"])
    assert "broken plugins" in result.output and "needs a library" in result.output
