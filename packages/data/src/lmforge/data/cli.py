"""``lmforge data ...`` commands. Imports of the heavy modules happen inside each command."""

from __future__ import annotations

import json

import click

from lmforge.core.run_options import RunOptions, run_options

from .ablate_cli import ablate_command


@click.group("data")
def data_group() -> None:
    """Web data curation: run pipelines, train classifiers, show stats."""


@data_group.command("run")
@run_options
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
def run_command(run: RunOptions, keep_going: bool, verify_inputs: str) -> None:
    """Run a pipeline: read, extract, filter, dedup, write, tokenize (resumable).

    --config is the pipeline TOML; --resume OUTPUT_DIR continues the run there with its saved config
    (a rerun with the same config resumes too: finished shards are skipped). The steps run on the CPU,
    so --device takes auto or cpu. Exits non-zero naming step, shard and document when a step fails on
    an unexpected error."""
    from lmforge.core import LmforgeError, load_config

    from .pipeline import run_pipeline, saved_config
    from .pipeline_config import PipelineConfig
    from .stats_report import format_table

    run.cpu_only("pipeline steps run on the CPU")
    saved = None
    if isinstance(run.resume, str):  # an output dir on object storage: its saved config is read there
        config = run.config
        saved = None if config else saved_config(run.resume)
    else:
        config = run.config_or_saved("config.toml", "pipeline run")
    if config is None and saved is None:
        raise LmforgeError("give the pipeline with --config FILE (or --resume OUTPUT_DIR)")
    cfg = load_config(PipelineConfig, config, run.overrides, data=saved)
    stats = run_pipeline(cfg, keep_going=keep_going, verify_inputs=verify_inputs)
    click.echo(format_table(stats))
    click.echo(f"stats: {cfg.output_dir}/stats.json")


@data_group.command("stats")
@click.argument("run_dir")  # a folder, its stats.json, or a URL (s3://...)
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


def _label_map(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise click.BadParameter(f"{pair!r}: use FROM=TO, e.g. --map offensive=toxic", param_hint="--map")
        out[source] = target
    return out


@data_group.command("train-classifier")
@click.option("--task", type=click.Choice(["nsfw", "toxic", "quality"]), required=True)
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Labelled text, .csv or .jsonl (optionally .gz). Required for nsfw and toxic; quality without "
    "it trains the built-in demo.",
)
@click.option("--text-column", default="text", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--map", "mapping", multiple=True, help="Label mapping FROM=TO, repeated (every label must be mapped)."
)
@click.option("--name", default=None, help="Model name in the cache folder (default: the task).")
@click.option(
    "--out", default=None, help="Model folder (default: $LMFORGE_DATA_CACHE or ~/.cache/lmforge/data)."
)
@click.option("--held-out", default=0.2, show_default=True, help="Fraction of rows held out for evaluation.")
@click.option("--seed", default=0, show_default=True)
def train_classifier_command(
    task, data_file, text_column, label_column, mapping, name, out, held_out, seed
) -> None:
    """Train a fastText classifier on real labelled data; report held-out per-class precision/recall."""
    from .classifiers import train_classifier

    report = train_classifier(
        task,
        data_file,
        name=name,
        out_dir=out,
        text_column=text_column,
        label_column=label_column,
        label_map=_label_map(mapping),
        held_out=held_out,
        seed=seed,
    )
    click.echo(json.dumps(report, indent=2))


@data_group.command("fetch-model")
@click.argument("name")
def fetch_model_command(name: str) -> None:
    """Download a known external fastText model (dolma-jigsaw-nsfw, dolma-jigsaw-hatespeech,
    dclm-quality) into the cache folder. Needs network."""
    from .classifiers import fetch_model

    click.echo(str(fetch_model(name)))


@data_group.command("fetch-urls")
@click.option("--urls", "urls_file", required=True, help="A file of URLs, one a line (local or a URL).")
@click.option("--out", required=True, help="The WARC to write (.warc.gz; local or s3://...).")
@click.option("--sample", type=int, default=None, help="Fetch a seeded random sample of this many URLs.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--timeout", default=10.0, show_default=True, help="Seconds per request (3x for the whole page)."
)
@click.option("--workers", default=8, show_default=True, help="Concurrent requests.")
def fetch_urls_command(urls_file, out, sample, seed, timeout, workers) -> None:
    """Fetch a URL list into a WARC (A4's positives: the pages Wikipedia cites). Failed URLs (HTTP
    errors, timeouts, refused connections, non-http URLs) are counted by reason, never fatal."""
    from .fetch_urls import fetch_urls, read_url_list

    report = fetch_urls(read_url_list(urls_file, sample, seed), out, timeout=timeout, workers=workers)
    click.echo(json.dumps(report, indent=2))


@data_group.command("quality-examples")
@click.option("--positives", multiple=True, required=True, help="WARC(s) of good pages (label wiki).")
@click.option("--negatives", multiple=True, required=True, help="Crawl WARC(s) to sample from (label cc).")
@click.option("--out", required=True, help="The labelled JSONL to write.")
@click.option(
    "--max-negatives", type=int, default=None, help="Negatives to sample (default: as many as positives)."
)
@click.option("--min-chars", default=200, show_default=True, help="Skip pages with less extracted text.")
@click.option("--extractor", default="resiliparse", show_default=True, help="An html_extractor part.")
@click.option("--seed", default=0, show_default=True)
def quality_examples_command(positives, negatives, out, max_negatives, min_chars, extractor, seed) -> None:
    """Labelled quality examples: extracted positives (wiki) and a sample of crawl pages (cc), for
    `lmforge data train-classifier --task quality --data OUT`."""
    from .quality_examples import quality_examples

    report = quality_examples(
        list(positives),
        list(negatives),
        out,
        max_negatives=max_negatives,
        min_chars=min_chars,
        extractor=extractor,
        seed=seed,
    )
    click.echo(json.dumps(report, indent=2))


data_group.add_command(ablate_command)  # in its own file: ablate_cli.py
