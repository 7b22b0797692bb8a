"""``lmforge recipe run``: web pages -> curated data -> BPE -> compute-optimal LM -> SFT -> GRPO -> eval."""

from __future__ import annotations

import shlex
import sys

import click

SIZES = ("tiny", "laptop", "small", "gpu")


@click.group("recipe")
def recipe_group() -> None:
    """The whole pipeline in one command, with a report card (report.md)."""


@recipe_group.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Recipe TOML (sections: web, data, tokenizer, pretrain, task, sft, grpo, eval).")
@click.option("--size", type=click.Choice(SIZES), default="laptop", show_default=True,
              help="Preset the config starts from.")
@click.option("--from", "from_stage", default=None,
              help="Rerun from this stage: web, data, tokenizer, pretrain, sft, grpo or eval.")
@click.option("--budget", type=float, default=None, help="Pretraining budget in FLOPs, e.g. 1e13.")
@click.option("--minutes", type=float, default=None,
              help="Pretraining budget as minutes of this machine (its FLOP/s is measured first).")
@click.option("--dir", "directory", default=None, help="Recipe directory (default runs/recipe-SIZE).")
@click.option("--set", "overrides", multiple=True, help="Override a key, e.g. --set sft.steps=100")
def run_command(config_path, size, from_stage, budget, minutes, directory, overrides) -> None:
    """Run every stage not already done (reruns skip finished stages) and write report.md."""
    from .config import load_recipe
    from .runner import run_recipe

    cfg = load_recipe(size, config_path, overrides, budget=budget, minutes=minutes, directory=directory)
    run_recipe(cfg, from_stage, command="lmforge " + shlex.join(sys.argv[1:]))
