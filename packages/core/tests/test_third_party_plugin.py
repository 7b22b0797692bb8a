"""The example plugin, installed as a real distribution (uv builds its wheel and installs it into a
throwaway --target folder), is found through its entry point, lists without importing torch, and its
parts meet their contracts and do what they declare."""

import json
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


# The example's three parts through the real commands, in fresh processes that find the plugin the way
# a user's would: installed on the path, every lmforge plugin loaded.

def lmforge(installed: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LMFORGE_PLUGINS"}
    env.update(PYTHONPATH=str(installed), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lmforge.core", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_example_doc_filter_in_lmforge_data_run(installed, tmp_path):
    pytest.importorskip("lmforge.data", reason="needs lmforge-data for `lmforge data run`")
    docs = [("five", "the quick brown fox jumps"), ("two", "hi there"), ("three", "one two three"),
            ("one", "hello")]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs))
    out = tmp_path / "out"
    (tmp_path / "pipeline.toml").write_text(f'''
output_dir = "{out}"
[input]
paths = ["{tmp_path / "in.jsonl"}"]
[[filters]]
name = "min_words"
minimum = 3
[output]
format = "jsonl"
[executor]
name = "local"
workers = 1
progress = false
''')
    proc = lmforge(installed, "data", "run", "--config", str(tmp_path / "pipeline.toml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fewer than 3 words=2" in proc.stdout
    kept = [json.loads(line)["id"] for f in sorted((out / "final").glob("*.jsonl"))
            for line in f.read_text().splitlines()]
    assert kept == ["five", "three"]
    step = next(s for s in json.loads((out / "stats.json").read_text())["steps"]
                if s["step"] == "filter:min_words")
    assert (step["in"], step["kept"], step["dropped"]) == (4, 2, {"fewer than 3 words": 2})


def test_example_attention_in_lmforge_train(installed, tmp_path):
    np = pytest.importorskip("numpy")
    pytest.importorskip("lmforge.model", reason="needs lmforge-model for `lmforge train`")
    tokens = tmp_path / "tokens.bin"
    np.tile(np.arange(50, dtype=np.uint16), 100).tofile(tokens)
    (tmp_path / "tokens.bin.json").write_text(json.dumps({"dtype": "uint16", "count": 5000, "vocab_size": 61,
                                                          "eot_id": None}))
    run = tmp_path / "run"
    sets = ["model.attention=plain_softmax", f"data.train_path={tokens}", "model.vocab_size=61",
            "model.context_length=16", "model.d_model=32", "model.num_layers=1", "model.num_heads=4",
            "train.batch_size=4", "train.max_steps=2", "train.log_every=1", "train.eval_every=2",
            "train.eval_batches=1", "schedule.warmup_steps=1", "progress=false", f"run_dir={run}"]
    proc = lmforge(installed, "train", "--device", "cpu", *[a for s in sets for a in ("--set", s)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith(str(run))
    assert 'attention = "plain_softmax"' in (run / "config.toml").read_text()
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if "train_loss" in r] == [1, 2]
    assert all(r["train_loss"] == r["train_loss"] for r in steps if "train_loss" in r)  # not NaN


def test_example_attention_passes_lmforge_parity(installed):
    pytest.importorskip("lmforge.model", reason="needs lmforge-model (the attention parity check)")
    proc = lmforge(installed, "parity", "attention", "plain_softmax")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line.split() for line in proc.stdout.splitlines() if line.startswith("attention "))
    assert row[1:3] == ["plain_softmax", "reference"] and row[-1] == "pass"
    assert "1 of 1 passed" in proc.stdout


def test_example_rl_loss_passes_lmforge_parity(installed):
    pytest.importorskip("lmforge.align", reason="needs lmforge-align (the rl_loss parity check)")
    proc = lmforge(installed, "parity", "rl_loss")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("rl_loss ")]
    assert [row[1:3] for row in rows] == [["reinforce_example", "reinforce_with_baseline"]]  # the only one
    assert rows[0][-1] == "pass" and "1 of 1 passed" in proc.stdout


def test_example_rl_loss_in_lmforge_align_grpo(installed, tmp_path):
    """Needs the align package's registry-driven loss (issue 11 item 4): the loop calls the part."""
    pytest.importorskip("lmforge.align", reason="needs lmforge-align for `lmforge align grpo`")
    sets = ["loss=reinforce_example", "steps=2", "rollout.group_size=2", "rollout.prompts_per_step=2",
            "rollout.max_new_tokens=8", "microbatch_size=2", "run.eval_every=2", "run.progress=false",
            "policy.model.d_model=16", "policy.model.num_layers=1", "policy.model.num_heads=2",
            "train_size=64", "eval_size=6", "task.max_operand=9", f"run.out={tmp_path}",
            "run.name=example"]
    proc = lmforge(installed, "align", "grpo", "--device", "cpu", *[a for s in sets for a in ("--set", s)],
                   timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = tmp_path / "example"
    assert "reinforce_example" in (run / "config.toml").read_text()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if "reward_mean" in r]
    assert [r["step"] for r in train] == [1, 2] and all(r["loss"] == r["loss"] for r in train)  # not NaN
