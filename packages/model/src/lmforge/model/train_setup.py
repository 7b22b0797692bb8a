"""What the trainer needs before its first step: config checks, data, budgets, parts and FLOPs.

Every check here fails with one ``ConfigError`` line before any model is built, so a typo in a
500-step config costs a second, not a run.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lmforge.core import ConfigError, LmforgeError, part_names

from .data import open_tokens
from .train_config import TrainConfig

DTYPE_LIMITS = {"uint16": 2**16, "uint32": 2**32}


def validate_config(cfg: TrainConfig, world_size: int = 1) -> None:
    cfg.model.validate()
    for kind, name, key in (("optimizer", cfg.optimizer.name, "optimizer.name"),
                            ("lr_schedule", cfg.schedule.name, "schedule.name"),
                            ("parallel_backend", cfg.parallel, "parallel"),
                            ("metrics_logger", cfg.metrics_logger, "metrics_logger")):
        known = part_names(kind)
        if name not in known:
            raise ConfigError(f"unknown {kind} {name!r} ({key}); known: {', '.join(known)}")
    if cfg.dtype not in ("float32", "bfloat16"):
        raise ConfigError(f"dtype must be 'float32' or 'bfloat16', got {cfg.dtype!r}")
    t = cfg.train
    if t.max_steps is None and t.max_tokens is None and t.max_flops is None:
        raise ConfigError("set at least one budget: train.max_steps, train.max_tokens or train.max_flops")
    for key in ("batch_size", "grad_accum", "eval_every", "eval_batches", "log_every", "checkpoint_every",
                "keep_checkpoints"):
        if getattr(t, key) <= 0:
            raise ConfigError(f"train.{key} must be positive, got {getattr(t, key)}")
    if t.batch_size % (t.grad_accum * world_size):
        raise ConfigError(f"train.batch_size ({t.batch_size}) must be divisible by train.grad_accum "
                          f"({t.grad_accum}) x ranks ({world_size})")
    if len(cfg.optimizer.betas) != 2:
        raise ConfigError(f"optimizer.betas must hold two numbers, got {cfg.optimizer.betas}")
    if not cfg.data.train_path:
        raise ConfigError("data.train_path is not set (a token file from `lmforge tokenize encode`)")


def _check_token_file(path: str, meta: dict, tokens: np.ndarray, cfg: TrainConfig, what: str) -> None:
    dtype = str(meta.get("dtype", tokens.dtype))
    vocab = meta.get("vocab_size")
    if vocab is not None:
        limit = DTYPE_LIMITS.get(dtype)
        if limit is not None and vocab > limit:
            raise ConfigError(f"{what} {path}: vocabulary of {vocab} does not fit its token dtype {dtype} "
                              f"(at most {limit} ids)")
        if vocab > cfg.model.vocab_size:
            raise ConfigError(f"{what} {path} was written with a vocabulary of {vocab}, larger than "
                              f"model.vocab_size = {cfg.model.vocab_size}")
    if len(tokens) < cfg.model.context_length + 1:
        raise ConfigError(f"{what} {path} holds {len(tokens)} tokens, shorter than model.context_length + 1 "
                          f"= {cfg.model.context_length + 1}")


def load_data(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) token arrays; without ``data.val_path`` the last ``val_fraction`` is held out."""
    train, meta = open_tokens(cfg.data.train_path)
    if cfg.data.val_path:
        _check_token_file(cfg.data.train_path, meta, train, cfg, "train data")
        val, val_meta = open_tokens(cfg.data.val_path)
        _check_token_file(cfg.data.val_path, val_meta, val, cfg, "validation data")
        return train, val
    if not 0 < cfg.data.val_fraction < 1:
        raise ConfigError(f"data.val_fraction must be in (0, 1), got {cfg.data.val_fraction}")
    _check_token_file(cfg.data.train_path, meta, train, cfg, "train data")
    split = int(len(train) * (1 - cfg.data.val_fraction))
    val = train[split:]
    train = train[:split]
    _check_token_file(cfg.data.train_path, meta, train, cfg, "train split of")
    _check_token_file(cfg.data.train_path, meta, val, cfg, "validation split of")
    return train, val


def training_flops_per_token(cfg: TrainConfig) -> float:
    """Forward + backward FLOPs per token, from the accounting module (6N when it is unavailable)."""
    try:
        from .accounting import flops_per_token

        return 3.0 * float(flops_per_token(cfg.model)["total_forward"])
    except (ImportError, KeyError, TypeError, AttributeError):
        m = cfg.model
        d_ff = m.d_ff or (4 * m.d_model if m.ffn == "silu_mlp" else int(8 * m.d_model / 3))
        kv = (m.num_kv_heads or m.num_heads) / m.num_heads
        ffn_matrices = 2 if m.ffn == "silu_mlp" else 3
        per_layer = m.d_model * m.d_model * (2 + 2 * kv) + ffn_matrices * m.d_model * d_ff
        return 6.0 * (m.num_layers * per_layer + m.d_model * m.vocab_size)


def total_steps(cfg: TrainConfig) -> int:
    """The step count at which the first of the step / token / FLOPs budgets is reached."""
    tokens_per_step = cfg.train.batch_size * cfg.model.context_length
    budgets = []
    if cfg.train.max_steps is not None:
        budgets.append(cfg.train.max_steps)
    if cfg.train.max_tokens is not None:
        budgets.append(math.ceil(cfg.train.max_tokens / tokens_per_step))
    if cfg.train.max_flops is not None:
        budgets.append(math.ceil(cfg.train.max_flops / (training_flops_per_token(cfg) * tokens_per_step)))
    steps = min(budgets)
    if steps <= 0:
        raise ConfigError(f"the budgets allow {steps} steps; nothing to train")
    return steps


def optimizer_factory(cfg: TrainConfig):
    from .transformer import resolve_part

    make = resolve_part("optimizer", cfg.optimizer.name)
    o = cfg.optimizer
    return lambda params: make(params, lr=o.lr, betas=tuple(o.betas), eps=o.eps, weight_decay=o.weight_decay)


def schedule(cfg: TrainConfig, steps: int):
    """``step -> lr`` for this run."""
    from .transformer import resolve_part

    fn = resolve_part("lr_schedule", cfg.schedule.name)
    s, lr = cfg.schedule, cfg.optimizer.lr
    warmup = min(s.warmup_steps, max(0, steps - 1))
    return lambda it: fn(it, lr, lr * s.min_lr_ratio, warmup, s.decay_steps or steps)


def token_byte_lengths(tokenizer_dir: str, vocab_size: int) -> np.ndarray | None:
    """UTF-8 bytes each token id stands for (0 for special tokens), for bits-per-byte."""
    if not tokenizer_dir:
        return None
    try:
        from lmforge.tokenize import load_tokenizer
    except ImportError:
        return None
    if not Path(tokenizer_dir).is_dir():
        raise ConfigError(f"data.tokenizer_dir {tokenizer_dir} is not a folder")
    try:
        tok = load_tokenizer(tokenizer_dir)
    except Exception as e:
        raise LmforgeError(f"cannot load the tokenizer in {tokenizer_dir}: {e}") from e
    specials = {tok.token_to_id(s) for s in (tok.special_tokens or [])}
    vocab = getattr(tok, "vocab", None)
    lengths = np.zeros(vocab_size, dtype=np.int64)
    for i in range(min(vocab_size, tok.vocab_size)):
        if i in specials:
            continue
        lengths[i] = len(vocab[i]) if isinstance(vocab, dict) and i in vocab else \
            len(tok.decode([i]).encode("utf-8"))
    return lengths


def model_config_dict(cfg: TrainConfig) -> dict:
    return {k: v for k, v in asdict(cfg.model).items()}
