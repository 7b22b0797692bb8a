"""``lmforge train`` takes the shared run options: ``--debug`` after the subcommand, ``--device``
(default auto, an explicit one overrides the config file, a ``--set`` wins over it)."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core.cli import build_cli

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import write_tokens  # noqa: E402

TINY = ["model.vocab_size=61", "model.context_length=16", "model.d_model=32", "model.num_layers=1",
        "model.num_heads=4", "train.batch_size=4", "train.eval_every=5", "train.eval_batches=1",
        "schedule.warmup_steps=2", "progress=false", "train.max_steps=2"]


def _sets(items):
    return [a for s in items for a in ("--set", s)]


@pytest.fixture
def captured(monkeypatch):
    """The TrainConfig ``lmforge train`` would train, without training."""
    import lmforge.model.trainer as trainer

    seen = []

    def fake_train(cfg, resume=None, force=False):
        seen.append(cfg)
        return Path("fake-run")

    monkeypatch.setattr(trainer, "train", fake_train)
    return seen


def test_device_defaults_to_auto_and_an_explicit_one_overrides_the_config(tmp_path, captured):
    cli = build_cli()
    assert "[default: auto]" in CliRunner().invoke(cli, ["train", "--help"]).output
    config = tmp_path / "c.toml"
    config.write_text('device = "cpu"\n')
    for args, want in [([], "auto"), (["--config", str(config)], "cpu"),
                       (["--config", str(config), "--device", "cuda:1"], "cuda:1"),
                       (["--device", "cuda", "--set", "device=mps"], "mps")]:
        result = CliRunner().invoke(cli, ["train", *args])
        assert result.exit_code == 0, result.output
        assert captured[-1].device == want, args


def test_debug_after_the_subcommand(tmp_path, captured):
    result = CliRunner().invoke(build_cli(), ["train", "--debug", "--set", "train.max_steps=3"])
    assert result.exit_code == 0, result.output
    assert captured[-1].train.max_steps == 3


def test_train_debug_anywhere_runs_and_shows_tracebacks(tmp_path):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "lmforge.core", "train", "--device", "cpu",
                           *_sets([*TINY, f"data.train_path={tokens}", f"run_dir={run}"]), "--debug"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(run)) and 'device = "cpu"' in (run / "config.toml").read_text()
    # a bad config: one line without --debug, the traceback with it (after the subcommand)
    bad = ["train", *_sets([*TINY, f"data.train_path={tokens}", "model.norm=batchnorm"])]
    quiet = subprocess.run([sys.executable, "-m", "lmforge.core", *bad], capture_output=True, text=True,
                           timeout=120)
    loud = subprocess.run([sys.executable, "-m", "lmforge.core", *bad, "--debug"], capture_output=True,
                          text=True, timeout=120)
    assert quiet.returncode == loud.returncode == 1
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr, loud.stderr
    assert "unknown norm 'batchnorm'" in loud.stderr
