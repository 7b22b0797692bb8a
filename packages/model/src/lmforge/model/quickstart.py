"""``lmforge quickstart``: corpus -> BPE tokenizer -> token file -> TransformerLM -> report and samples.

Everything runs from the text Python ships with, in minutes on a laptop CPU. The data folder
(``<out>/quickstart-data-<size>``) is reused by a second run; the training run is always new.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np


@dataclass(frozen=True)
class Preset:
    corpus_bytes: int
    vocab_size: int
    d_model: int
    num_layers: int
    num_heads: int
    context_length: int
    batch_size: int
    max_steps: int
    lr: float
    eval_every: int


PRESETS = {  # sized for 2 CPU cores: tiny is a smoke test, small ~1 minute, default ~5 minutes in all
    "tiny": Preset(200_000, 384, 64, 2, 4, 64, 8, 30, 3e-3, 15),
    "small": Preset(1_000_000, 1024, 96, 3, 4, 128, 16, 300, 3e-3, 100),
    "default": Preset(4_000_000, 2048, 128, 4, 4, 128, 16, 800, 3e-3, 200),
}
PROMPTS = ["def ", "import os\n", "class ", "The "]


def _step(msg: str) -> float:
    click.echo(click.style(f"==> {msg}", bold=True))
    return time.perf_counter()


def prepare_data(size: str, work: Path) -> tuple[Path, Path]:
    """Corpus, tokenizer and token file in ``work`` (skipped when already there)."""
    from lmforge.tokenize import BPETokenizer, encode_files_to_bin, train_bpe

    from .quickstart_corpus import EOT, build_corpus

    p = PRESETS[size]
    work.mkdir(parents=True, exist_ok=True)
    corpus, tok_dir, tokens = work / "corpus.txt", work / "tokenizer", work / "tokens.bin"
    if not corpus.exists():
        t = _step(f"building a {p.corpus_bytes / 1e6:.1f} MB corpus from the Python standard library")
        info = build_corpus(corpus, p.corpus_bytes)
        click.echo(f"    {info['documents']} of {info['available']} documents, {info['bytes'] / 1e6:.2f} MB "
                   f"({time.perf_counter() - t:.1f}s)")
    if not (tok_dir / "tokenizer.meta.json").exists():
        t = _step(f"training a byte-level BPE tokenizer (vocabulary {p.vocab_size})")
        vocab, merges = train_bpe(corpus, p.vocab_size, [EOT])
        BPETokenizer(vocab, merges, special_tokens=[EOT]).save(tok_dir)
        click.echo(f"    {len(merges)} merges ({time.perf_counter() - t:.1f}s)")
    if not Path(str(tokens) + ".json").exists():
        from lmforge.tokenize import load_tokenizer

        t = _step("tokenizing the corpus")
        meta = encode_files_to_bin(load_tokenizer(tok_dir), [corpus], tokens)
        click.echo(f"    {meta['count']:,} tokens, {corpus.stat().st_size / meta['count']:.2f} bytes/token "
                   f"({time.perf_counter() - t:.1f}s)")
    return tok_dir, tokens


def unigram_baseline(tokens: np.ndarray, val_fraction: float, vocab_size: int) -> float:
    """Validation cross-entropy (nats/token) of add-one-smoothed token frequencies from the train split."""
    split = int(len(tokens) * (1 - val_fraction))
    counts = np.bincount(np.asarray(tokens[:split]), minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[np.asarray(tokens[split:])].mean())


def run_quickstart(size: str = "default", out: Path = Path("runs"), device: str = "auto",
                   samples: bool = True) -> dict:
    from lmforge.core import load_config, read_metrics
    from lmforge.tokenize import load_tokenizer

    from .data import open_tokens
    from .train_config import TrainConfig
    from .trainer import train

    start = time.perf_counter()
    p = PRESETS[size]
    tok_dir, tokens_path = prepare_data(size, Path(out) / f"quickstart-data-{size}")
    tokenizer = load_tokenizer(tok_dir)
    cfg = load_config(TrainConfig, data={
        "model": {"vocab_size": tokenizer.vocab_size, "context_length": p.context_length,
                  "d_model": p.d_model, "num_layers": p.num_layers, "num_heads": p.num_heads,
                  "attention": "torch_sdpa"},
        "data": {"train_path": str(tokens_path), "tokenizer_dir": str(tok_dir), "val_fraction": 0.05},
        "optimizer": {"lr": p.lr, "weight_decay": 0.1},
        "schedule": {"warmup_steps": max(1, p.max_steps // 20)},
        "train": {"max_steps": p.max_steps, "batch_size": p.batch_size, "eval_every": p.eval_every,
                  "eval_batches": 16, "log_every": 10, "checkpoint_every": p.max_steps},
        "out": str(out), "name": f"quickstart-{size}", "device": device,
    })
    n_params = _count(cfg)
    t = _step(f"training a {n_params / 1e6:.2f}M-parameter TransformerLM for {p.max_steps} steps "
              f"({p.batch_size} x {p.context_length} tokens each)")
    run_dir = train(cfg)
    train_s = time.perf_counter() - t
    status = json.loads((run_dir / "summary.json").read_text())["status"]
    if status != "completed":
        click.echo(f"training {status}; continue it with: lmforge train --resume {run_dir}")
        return {"run_dir": str(run_dir), "status": status}
    records = read_metrics(run_dir)
    final = [r for r in records if "val_loss" in r][-1]
    tokens, _ = open_tokens(tokens_path)
    unigram = unigram_baseline(tokens, cfg.data.val_fraction, tokenizer.vocab_size)
    bytes_per_token = final["val_loss"] / (final["val_bpb"] * math.log(2))
    unigram_bpb = unigram / (math.log(2) * bytes_per_token)
    _plot(run_dir, records, unigram)
    result = {"run_dir": str(run_dir), "val_loss": final["val_loss"], "val_bpb": final["val_bpb"],
              "unigram_loss": unigram, "unigram_bpb": unigram_bpb, "train_seconds": train_s}
    click.echo("")
    click.echo(f"run directory       {run_dir}")
    click.echo(f"validation loss     {final['val_loss']:.3f} nats/token   {final['val_bpb']:.3f} bits/byte")
    click.echo(f"unigram baseline    {unigram:.3f} nats/token   {unigram_bpb:.3f} bits/byte")
    click.echo(f"the model is {unigram - final['val_loss']:.2f} nats/token better than the unigram baseline "
               f"({100 * (1 - final['val_loss'] / unigram):.0f}% lower loss)")
    click.echo(f"loss curve          {run_dir / 'loss_curve.png'}")
    if samples:
        result["samples"] = _samples(run_dir, tokenizer, cfg, device)
    result["total_seconds"] = time.perf_counter() - start
    click.echo(f"\ndone in {result['total_seconds']:.0f}s (training {train_s:.0f}s)")
    return result


def _count(cfg) -> int:
    import torch

    from .transformer import TransformerLM

    with torch.device("meta"):
        return TransformerLM.from_config(cfg.model).num_parameters()


def _plot(run_dir: Path, records: list[dict], unigram: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = [(r["step"], r["train_loss"]) for r in records if "train_loss" in r]
    va = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*tr), label="train loss", alpha=0.7)
    ax.plot(*zip(*va), "o-", label="validation loss")
    ax.axhline(unigram, color="gray", ls="--", label="unigram baseline")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title("lmforge quickstart")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "loss_curve.png", dpi=120)
    plt.close(fig)


def _samples(run_dir: Path, tokenizer, cfg, device: str) -> list[str]:
    import torch

    from .run_checkpoint import latest_checkpoint, load_model_weights
    from .transformer import TransformerLM

    try:
        from .generation import generate
    except ImportError:
        click.echo("(samples skipped: lmforge.model.generation is not available)")
        return []
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = device
    model = TransformerLM.from_config(cfg.model).to(dev)
    model.load_state_dict(load_model_weights(latest_checkpoint(run_dir)))
    model.eval()
    prompts = [tokenizer.encode(p) for p in PROMPTS]
    room = cfg.model.context_length - max(map(len, prompts))
    outs = generate(model, prompts, max_new_tokens=min(80, room), temperature=0.8, top_p=0.95,
                    eot_id=tokenizer.eot_id, seed=0)
    texts = []
    click.echo("\nsamples (temperature 0.8, top-p 0.95):")
    for prompt, ids in zip(PROMPTS, outs):
        text = prompt + tokenizer.decode([i for i in ids if i != tokenizer.eot_id])
        texts.append(text)
        click.echo(click.style(f"--- {prompt!r}", dim=True))
        click.echo(text)
    (run_dir / "samples.txt").write_text("\n\n---\n\n".join(texts), encoding="utf-8")
    return texts
