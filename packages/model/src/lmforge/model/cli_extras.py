"""Commands for generation, accounting and HF interop: ``lmforge generate``, ``lmforge model ...``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from lmforge.core import LmforgeError


def add_commands(cli: click.Group) -> None:
    """Add ``generate`` and the ``model`` subcommands (joining a ``model`` group if one exists)."""
    cli.add_command(generate_command)
    group = cli.commands.get("model")
    if group is None:
        group = click.Group("model", help="Model accounting (parameters, FLOPs, memory) and HF Llama export.")
        cli.add_command(group)
    group.add_command(accounting_command)
    group.add_command(export_hf_command)


@click.command("generate")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Run directory (its latest checkpoint and its tokenizer/ are used).")
@click.option("--prompt", required=True, help="Text to continue.")
@click.option("--max-new-tokens", default=100, show_default=True, type=int)
@click.option("--temperature", default=1.0, show_default=True, type=float, help="0 = greedy.")
@click.option("--top-p", default=1.0, show_default=True, type=float)
@click.option("--seed", default=None, type=int)
@click.option("--num-samples", default=1, show_default=True, type=int)
@click.option("--device", default="cpu", show_default=True)
def generate_command(run_dir, prompt, max_new_tokens, temperature, top_p, seed, num_samples, device):
    """Sample continuations of PROMPT from a trained run."""
    from lmforge.tokenize import load_tokenizer

    from .generation import generate, load_run_model

    tok_dir = Path(run_dir) / "tokenizer"
    if not tok_dir.is_dir():
        raise LmforgeError(f"{run_dir} has no tokenizer/ folder to encode the prompt with")
    tokenizer = load_tokenizer(tok_dir)
    model, cfg = load_run_model(run_dir, device=device)
    ids = tokenizer.encode(prompt)
    if not ids:
        raise LmforgeError("the prompt encodes to no tokens")
    budget = cfg.context_length - max_new_tokens
    if budget < 1:
        raise LmforgeError(f"--max-new-tokens must be below the context length ({cfg.context_length})")
    ids = ids[-budget:]  # keep the end of a prompt too long for the context
    outs = generate(model, [ids] * num_samples, max_new_tokens, temperature=temperature, top_p=top_p,
                    eot_id=getattr(tokenizer, "eot_id", None), seed=seed)
    for i, out in enumerate(outs):
        if num_samples > 1:
            click.echo(f"--- sample {i + 1}")
        click.echo(prompt + tokenizer.decode(out))


def _load_model_config(path: str, overrides: tuple[str, ...]):
    """A ModelConfig from a model TOML or from the [model] table of a training TOML."""
    from lmforge.core import load_config

    from .config import ModelConfig

    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LmforgeError(f"cannot read {path}: {e}") from None
    data = data.get("model", data)
    overrides = [o.removeprefix("model.") for o in overrides]
    return load_config(ModelConfig, data=data, overrides=list(overrides))


def _human(n: float, unit: str = "") -> str:
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.3f}{suffix}{unit}"
    return f"{n:.0f}{unit}"


def _table(rows: list[tuple], header: tuple) -> str:
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def accounting_report(cfg, batch: int, context: int, dtype: str) -> str:
    from . import accounting as acc

    p = acc.count_parameters(cfg)
    f = acc.flops_per_token(cfg, context)
    m = acc.memory_bytes(cfg, batch_size=batch, context_length=context, param_dtype=dtype)
    components = ("token_embeddings", "q_proj", "k_proj", "v_proj", "output_proj", "attention_other", "ffn",
                  "norms", "block_other", "other", "lm_head", "embedding", "non_embedding", "total")
    out = ["Parameters (measured from the built module)",
           _table([(k, f"{p[k]:,}", _human(p[k])) for k in components], ("component", "count", "")), ""]
    rows = [(k, _human(f[k]), _human(2 * f[k]), f"{f[k] / f['total_forward']:.1%}") for k in (
        "q_proj", "k_proj", "v_proj", "output_proj", "attention_context", "ffn", "norms", "block_other",
        "lm_head", "other", "total_forward")]
    out += [f"FLOPs per token at context {context} (backward = 2 x forward; one training token = "
            f"{_human(f['total_training'])}FLOP)",
            _table(rows, ("component", "forward", "backward", "share")), ""]
    out += [f"Training memory at batch {batch}, context {context}, {dtype} weights/grads, AdamW state",
            _table([(k, _human(v, "B")) for k, v in m.items()], ("what", "bytes")), ""]
    out += [f"FLOP shares as width grows (context {context})",
            _sweep_table(acc.width_sweep(cfg, context_length=context), "d_model"), ""]
    out += ["FLOP shares as context grows", _sweep_table(acc.context_sweep(cfg), "context_length")]
    return "\n".join(out)


def _sweep_table(rows: list[dict], key: str) -> str:
    cols = ("attention_projections", "attention_context", "ffn", "lm_head")
    return _table([(r[key], *(f"{r[c]:.1%}" for c in cols)) for r in rows],
                  (key, "attn proj", "attn context", "ffn", "lm_head"))


def plot_shares(cfg, context: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import accounting as acc

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, rows, key in ((axes[0], acc.width_sweep(cfg, context_length=context), "d_model"),
                          (axes[1], acc.context_sweep(cfg), "context_length")):
        xs = [r[key] for r in rows]
        for col in ("attention_projections", "attention_context", "ffn", "lm_head"):
            ax.plot(xs, [r[col] for r in rows], marker="o", label=col.replace("_", " "))
        ax.set_xscale("log", base=2)
        ax.set_xlabel(key)
        ax.set_ylabel("share of forward FLOPs")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"width sweep (context {context})")
    axes[1].set_title(f"context sweep (d_model {cfg.d_model})")
    axes[0].legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


@click.command("accounting")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Model TOML or training TOML (its [model] table).")
@click.option("--set", "overrides", multiple=True, help="Override a model key, e.g. --set d_model=768.")
@click.option("--batch", default=8, show_default=True, type=int)
@click.option("--context", default=None, type=int, help="Context length (default: the config's).")
@click.option("--dtype", default="float32", show_default=True, type=click.Choice(["float32", "bfloat16"]))
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the FLOP-share sweeps as a PNG.")
def accounting_command(config_path, overrides, batch, context, dtype, plot):
    """Parameters, FLOPs per token by component, and training memory of a model config, measured
    from the model it builds (on the meta device: no memory, any registered part)."""
    cfg = _load_model_config(config_path, overrides)
    context = context or cfg.context_length
    click.echo(accounting_report(cfg, batch, context, dtype))
    if plot:
        plot_shares(cfg, context, Path(plot))
        click.echo(f"\nwrote {plot}")


@click.command("export-hf")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
def export_hf_command(run_dir, out_dir):
    """Write a run's latest checkpoint as an HF Llama folder (config.json, model.safetensors, tokenizer)."""
    from .hf_llama import export_hf_llama

    path = export_hf_llama(run_dir, out_dir)
    click.echo(f"wrote {path}")
