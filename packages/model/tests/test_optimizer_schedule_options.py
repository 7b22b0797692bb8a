"""``[optimizer]`` and ``[schedule]`` are core ``PartTable``s: typed common fields (``optimizer.lr``) plus any
option of the part beside its name, which reaches the part ``lmforge train`` builds, is saved flat in the
run's config.toml, comes back on ``--resume``, and is checked before any run directory is written."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from lmforge.core import ConfigError, PartRef, get_host, hookimpl, load_config, read_metrics
from lmforge.core.cli import build_cli
from lmforge.model.accounting import memory_bytes
from lmforge.model.config import ModelConfig
from lmforge.model.train_config import OptimizerConfig, TrainConfig
from lmforge.model.train_setup import optimizer_factory, optimizer_ref

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import write_tokens  # noqa: E402

BUILT: list[dict] = []  # the keywords each recording_sgd was built with


def recording_sgd(params, lr, momentum=0.0, weight_decay=0.0):
    """An SGD that takes no betas or eps, and an option (momentum) the typed fields do not have."""
    BUILT.append({"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def step_decay(it, max_lr, min_lr, warmup_iters, cosine_cycle_iters, drop=0.5):
    """``max_lr * drop ** it``, floored at ``min_lr`` (warm-up and cycle length unused)."""
    return max(min_lr, max_lr * drop ** it)


class _Parts:
    @hookimpl
    def register_optimizers(self, register):
        register("recording_sgd", recording_sgd)

    @hookimpl
    def register_lr_schedules(self, register):
        register("step_decay", step_decay)


@pytest.fixture
def parts():
    host = get_host()
    assert host.add_plugin(_Parts(), "optimizer_options_test", "optimizer-options-test-pkg", "1.0")
    BUILT.clear()
    yield
    host.remove_plugin("optimizer_options_test")


TINY = ["model.vocab_size=61", "model.context_length=16", "model.d_model=32", "model.num_layers=1",
        "model.num_heads=4", "train.batch_size=4", "train.eval_every=2", "train.eval_batches=1",
        "train.max_steps=2", "train.log_every=1", "train.checkpoint_every=2", "progress=false",
        "device=cpu"]
THIRD_PARTY = ["optimizer=recording_sgd", "optimizer.lr=0.2", "optimizer.momentum=0.9",
               "schedule=step_decay", "schedule.drop=0.25", "schedule.min_lr_ratio=0"]


def _train(*args: str, sets=()):
    return CliRunner().invoke(build_cli(), ["train", *args, *[a for s in sets for a in ("--set", s)]])


def test_the_options_reach_the_parts_are_saved_flat_and_come_back_on_resume(tmp_path, parts):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    result = _train(sets=[*TINY, *THIRD_PARTY, f"data.train_path={tokens}", f"run_dir={run}"])
    assert result.exit_code == 0, result.output
    # weight_decay is a typed field recording_sgd takes (the config's 0.1); betas and eps it does not take.
    # (the memory estimate builds one too, at lr 1e-3, with the same options)
    assert [b for b in BUILT if b["lr"] == 0.2] == [{"lr": 0.2, "momentum": 0.9, "weight_decay": 0.1}]
    assert all(b["momentum"] == 0.9 for b in BUILT)
    lrs = [r["lr"] for r in read_metrics(run) if "lr" in r]
    assert lrs == pytest.approx([0.2, 0.05])  # step_decay with drop 0.25, its option
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["optimizer"]["name"] == "recording_sgd" and saved["optimizer"]["momentum"] == 0.9
    assert saved["schedule"] == {"name": "step_decay", "warmup_steps": 100, "min_lr_ratio": 0.0, "drop": 0.25}
    assert "options" not in saved["optimizer"]
    again = load_config(TrainConfig, run / "config.toml")
    assert again.optimizer.options == {"momentum": 0.9} and again.schedule.options == {"drop": 0.25}

    result = _train("--resume", str(run), sets=["train.max_steps=4"])
    assert result.exit_code == 0, result.output
    trainer_builds = [b for b in BUILT if b["lr"] == 0.2]  # rebuilt from the saved table
    assert trainer_builds == [{"lr": 0.2, "momentum": 0.9, "weight_decay": 0.1}] * 2
    lrs = [r["lr"] for r in read_metrics(run) if "lr" in r]
    assert lrs == pytest.approx([0.2 * 0.25 ** i for i in range(4)])


@pytest.mark.parametrize("sets, message", [
    (["optimizer.momentu=0.9"], "optimizer: optimizer 'adamw' does not take option(s)"),
    (["optimizer=recording_sgd", "optimizer.nesterov=true"],
     "optimizer: optimizer 'recording_sgd' does not take option(s)"),
    (["optimizer=recording_sgd", "optimizer.betas=[0.8, 0.9]"],
     "optimizer.betas: optimizer 'recording_sgd' does not take betas"),
    (["schedule.drop=0.5"], "schedule: lr_schedule 'cosine' does not take option(s) drop"),
    (["schedule=step_decay", "schedule.dro=0.5"],
     "schedule: lr_schedule 'step_decay' does not take option(s) dro"),
    (["optimizer.lr=fast"], "optimizer.lr: expected a number, got 'fast'"),
    (["optimizer.options={momentum = 0.9}"], "not under `options`"),
])
def test_a_bad_option_fails_before_anything_is_written(tmp_path, parts, sets, message):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    result = _train(sets=[*TINY, f"data.train_path={tokens}", f"run_dir={run}", *sets])
    assert isinstance(result.exception, ConfigError), result.output
    assert message in str(result.exception)
    assert not run.exists() and BUILT == []


def test_the_built_in_adamw_is_built_as_before():
    cfg = load_config(TrainConfig, overrides=["optimizer.weight_decay=0.05"])
    assert cfg.optimizer == OptimizerConfig(weight_decay=0.05)
    assert optimizer_ref(cfg) == PartRef("adamw", {"betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.05})
    opt = optimizer_factory(cfg)([torch.nn.Parameter(torch.zeros(3))])
    assert opt.defaults["betas"] == (0.9, 0.95) and opt.defaults["weight_decay"] == 0.05


def test_memory_accounting_builds_the_optimizer_with_its_options(parts):
    model = ModelConfig(vocab_size=61, context_length=16, d_model=32, num_layers=1, num_heads=4)
    plain = memory_bytes(model, optimizer="recording_sgd")["optimizer_state"]
    momentum = memory_bytes(model, optimizer=PartRef("recording_sgd", {"momentum": 0.9}))
    assert plain == 0  # SGD without momentum keeps no state
    assert momentum["optimizer_state"] == momentum["weights"]  # one float32 buffer per parameter
