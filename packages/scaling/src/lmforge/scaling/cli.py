"""``lmforge scaling``: fit, predict, plot, sweep, validate, coverage, ablate; serve/keys/client come
from ``service_cli``.

Only click is imported here; the numerical stack loads inside each command.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from lmforge.core import LmforgeError, atomic_write, build_part
from lmforge.core.run_options import RunOptions, run_options

from .service_cli import commands as service_commands  # click only, like this module


def _numbers(values: tuple[str, ...], what: str) -> list[float]:
    """Accept ``--budgets 1e13,1e14`` and repeated ``--budgets 1e13 --budgets 1e14``."""
    out = []
    for v in values:
        for item in v.replace(",", " ").split():
            try:
                out.append(float(item))
            except ValueError:
                raise LmforgeError(f"--{what}: {item!r} is not a number") from None
    return out


def _table(runs: tuple[str, ...], extra: tuple[str, ...] = ()):
    from .table import load_runs

    paths = list(runs) + list(extra)
    if not paths:
        raise LmforgeError("give run files or run directories with --runs PATH...")
    return load_runs(paths)


def _law(fit_path: str | None, runs, extra, method: str, bootstrap: int, level: float, optimum: str):
    from .law import fit_law, load_law

    if fit_path:
        return load_law(fit_path)
    return fit_law(method, _table(runs, extra), bootstrap=bootstrap, level=level, optimum=optimum)


runs_option = click.option("--runs", multiple=True,
                           help="Run file (CSV/JSON/JSONL) or run directory; repeatable.")
method_option = click.option("--method", type=click.Choice(["isoflops", "parametric"]), default="parametric",
                             show_default=True)
fit_options = [
    click.option("--bootstrap", default=200, show_default=True, help="Bootstrap resamples (parametric)."),
    click.option("--level", default=0.95, show_default=True, help="Confidence / prediction level."),
    click.option("--optimum", type=click.Choice(["parabola", "min"]), default="parabola", show_default=True,
                 help="IsoFLOPs optimum per budget: parabola vertex or lowest-loss run."),
]


def with_fit_options(fn):
    for opt in reversed(fit_options):
        fn = opt(fn)
    return fn


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"lmforge: warning: {message}", err=True)


@click.group("scaling")
def scaling_group() -> None:
    """Scaling laws: fit past runs, predict loss, choose compute-optimal models, run budgeted sweeps."""
    import warnings

    warnings.showwarning = _show_warning  # a flagged budget is one line, not a source listing


@scaling_group.command("fit")
@runs_option
@click.argument("paths", nargs=-1)
@method_option
@with_fit_options
@click.option("--out", "out", default=None, help="Save the fit as JSON (for predict --fit).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def fit_command(runs, paths, method, bootstrap, level, optimum, out, as_json):
    """Fit a scaling law to runs and print its constants and exponents with intervals."""
    from .law import fit_law
    from .report import format_summary

    law = fit_law(method, _table(runs, paths), bootstrap=bootstrap, level=level, optimum=optimum)
    if out:
        law.save(out)
    click.echo(json.dumps(law.summary(), indent=1, default=float) if as_json else format_summary(law))
    if out:
        click.echo(f"saved fit to {out}")


@scaling_group.command("predict")
@click.option("--budget", "budgets", multiple=True, required=True, help="Budget(s) in FLOPs, e.g. 1e23.")
@click.option("--fit", "fit_path", default=None, help="A fit saved by `lmforge scaling fit --out`.")
@runs_option
@click.argument("paths", nargs=-1)
@method_option
@with_fit_options
@click.option("--configure", "do_configure", is_flag=True, help="Also print a concrete model shape.")
@click.option("--vocab-size", type=int, default=None)
@click.option("--context-length", type=int, default=None)
def predict_command(budgets, fit_path, runs, paths, method, bootstrap, level, optimum, do_configure,
                    vocab_size, context_length):
    """Compute-optimal N, D and loss (with intervals) for each budget."""
    from .report import format_configuration, format_optimum

    law = _law(fit_path, runs, paths, method, bootstrap, level, optimum)
    for c in _numbers(budgets, "budget"):
        click.echo(format_optimum(law, law.optimal(c)))
        if do_configure:
            click.echo(format_configuration(law.configure(c, vocab_size=vocab_size,
                                                          context_length=context_length)))


@scaling_group.command("plot")
@runs_option
@click.argument("paths", nargs=-1)
@click.option("--out-dir", default="scaling_plots", show_default=True)
@click.option("--bootstrap", default=100, show_default=True)
@click.option("--extrapolate-to", default=1e24, show_default=True, help="Extend N_opt/D_opt lines to here.")
def plot_command(runs, paths, out_dir, bootstrap, extrapolate_to):
    """IsoFLOPs parabolas, N_opt/D_opt vs C with interval bands, iso-loss contours (PNG)."""
    from .plots import plot_all

    for p in plot_all(_table(runs, paths), out_dir, bootstrap=bootstrap, extrapolate_to=extrapolate_to):
        click.echo(f"wrote {p}")


@scaling_group.command("validate")
@runs_option
@click.argument("paths", nargs=-1)
@click.option("--bootstrap", default=200, show_default=True)
@click.option("--level", default=0.95, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def validate_command(runs, paths, bootstrap, level, as_json):
    """Fit on all but the largest budget; predict its best loss and optimal N; is the truth inside?"""
    from .report import format_validation
    from .validate import held_out_check

    result = held_out_check(_table(runs, paths), bootstrap=bootstrap, level=level)
    click.echo(json.dumps(result, indent=1, default=float) if as_json else format_validation(result))


@scaling_group.command("coverage")
@click.option("--seeds", default=20, show_default=True)
@click.option("--noise", default=0.01, show_default=True, help="Std of log loss noise.")
@click.option("--bootstrap", default=100, show_default=True)
@click.option("--level", default=0.95, show_default=True)
@click.option("--out", default=None, help="Also write the result as JSON here.")
def coverage_command(seeds, noise, bootstrap, level, out):
    """How often the intervals contain the truth, over repeated noisy draws of a known law."""
    from .coverage import measure_coverage
    from .report import format_coverage

    result = measure_coverage(seeds=seeds, noise=noise, bootstrap=bootstrap, level=level)
    click.echo(format_coverage(result))
    if out:
        atomic_write(out, json.dumps(result, indent=1))


@scaling_group.command("sweep")
@run_options
@click.option("--budgets", multiple=True, help="FLOPs budgets, e.g. 1e11,3e11,1e12.")
@click.option("--sizes", multiple=True,
              help="Model sizes per budget (a count, default 5), or explicit non-embedding parameter counts.")
@click.option("--span", type=float, default=None, help="Largest / smallest N within a budget (default 16).")
@click.option("--backend", default=None, help="experiment_backend part (default train).")
@click.option("--data", default=None, help="Token file to train on (train backend).")
@click.option("--ledger", default=None, help="Budget ledger (default scaling_ledger.sqlite).")
@click.option("--total-flops", type=float, default=None, help="Total budget of a new ledger.")
@click.option("--out", default=None, help="Run directories and runs.csv (default runs/scaling).")
@click.option("--vocab-size", type=int, default=None, help="Default 256.")
@click.option("--context-length", type=int, default=None, help="Default 64.")
@click.option("--batch-size", type=int, default=None, help="Default 16.")
@click.option("--lr", type=float, default=None, help="Default 3e-3.")
@click.option("--tokens-per-param", type=float, default=None,
              help="Centre of each budget's size range: N = sqrt(C / (6 * this)); default 20.")
@click.option("--noise", type=float, default=None, help="Surrogate backend noise (its default 0.01).")
def sweep_command(run: RunOptions, budgets, sizes, span, backend, data, ledger, total_flops, out, vocab_size,
                  context_length, batch_size, lr, tokens_per_param, noise):
    """IsoFLOPs sweep: a geometric range of N per budget, each trained for exactly its budget.

    The sweep directory (--out) is locked while the sweep runs: a second sweep on it is refused.
    --resume DIR reruns the sweep saved in DIR (its sweep.toml); finished runs come from the ledger."""
    from lmforge.core import PartRef, config_to_toml, load_config, lock_dir

    from .sweep_config import SAVED_NAME, SweepConfig

    resume = run.local_resume("a sweep")
    config_path = run.config or (resume / SAVED_NAME if resume is not None else None)
    cfg = load_config(SweepConfig, config_path, run.overrides)  # --resume DIR: that sweep's config
    flags = {"budgets": _numbers(budgets, "budgets") or None, "sizes": _numbers(sizes, "sizes") or None,
             "span": span, "data": data, "ledger": ledger, "total_flops": total_flops, "out": out,
             "vocab_size": vocab_size, "context_length": context_length, "batch_size": batch_size, "lr": lr,
             "tokens_per_param": tokens_per_param,
             "backend": PartRef(backend, dict(cfg.backend.options) if backend == cfg.backend.name else {})
             if backend else None}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in flags.items() if v is not None})
    if noise is not None:
        cfg.backend.options["noise"] = noise
    if resume is not None:
        cfg.out = str(resume)
    if not cfg.budgets:
        raise LmforgeError("give the budgets: --budgets 1e11,3e11 or budgets = [...] in --config")
    # absolute paths, so that --resume from another folder finds the same ledger and runs
    cfg.out, cfg.ledger = str(Path(cfg.out).resolve()), str(Path(cfg.ledger).resolve())
    with lock_dir(cfg.out, "sweep directory"):
        atomic_write(Path(cfg.out) / SAVED_NAME, config_to_toml(cfg))
        _run_sweep(cfg, run.device)


def _run_sweep(cfg, device: str) -> None:
    from .lab import Lab
    from .sweep import plan_sweep, run_sweep

    plan = plan_sweep(cfg.budgets, cfg.size_spec(), cfg.span, cfg.vocab_size, cfg.context_length,
                      cfg.batch_size, cfg.lr, tokens_per_param=cfg.tokens_per_param)
    supplied = {"data": cfg.data, "device": device, "out": Path(cfg.out) / "runs"} \
        if cfg.backend.name == "train" else {}
    lab = Lab(build_part("experiment_backend", cfg.backend, **supplied), cfg.ledger, cfg.total_flops)
    need = sum(lab.backend.cost(e) for e in plan)
    click.echo(f"{len(plan)} runs, {need:.3g} FLOPs planned; ledger {cfg.ledger}: "
               f"{lab.ledger.remaining():.3g} of {lab.ledger.total:.3g} FLOPs left")
    table = run_sweep(lab, plan)
    runs_csv = Path(cfg.out) / "runs.csv"
    table.drop("experiment", "cached", strict=False).write_csv(runs_csv)
    click.echo(f"{table.height} runs recorded in {runs_csv}; {lab.ledger.remaining():.3g} FLOPs left")


@scaling_group.command("ablate")
@click.option("--pipeline", "pipelines", multiple=True, required=True,
              help="NAME=TOKENS.bin: one pipeline's output token file; give two or more.")
@click.option("--heldout", required=True, help="Held-out evaluation text (or its token file).")
@click.option("--tokenizer-dir", required=True, help="The tokenizer all token files were made with.")
@click.option("--budget", type=float, required=True, help="FLOPs each pipeline's model trains for.")
@click.option("--d-model", type=int, default=64, show_default=True)
@click.option("--num-layers", type=int, default=2, show_default=True)
@click.option("--num-heads", type=int, default=2, show_default=True)
@click.option("--d-ff", type=int, default=None, help="Default: the model package's choice for d_model.")
@click.option("--context-length", type=int, default=64, show_default=True)
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--lr", type=float, default=3e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--eval-batches", type=int, default=16, show_default=True, help="Fixed held-out batches.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--ledger", default=None, help="Budget ledger (default: OUT/ledger.sqlite).")
@click.option("--total-flops", type=float, default=None, help="Total of a new ledger (default: as needed).")
@click.option("--out", default="ablation", show_default=True, help="Runs, table (ablation.json) and plot.")
@click.option("--json", "as_json", is_flag=True)
def ablate_command(pipelines, heldout, tokenizer_dir, budget, d_model, num_layers, num_heads, d_ff,
                   context_length, batch_size, lr, seed, eval_batches, device, ledger, total_flops, out,
                   as_json):
    """Train one model per pipeline output at exactly equal FLOPs; compare held-out bits per byte."""
    from .ablate import format_ablation, run_ablation

    named = {}
    for item in pipelines:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise LmforgeError(f"--pipeline {item!r}: expected NAME=TOKENS.bin")
        if name in named:
            raise LmforgeError(f"--pipeline: the name {name!r} is given twice")
        named[name] = path
    model = {"context_length": context_length, "d_model": d_model, "num_layers": num_layers,
             "num_heads": num_heads, **({"d_ff": d_ff} if d_ff else {})}
    report = run_ablation(named, heldout, tokenizer_dir, budget, model, out, batch_size=batch_size, lr=lr,
                          seed=seed, ledger=ledger, total_flops=total_flops, device=device,
                          eval_batches=eval_batches)
    click.echo(json.dumps(report, indent=1) if as_json else format_ablation(report))
    if not as_json:
        click.echo(f"table: {Path(out) / 'ablation.json'}  plot: {report['plot']}")


for _command in service_commands:
    scaling_group.add_command(_command)
