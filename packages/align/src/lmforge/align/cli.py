"""``lmforge align sft|ei|grpo|dpo|demo``: each takes the shared run options (``--config``, ``--set``,
``--resume DIR``, ``--device``; ``--debug`` anywhere)."""

from __future__ import annotations

import click

from lmforge.core.run_options import RunOptions, run_options


@click.group("align")
def align_group() -> None:
    """Alignment: SFT, expert iteration, GRPO and DPO."""


def _load(cls_name: str, run: RunOptions):
    """The config with ``--resume`` and an explicit ``--device`` folded in as ``run.*`` overrides."""
    from lmforge.core import load_config

    from . import config

    overrides = list(run.overrides)
    if run.local_resume("an align run") is not None:
        overrides.insert(0, f"run.resume={run.resume}")
    if click.get_current_context().get_parameter_source("device") is not click.core.ParameterSource.DEFAULT:
        overrides.insert(0, f"run.device={run.device}")  # a --set run.device=... still wins
    return load_config(getattr(config, cls_name), run.config, overrides)


@align_group.command("sft")
@run_options
def sft_command(run: RunOptions) -> None:
    """Supervised fine-tuning on a task's worked responses."""
    from .loops.sft import run_sft

    click.echo(f"run: {run_sft(_load('SFTConfig', run))}")


@align_group.command("ei")
@run_options
def ei_command(run: RunOptions) -> None:
    """Expert iteration: fine-tune on the policy's own correct samples."""
    from .loops.ei import run_ei

    click.echo(f"run: {run_ei(_load('EIConfig', run))}")


@align_group.command("grpo")
@run_options
def grpo_command(run: RunOptions) -> None:
    """Policy-gradient RL with a reward part: GRPO, Dr GRPO or a REINFORCE variant."""
    from .loops.grpo import run_grpo

    click.echo(f"run: {run_grpo(_load('GRPOConfig', run))}")


@align_group.command("dpo")
@run_options
def dpo_command(run: RunOptions) -> None:
    """Direct preference optimization against the frozen starting policy."""
    from .loops.dpo import run_dpo

    click.echo(f"run: {run_dpo(_load('DPOConfig', run))}")


@align_group.command("demo")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set grpo_steps=30 (repeatable).")
def demo_command(config_path, overrides) -> None:
    """SFT then GRPO on the arithmetic task, on CPU: accuracy before and after, and the reward curve."""
    from lmforge.core import load_config

    from .demo import DemoConfig, run_demo

    summary = run_demo(load_config(DemoConfig, config_path, overrides))
    for line in summary.lines():
        click.echo(line)
