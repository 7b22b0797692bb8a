"""``metrics_logger`` is a core ``PartRef`` like ``parallel``: a name, or a table with the logger's options,
which reach the logger a run builds; a misspelled option is one ConfigError naming ``metrics_logger``
before any run directory is written."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import ConfigError, JsonlLogger, PartRef, get_host, hookimpl, load_config, read_metrics
from lmforge.core.cli import build_cli
from lmforge.model.train_config import TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import write_tokens  # noqa: E402


class PrefixedLogger(JsonlLogger):
    """A metrics logger with an option: every record carries ``run_label``."""

    def __init__(self, run_dir, start_time_s: float = 0.0, label: str = "") -> None:
        super().__init__(run_dir, start_time_s)
        self.label = label

    def log(self, step: int, **metrics):
        return super().log(step, run_label=self.label, **metrics)


class _TestLogger:
    @hookimpl
    def register_metrics_loggers(self, register):
        register("labelled_test", PrefixedLogger)


@pytest.fixture
def labelled():
    host = get_host()
    assert host.add_plugin(_TestLogger(), "metrics_logger_config_test", "metrics-logger-test-pkg", "1.0")
    yield
    host.remove_plugin("metrics_logger_config_test")


TINY = ["model.vocab_size=61", "model.context_length=16", "model.d_model=32", "model.num_layers=1",
        "model.num_heads=4", "train.batch_size=4", "train.eval_every=2", "train.eval_batches=1",
        "train.max_steps=2", "train.log_every=1", "train.checkpoint_every=2", "schedule.warmup_steps=1",
        "progress=false", "device=cpu"]


def _train(*sets: str):
    return CliRunner().invoke(build_cli(), ["train", *[a for s in sets for a in ("--set", s)]])


def test_a_name_or_a_table():
    assert TrainConfig().metrics_logger == PartRef("jsonl")
    assert TrainConfig(metrics_logger="tensorboard").metrics_logger == PartRef("tensorboard")
    table = load_config(TrainConfig, data={"metrics_logger": {"name": "labelled_test", "label": "a"}})
    by_set = load_config(TrainConfig, overrides=["metrics_logger=labelled_test", "metrics_logger.label=a"])
    assert table.metrics_logger == by_set.metrics_logger == PartRef("labelled_test", {"label": "a"})


def test_options_reach_the_logger_and_are_saved_with_the_run(tmp_path, labelled):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    result = _train(*TINY, f"data.train_path={tokens}", f"run_dir={run}", "metrics_logger=labelled_test",
                    "metrics_logger.label=exp7")
    assert result.exit_code == 0, result.output
    records = read_metrics(run)
    assert records and all(r["run_label"] == "exp7" for r in records)
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["metrics_logger"] == {"name": "labelled_test", "label": "exp7"}
    plain = tmp_path / "plain"
    assert _train(*TINY, f"data.train_path={tokens}", f"run_dir={plain}").exit_code == 0
    assert tomllib.loads((plain / "config.toml").read_text())["metrics_logger"] == "jsonl"


@pytest.mark.parametrize("sets, message", [
    (["metrics_logger=labelled_test", "metrics_logger.lable=x"],
     "metrics_logger: metrics_logger 'labelled_test' does not take option(s) lable"),
    (["metrics_logger.flush_every=5"],
     "metrics_logger: metrics_logger 'jsonl' does not take option(s) flush_every"),
    (["metrics_logger=nope"], "unknown metrics_logger 'nope' (metrics_logger)"),
])
def test_a_bad_logger_or_option_fails_before_anything_is_written(tmp_path, labelled, sets, message):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    result = _train(*TINY, f"data.train_path={tokens}", f"run_dir={run}", *sets)
    assert isinstance(result.exception, ConfigError), result.output
    assert message in str(result.exception)
    assert not run.exists()
