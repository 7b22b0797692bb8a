"""``lmforge data ablate``: compare pipelines by the models their outputs train at equal compute.

Pipelines are named two ways, freely mixed:

- ``--pipeline [NAME=]CONFIG.toml``: a whole pipeline config (NAME defaults to the file's stem);
- ``--config BASE.toml --variant NAME[:KEY=VALUE]``: a variant of one base config. ``--variant NAME``
  alone is the base as it is; each ``--variant NAME:KEY=VALUE`` adds one ``--set``-style override to
  the variant NAME, so repeating the NAME stacks overrides (split at the first colon: names hold none).

``--set KEY=VALUE`` applies to every pipeline (e.g. the input paths). Only click is imported here.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from lmforge.core import LmforgeError


def parse_pipelines(pipeline_files: tuple[str, ...], config: Path | None, variants: tuple[str, ...],
                    common: tuple[str, ...]):
    """``--pipeline``, ``--config`` + ``--variant`` and ``--set`` as ``{name: PipelineSpec}``."""
    from .ablate import PipelineSpec

    specs: dict[str, PipelineSpec] = {}

    def add(name: str, spec: PipelineSpec, flag: str) -> None:
        if name in specs:
            raise LmforgeError(f"{flag}: the pipeline name {name!r} is given twice")
        specs[name] = spec

    for item in pipeline_files:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = Path(item).stem, item
        if not name or not path:
            raise LmforgeError(f"--pipeline {item!r}: expected [NAME=]CONFIG.toml")
        if not Path(path).is_file():
            raise LmforgeError(f"--pipeline {item!r}: no such config file {path}")
        add(name, PipelineSpec(Path(path), common), "--pipeline")
    if variants and config is None:
        raise LmforgeError("--variant needs the base pipeline config: give --config BASE.toml")
    stacked: dict[str, list[str]] = {}
    for item in variants:
        name, sep, override = item.partition(":")
        if "=" in name or (sep and "=" not in override):
            raise LmforgeError(f"--variant {item!r}: expected NAME or NAME:KEY=VALUE, "
                               "e.g. --variant long:input.shard_bytes=0")
        stacked.setdefault(name, []).extend([override] if sep else [])
    for name, overrides in stacked.items():
        add(name, PipelineSpec(config, (*common, *overrides)), "--variant")
    return specs


@click.command("ablate")
@click.option("--pipeline", "pipeline_files", multiple=True, metavar="[NAME=]CONFIG.toml",
              help="A pipeline config to compare (repeatable; NAME defaults to the file's stem).")
@click.option("--config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The base pipeline config the --variant pipelines change.")
@click.option("--variant", "variants", multiple=True, metavar="NAME[:KEY=VALUE]",
              help="A variant of --config: NAME alone is the base as is; NAME:KEY=VALUE adds one override "
                   "(repeat the NAME to stack them).")
@click.option("--set", "common", multiple=True, metavar="KEY=VALUE",
              help="An override for every pipeline, e.g. --set 'input.paths=[\"crawl.warc.gz\"]'.")
@click.option("--heldout", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The held-out evaluation text every model is judged on.")
@click.option("--budget", type=float, required=True, help="Training FLOPs of each pipeline's model.")
@click.option("--tokenizer-dir", default=None, type=click.Path(file_okay=False, exists=True),
              help="A saved tokenizer with <|endoftext|> for every output (default: a BPE trained once on "
                   "an equal sample of every output).")
@click.option("--vocab-size", type=int, default=2000, show_default=True, help="Of the trained BPE.")
@click.option("--tokenizer-sample-chars", type=int, default=2_000_000, show_default=True,
              help="Characters the BPE trains on, split equally between the pipelines.")
@click.option("--bpe-trainer", default="python", show_default=True, help="A bpe_trainer part.")
@click.option("--trainer", default="lab", show_default=True,
              help="The ablation_trainer part (lab: lmforge-scaling's equal-FLOPs trainer).")
@click.option("--d-model", type=int, default=64, show_default=True)
@click.option("--num-layers", type=int, default=2, show_default=True)
@click.option("--num-heads", type=int, default=2, show_default=True)
@click.option("--d-ff", type=int, default=None, help="Default: the model package's choice for d_model.")
@click.option("--context-length", type=int, default=64, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--seed", "seeds", type=int, multiple=True, default=(0,), show_default=True,
              help="Init, batch order and held-out batches, the same for every pipeline; repeat to train "
                   "each pipeline once per seed and rank by the mean.")
@click.option("--eval-batches", type=int, default=16, show_default=True, help="Fixed held-out batches.")
@click.option("--device", default="cpu", show_default=True, help="Where the models train.")
@click.option("--ledger", default=None,
              help="A budget ledger for every run (default: one per set of token files and seed).")
@click.option("--total-flops", type=float, default=None, help="Total of a new ledger (default: as needed).")
@click.option("--out", default="data-ablation", show_default=True,
              help="Pipelines, tokenizer, token files, runs, table (data_ablation.json) and plot.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ablate_command(pipeline_files, config, variants, common, heldout, budget, tokenizer_dir, vocab_size,
                   tokenizer_sample_chars, bpe_trainer, trainer, d_model, num_layers, num_heads, d_ff,
                   context_length, batch_size, lr, seeds, eval_batches, device, ledger, total_flops, out,
                   as_json) -> None:
    """Run each pipeline, tokenize every output alike, train one model per output at exactly the same
    FLOPs, and rank the pipelines by held-out bits per byte (with kept tokens and repetition)."""
    from .ablate import run_data_ablation
    from .ablate_report import format_data_ablation

    specs = parse_pipelines(pipeline_files, config, variants, common)
    model = {"context_length": context_length, "d_model": d_model, "num_layers": num_layers,
             "num_heads": num_heads, **({"d_ff": d_ff} if d_ff else {})}
    report = run_data_ablation(
        specs, heldout, budget, out, model, tokenizer_dir=tokenizer_dir, vocab_size=vocab_size,
        sample_chars=tokenizer_sample_chars, bpe_trainer=bpe_trainer, trainer=trainer,
        seeds=seeds, echo=lambda line: click.echo(line, err=as_json), batch_size=batch_size, lr=lr,
        eval_batches=eval_batches, device=device, ledger=ledger, total_flops=total_flops)
    if as_json:
        click.echo(json.dumps(report, indent=1, default=str))
        return
    click.echo(format_data_ablation(report))
    click.echo(f"table: {Path(out) / 'data_ablation.json'}  plot: {report['plot']}")
