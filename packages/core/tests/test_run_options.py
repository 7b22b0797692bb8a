"""The shared run options and --debug anywhere on the command line."""

from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from lmforge.core import LmforgeError
from lmforge.core.cli import strip_debug
from lmforge.core.run_options import RunOptions, run_options


@dataclass
class Cfg:
    lr: float = 1e-3
    steps: int = 10


@click.command("go")
@run_options
@click.option("--name", default="x")
def go(run: RunOptions, name: str) -> None:
    cfg = run.load(Cfg)
    click.echo(f"{name} {cfg.lr} {cfg.steps} {run.resume} {run.device} {run.config}")


def test_defaults():
    result = CliRunner().invoke(go, [])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["x", "0.001", "10", "None", "auto", "None"]


def test_every_option(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("lr = 0.5\nsteps = 3\n")
    result = CliRunner().invoke(go, ["--config", str(config), "--set", "steps=7", "--set", "lr=0.25",
                                     "--resume", str(tmp_path), "--device", "cpu", "--name", "y", "--debug"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["y", "0.25", "7", str(tmp_path), "cpu", str(config)]
    assert "--debug" not in CliRunner().invoke(go, ["--help"]).output  # accepted, not advertised


def test_bad_override_is_a_config_error():
    result = CliRunner().invoke(go, ["--set", "nope=1"])
    assert result.exit_code != 0 and "unknown config key 'nope'" in str(result.exception)


def test_strip_debug_anywhere_but_after_double_dash():
    assert strip_debug(["train", "--debug", "--set", "a=1"]) == (["train", "--set", "a=1"], True)
    assert strip_debug(["--debug", "x"]) == (["x"], True)
    assert strip_debug(["x", "--", "--debug"]) == (["x", "--", "--debug"], False)
    assert RunOptions(None, (), None, "auto").load(Cfg) == Cfg()
    assert isinstance(Path("."), Path)


def test_a_url_resume_stays_a_url_and_local_only_commands_refuse_it(tmp_path):
    result = CliRunner().invoke(go, ["--resume", "s3://bucket/run"])
    assert result.exit_code == 0 and result.output.split()[3] == "s3://bucket/run"  # no folded "s3:/"
    url = RunOptions(None, (), "s3://bucket/run", "auto")
    with pytest.raises(LmforgeError, match=r"--resume s3://bucket/run: training resumes from a local dir"):
        url.local_resume("training")
    with pytest.raises(LmforgeError, match="tokenizer training resumes from a local directory"):
        url.config_or_saved("config.toml", "tokenizer training")
    local = RunOptions(None, (), tmp_path, "auto")
    assert local.local_resume("training") == tmp_path
