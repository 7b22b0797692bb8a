"""``lmforge data ...`` commands. Imports of the heavy modules happen inside each command."""

from __future__ import annotations

import json

import click


@click.group("data")
def data_group() -> None:
    """Web data curation: run pipelines, train classifiers, show stats."""


@data_group.command("run")
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Pipeline TOML file."
)
@click.option(
    "--set", "overrides", multiple=True, help="Override a config key, e.g. --set output.format=parquet"
)
@click.option(
    "--keep-going",
    is_flag=True,
    help="When a shard fails, finish the other shards before exiting with the error.",
)
@click.option(
    "--verify-inputs",
    type=click.Choice(["stat", "hash"]),
    default="stat",
    show_default=True,
    help="How a rerun tells that an input changed: size and mtime, or size and SHA-256.",
)
def run_command(config_path: str, overrides: tuple[str, ...], keep_going: bool, verify_inputs: str) -> None:
    """Run a pipeline: read, extract, filter, dedup, write, tokenize (resumable).

    Exits non-zero naming step, shard and document when a step fails on an unexpected error."""
    from lmforge.core import load_config

    from .pipeline import run_pipeline
    from .pipeline_config import PipelineConfig
    from .stats_report import format_table

    cfg = load_config(PipelineConfig, config_path, overrides)
    stats = run_pipeline(cfg, keep_going=keep_going, verify_inputs=verify_inputs)
    click.echo(format_table(stats))
    click.echo(f"stats: {cfg.output_dir}/stats.json")


@data_group.command("stats")
@click.argument("run_dir", type=click.Path(exists=True))
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save histograms of the classifier and language scores to this image.",
)
def stats_command(run_dir: str, plot_path: str | None) -> None:
    """Show the kept / dropped table of a pipeline run (and optionally plot score histograms)."""
    from .stats_report import format_table, load_stats, plot_scores

    stats = load_stats(run_dir)
    click.echo(format_table(stats))
    if plot_path:
        saved = plot_scores(stats, plot_path)
        click.echo(f"histograms: {saved}" if saved else "no scores recorded in this run")


def _train(task: str, out: str | None, seed: int) -> None:
    from .classifiers import train_classifier

    report = train_classifier(task, out, seed=seed)
    click.echo(json.dumps(report, indent=2))


_TASK = click.Choice(["nsfw", "toxic", "quality"])


@data_group.command("train-classifier")
@click.option("--task", type=_TASK, required=True)
@click.option(
    "--out", default=None, help="Model folder (default: $LMFORGE_DATA_CACHE or ~/.cache/lmforge/data)."
)
@click.option("--seed", default=0, show_default=True)
def train_classifier_command(task: str, out: str | None, seed: int) -> None:
    """Build labelled data offline, train a fastText classifier, report held-out accuracy."""
    _train(task, out, seed)


def _alias(task: str):
    @click.option("--out", default=None, help="Model folder (default: the cache folder).")
    @click.option("--seed", default=0, show_default=True)
    def command(out: str | None, seed: int) -> None:
        _train(task, out, seed)

    command.__doc__ = f"Same as `train-classifier --task {task}`."
    return command


data_group.command("train-nsfw")(_alias("nsfw"))
data_group.command("train-toxic")(_alias("toxic"))
data_group.command("train-quality")(_alias("quality"))
