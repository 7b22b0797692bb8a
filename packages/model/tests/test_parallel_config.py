"""``parallel`` is a core ``PartRef``: a backend name or a table with its options, from TOML or ``--set``,
built with those options, saved with the run and read back on resume. A misspelled option or the removed
``parallel_options`` key is one ConfigError naming ``parallel`` before any run directory is written."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmforge.core import ConfigError, PartRef, get_host, hookimpl, load_config
from lmforge.core.cli import build_cli
from lmforge.model.parallel import ParallelBackend
from lmforge.model.train_config import TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from trainer_helpers import write_tokens  # noqa: E402

BUILT: list[dict] = []  # the options every TaggedBackend was built with


class TaggedBackend(ParallelBackend):
    """The single-process backend with two options, recorded when it is built."""

    def __init__(self, tag: str = "none", level: int = 1) -> None:
        super().__init__()
        BUILT.append({"tag": tag, "level": level})


class _TestBackend:
    @hookimpl
    def register_parallel_backends(self, register):
        register("tagged_test", TaggedBackend)


@pytest.fixture
def tagged():
    host = get_host()
    assert host.add_plugin(_TestBackend(), "parallel_config_test", "parallel-test-pkg", "1.0")
    BUILT.clear()
    yield
    host.remove_plugin("parallel_config_test")


TINY = ["model.vocab_size=61", "model.context_length=16", "model.d_model=32", "model.num_layers=1",
        "model.num_heads=4", "train.batch_size=4", "train.eval_every=5", "train.eval_batches=1",
        "train.max_steps=2", "train.checkpoint_every=2", "schedule.warmup_steps=1", "progress=false",
        "device=cpu"]


def _train(*sets: str, config: Path | None = None):
    args = ["train", *(["--config", str(config)] if config else [])]
    return CliRunner().invoke(build_cli(), [*args, *[a for s in sets for a in ("--set", s)]])


def test_a_name_a_table_and_set_options_give_the_same_part():
    by_name = load_config(TrainConfig, overrides=["parallel=zero1"])
    assert by_name.parallel == PartRef("zero1")
    table = load_config(TrainConfig, data={"parallel": {"name": "deepspeed", "stage": 3}})
    by_set = load_config(TrainConfig, overrides=["parallel=deepspeed", "parallel.stage=3"])
    set_first = load_config(TrainConfig, overrides=["parallel.stage=3", "parallel=deepspeed"])
    assert table.parallel == by_set.parallel == set_first.parallel == PartRef("deepspeed", {"stage": 3})
    assert TrainConfig(parallel="zero1").parallel == PartRef("zero1")  # code may pass a name
    assert TrainConfig().parallel == PartRef("single")


def test_the_removed_parallel_options_key_points_to_the_new_form():
    for kwargs in ({"data": {"parallel": "deepspeed", "parallel_options": {"stage": 3}}},
                   {"overrides": ["parallel=deepspeed", "parallel_options={stage=3}"]}):
        with pytest.raises(ConfigError, match=r'parallel_options was removed.*parallel = '
                                              r'\{name = "deepspeed", stage = 3\}.*--set parallel\.<option>'):
            load_config(TrainConfig, **kwargs)


def test_options_reach_the_backend_and_are_saved_with_the_run(tmp_path, tagged):
    tokens = write_tokens(tmp_path / "t.bin")
    config = tmp_path / "c.toml"
    config.write_text(f'parallel = {{name = "tagged_test", tag = "toml"}}\n[data]\ntrain_path = "{tokens}"\n')
    run = tmp_path / "run"
    result = _train(*TINY, "parallel.level=3", f"run_dir={run}", config=config)
    assert result.exit_code == 0, result.output
    assert BUILT == [{"tag": "toml", "level": 3}]
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["parallel"] == {"name": "tagged_test", "tag": "toml", "level": 3}
    assert "parallel_options" not in saved
    # the resumed run is built from its saved config: the same options
    result = CliRunner().invoke(build_cli(), ["train", "--resume", str(run), "--set", "train.max_steps=3"])
    assert result.exit_code == 0, result.output
    assert BUILT[-1] == {"tag": "toml", "level": 3}
    # a backend without options is saved as a plain name
    plain = tmp_path / "plain"
    assert _train(*TINY, f"data.train_path={tokens}", f"run_dir={plain}").exit_code == 0
    assert tomllib.loads((plain / "config.toml").read_text())["parallel"] == "single"


@pytest.mark.parametrize("sets, message", [
    (["parallel=tagged_test", "parallel.colour=red"],
     "parallel: parallel_backend 'tagged_test' does not take option(s) colour"),
    (["parallel.bucket_size_mb=5"],
     "parallel: parallel_backend 'single' does not take option(s) bucket_size_mb"),
    (["parallel=nope"], "unknown parallel_backend 'nope' (parallel)"),
    (["parallel_options={level=2}"], "parallel_options was removed"),
])
def test_a_bad_backend_or_option_fails_before_anything_is_written(tmp_path, tagged, sets, message):
    tokens = write_tokens(tmp_path / "t.bin")
    run = tmp_path / "run"
    result = _train(*TINY, f"data.train_path={tokens}", f"run_dir={run}", *sets)
    assert isinstance(result.exception, ConfigError), result.output
    assert message in str(result.exception)
    assert BUILT == [] and not run.exists()
