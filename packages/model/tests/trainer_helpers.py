"""Tiny token files and configs for trainer tests."""

import json
from pathlib import Path

import numpy as np

from lmforge.core import load_config
from lmforge.model.train_config import TrainConfig


def write_tokens(path: Path, n: int = 20_000, vocab: int = 61, dtype: str = "uint16",
                 sidecar_vocab: int | None = None) -> Path:
    """A learnable stream: a repeating ramp with 10% noise."""
    rng = np.random.default_rng(0)
    base = np.tile(np.arange(vocab - 11), n // (vocab - 11) + 1)[:n]
    noise = rng.integers(0, vocab, size=n)
    tokens = np.where(rng.random(n) < 0.1, noise, base).astype(dtype)
    tokens.tofile(path)
    Path(str(path) + ".json").write_text(json.dumps(
        {"dtype": dtype, "count": n, "vocab_size": sidecar_vocab or vocab, "eot_id": None}))
    return path


def tiny_config(tmp_path: Path, *overrides: str) -> TrainConfig:
    tmp_path.mkdir(parents=True, exist_ok=True)
    tokens = tmp_path / "tokens.bin"
    if not tokens.exists():
        write_tokens(tokens)
    base = [f"data.train_path={tokens}", "model.vocab_size=61", "model.context_length=16",
            "model.d_model=32", "model.num_layers=2", "model.num_heads=4", "train.max_steps=30",
            "train.batch_size=8", "train.eval_every=10", "train.eval_batches=2", "train.log_every=1",
            "train.checkpoint_every=10", "schedule.warmup_steps=5", "optimizer.lr=3e-3",
            f"run_dir={tmp_path / 'run'}", "progress=false", "device=cpu"]
    return load_config(TrainConfig, None, [*base, *overrides])
