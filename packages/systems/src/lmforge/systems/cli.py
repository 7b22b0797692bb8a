"""``lmforge systems ...``: benchmarks and profiling (click only at import time; torch inside commands)."""

from __future__ import annotations

import json
from pathlib import Path

import click

SIZE_CHOICES = ["tiny", "small", "medium", "large", "xl", "2.7b"]


def _save(result, out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str))
    click.echo(f"saved {path}")


@click.group("systems")
def systems_group() -> None:
    """Benchmarks and profiling: model steps, attention kernels, collectives."""


@systems_group.command("bench")
@click.option("--size", type=click.Choice(SIZE_CHOICES), default="small", show_default=True)
@click.option("--context", type=int, default=128, show_default=True)
@click.option("--mode", type=click.Choice(["fwd", "fwdbwd", "step"]), default="fwdbwd", show_default=True)
@click.option("--dtype", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16 = autocast mixed precision (weights stay fp32).")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model.")
@click.option("--attention", default="reference", show_default=True, help="attention part name")
@click.option("--norm", default="rmsnorm", show_default=True, help="norm part name")
@click.option("--checkpoint-activations", type=int, default=0, show_default=True,
              help="Recompute activations in segments of this many blocks (0 = off).")
@click.option("--batch", type=int, default=4, show_default=True)
@click.option("--warmup", type=int, default=2, show_default=True)
@click.option("--steps", type=int, default=5, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--profile", is_flag=True, help="torch.profiler table + Chrome trace (+ NVTX ranges on CUDA).")
@click.option("--out", default=".bench/systems/bench.json", show_default=True, help="JSON result path.")
@click.option("--scaleout", is_flag=True,
              help="Instead: 2-rank scale-out figures (checkpoint memory full vs sharded, bytes per step "
                   "with/without no_sync, FSDP backward prefetch), before/after with ratios.")
@click.option("--d-model", type=int, default=256, show_default=True, help="--scaleout model width")
@click.option("--layers", type=int, default=4, show_default=True, help="--scaleout model depth")
@click.option("--accum", type=int, default=4, show_default=True, help="--scaleout micro-batches per step")
def bench_command(size, context, mode, dtype, compile_, attention, norm, checkpoint_activations, batch,
                  warmup, steps, device, profile, out, scaleout, d_model, layers, accum) -> None:
    """Time forward / forward+backward / a training step; peak memory per phase (or, with --scaleout,
    the scale-out figures)."""
    if scaleout:
        _scaleout(d_model, layers, accum, steps, out)
        return
    from .bench.model_bench import run_model_bench
    from .bench.timing import format_table

    out_dir = Path(out).with_suffix("")
    r = run_model_bench(size, context, mode, dtype, compile_, attention, norm, warmup, steps, device, batch,
                        checkpoint_activations, profile, out_dir)
    row = {k: r.get(k) for k in ("size", "context", "mode", "dtype", "attention", "norm", "status")}
    if r["status"] == "ok":
        row.update({"mean_ms": r["mean_s"] * 1e3, "std_ms": r["std_s"] * 1e3,
                    "median_ms": r["median_s"] * 1e3, "tokens/s": r["tokens_per_s"]})
    click.echo(format_table([row], list(row)))
    if r.get("peak_bytes"):
        est = r["estimate_bytes"]
        mem = [{"phase": k, "peak_MiB": (v or 0) / 2**20, "rise_MiB": (r["phase_rise_bytes"][k] or 0) / 2**20}
               for k, v in r["peak_bytes"].items()]
        click.echo(format_table(mem, ["phase", "peak_MiB", "rise_MiB"]))
        click.echo("accounting (MiB): " + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in est.items()))
        if r["device"] == "cpu":
            click.echo("(CPU: live tensor bytes incl. weights/grads/optimizer state; process peak RSS: "
                       + ", ".join(f"{k} {(v or 0) / 2**20:.0f} MiB"
                                   for k, v in r["process_rss_peak_bytes"].items()) + ")")
    if r.get("dtype_report"):
        by_dtype: dict = {}
        for x in r["dtype_report"]:
            by_dtype.setdefault(x["dtype"], set()).add(x["op"])
        click.echo("ops by output dtype: " + "; ".join(f"{d}: {len(ops)} ops ({', '.join(sorted(ops)[:8])}"
                                                        f"{', ...' if len(ops) > 8 else ''})"
                                                        for d, ops in sorted(by_dtype.items())))
    if r.get("profile_top"):
        click.echo("\n".join(r["profile_top"]))
        click.echo(f"trace: {r['chrome_trace']}")
    _save(r, out)


def _scaleout(d_model: int, layers: int, accum: int, steps: int, out: str) -> None:
    from .bench.scaleout_bench import run_scaleout_bench
    from .bench.timing import format_table

    r = run_scaleout_bench(d_model, layers, accum, steps)
    click.echo(f"(1) checkpoint memory per rank, d_model {d_model}, {layers} layers, 2 ranks (gloo, CPU)")
    click.echo(format_table(r["checkpoint"], list(r["checkpoint"][0])))
    click.echo(f"\n(2) bytes to collectives per optimizer step, grad_accum {accum}, 2 ranks")
    click.echo(format_table(r["comm"], list(r["comm"][0])))
    click.echo(f"\n(3) our FSDP, backward prefetch (median of {steps} steps after 2 warm-up)")
    click.echo(format_table(r["prefetch"], list(r["prefetch"][0])))
    _save(r, out)


@systems_group.command("bench-attention")
@click.option("--attention", "parts", multiple=True, help="attention parts (default: every registered one)")
@click.option("--head-dim", "head_dims", multiple=True, type=int, help="default 16 32 64 128")
@click.option("--seq", "seq_lens", multiple=True, type=int, help="default 256 1024 4096 8192 16384")
@click.option("--batch", type=int, default=8, show_default=True)
@click.option("--heads", type=int, default=1, show_default=True)
@click.option("--dtype", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option("--causal/--no-causal", default=True, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--warmup", type=int, default=2, show_default=True)
@click.option("--steps", type=int, default=5, show_default=True)
@click.option("--out", default=".bench/systems/attention.json", show_default=True)
def bench_attention_command(parts, head_dims, seq_lens, batch, heads, dtype, causal, device, warmup, steps,
                            out) -> None:
    """Grid of attention parts x head dim x sequence length: time and memory, OOM reported."""
    from .bench.attention_bench import HEAD_DIMS, SEQ_LENS, run_attention_grid
    from .bench.timing import format_table

    rows = run_attention_grid(list(parts) or None, head_dims or HEAD_DIMS, seq_lens or SEQ_LENS, batch, heads,
                              dtype, causal, device, warmup, steps)
    click.echo(format_table(rows, ["attention", "head_dim", "seq", "status", "fwd_ms", "bwd_ms", "peak_mb",
                                   "fwd_tflops", "bwd_tflops"]))
    _save(rows, out)


@systems_group.command("bench-collective")
@click.option("--backend", type=click.Choice(["gloo", "nccl"]), default="gloo", show_default=True)
@click.option("--nproc", "nprocs", multiple=True, type=int, help="process counts (default 2)")
@click.option("--size-mb", "sizes", multiple=True, type=float, help="default 1 4 16 64 256 1024")
@click.option("--warmup", type=int, default=2, show_default=True)
@click.option("--steps", type=int, default=5, show_default=True)
@click.option("--out", default=".bench/systems/collective.json", show_default=True)
def bench_collective_command(backend, nprocs, sizes, warmup, steps, out) -> None:
    """All-reduce time and bus bandwidth, 1 MB to 1 GB."""
    from .bench.collective_bench import SIZES_MB, run_collective_bench
    from .bench.timing import format_table

    rows = run_collective_bench(nprocs or (2,), backend, sizes or SIZES_MB, warmup, steps,
                                str(Path(out).parent))
    click.echo(format_table(rows, ["backend", "world", "size_mb", "status", "median_ms", "busbw_gbps"]))
    _save(rows, out)


@systems_group.command("consolidate")
@click.argument("checkpoint", type=click.Path(exists=True, file_okay=False))
def consolidate_command(checkpoint) -> None:
    """Turn a sharded checkpoint (a run folder: its latest; or one step folder) into full weights:
    writes model.safetensors into the step folder (then export-hf and generation read it)."""
    from lmforge.model.run_checkpoint import latest_checkpoint

    from .parallel.sharded_checkpoint import consolidate_run_checkpoint

    path = Path(checkpoint)
    step_dir = path if (path / "trainer_state.json").exists() else latest_checkpoint(path)
    if step_dir is None:
        raise click.ClickException(f"{path} holds no checkpoint")
    click.echo(str(consolidate_run_checkpoint(step_dir)))
