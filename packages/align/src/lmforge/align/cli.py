"""``lmforge align sft|ei|grpo|dpo|demo``."""

from __future__ import annotations

import click

OVERRIDES = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set rollout.group_size=4 (repeatable).",
)
CONFIG = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, help="TOML config file."
)


@click.group("align")
def align_group() -> None:
    """Alignment: SFT, expert iteration, GRPO and DPO."""


def _load(cls_name: str, config_path, overrides):
    from lmforge.core import load_config

    from . import config

    return load_config(getattr(config, cls_name), config_path, overrides)


@align_group.command("sft")
@CONFIG
@OVERRIDES
def sft_command(config_path, overrides) -> None:
    """Supervised fine-tuning on a task's worked responses."""
    from .loops.sft import run_sft

    click.echo(f"run: {run_sft(_load('SFTConfig', config_path, overrides))}")


@align_group.command("ei")
@CONFIG
@OVERRIDES
def ei_command(config_path, overrides) -> None:
    """Expert iteration: fine-tune on the policy's own correct samples."""
    from .loops.ei import run_ei

    click.echo(f"run: {run_ei(_load('EIConfig', config_path, overrides))}")


@align_group.command("grpo")
@CONFIG
@OVERRIDES
def grpo_command(config_path, overrides) -> None:
    """Policy-gradient RL with a reward part: GRPO, Dr GRPO or a REINFORCE variant."""
    from .loops.grpo import run_grpo

    click.echo(f"run: {run_grpo(_load('GRPOConfig', config_path, overrides))}")


@align_group.command("dpo")
@CONFIG
@OVERRIDES
def dpo_command(config_path, overrides) -> None:
    """Direct preference optimization against the frozen starting policy."""
    from .loops.dpo import run_dpo

    click.echo(f"run: {run_dpo(_load('DPOConfig', config_path, overrides))}")


@align_group.command("demo")
@CONFIG
@OVERRIDES
def demo_command(config_path, overrides) -> None:
    """SFT then GRPO on the arithmetic task, on CPU: accuracy before and after, and the reward curve."""
    from lmforge.core import load_config

    from .demo import DemoConfig, run_demo

    summary = run_demo(load_config(DemoConfig, config_path, overrides))
    for line in summary.lines():
        click.echo(line)
