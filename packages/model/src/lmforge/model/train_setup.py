"""What the trainer needs before its first step: config checks, data, budgets, parts and FLOPs.

Every check here fails with one ``ConfigError`` line before any model is built, so a typo in a
500-step config costs a second, not a run.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np

from lmforge.core import (
    ConfigError,
    LmforgeError,
    PartRef,
    build_part,
    check_part_options,
    get_part,
    part_names,
)

from .data import open_tokens
from .train_config import TrainConfig

DTYPE_LIMITS = {"uint16": 2**16, "uint32": 2**32}


def _require(ok: bool, key: str, rule: str, value) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {rule}, got {value!r}")


def _finite(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def validate_config(cfg: TrainConfig, world_size: int = 1) -> None:
    """Every value's range and every part name; paths are checked by ``load_data`` and ``check_paths``."""
    cfg.model.validate()
    check_parallel(cfg)
    for kind, name, key in (("optimizer", cfg.optimizer.name, "optimizer.name"),
                            ("lr_schedule", cfg.schedule.name, "schedule.name"),
                            ("metrics_logger", cfg.metrics_logger.name, "metrics_logger")):
        known = part_names(kind)
        if name not in known:
            raise ConfigError(f"unknown {kind} {name!r} ({key}); known: {', '.join(known)}")
    if cfg.metrics_logger.options:  # a misspelled option is one line naming `metrics_logger`
        check_part_options("metrics_logger", cfg.metrics_logger, "metrics_logger")
    # the optimizer's whole call (its typed hyperparameters and its options), the schedule's options:
    # a misspelt option is one line naming `optimizer` or `schedule`, before a run directory exists
    check_part_options("optimizer", optimizer_ref(cfg), "optimizer")
    if cfg.schedule.options:
        check_part_options("lr_schedule", cfg.schedule.part_ref, "schedule")
    if cfg.dtype not in ("float32", "bfloat16"):
        raise ConfigError(f"dtype must be 'float32' or 'bfloat16', got {cfg.dtype!r}")
    _require(cfg.seed >= 0, "seed", ">= 0", cfg.seed)
    t = cfg.train
    if t.max_steps is None and t.max_tokens is None and t.max_flops is None:
        raise ConfigError("set at least one budget: train.max_steps, train.max_tokens or train.max_flops")
    for key in ("max_steps", "max_tokens", "max_flops"):
        value = getattr(t, key)
        _require(value is None or (_finite(value) and value > 0), f"train.{key}", "a finite number > 0",
                 value)
    for key in ("batch_size", "grad_accum", "eval_every", "eval_batches", "log_every", "checkpoint_every",
                "keep_checkpoints"):
        if getattr(t, key) <= 0:
            raise ConfigError(f"train.{key} must be positive, got {getattr(t, key)}")
    if t.batch_size % (t.grad_accum * world_size):
        raise ConfigError(f"train.batch_size ({t.batch_size}) must be divisible by train.grad_accum "
                          f"({t.grad_accum}) x ranks ({world_size})")
    o = cfg.optimizer
    # a NaN, infinite or negative lr trains nothing or trains backwards, and only shows at step 2
    _require(_finite(o.lr) and o.lr > 0, "optimizer.lr", "a finite number > 0", o.lr)
    _require(_finite(o.eps) and o.eps > 0, "optimizer.eps", "a finite number > 0", o.eps)
    _require(_finite(o.weight_decay) and o.weight_decay >= 0, "optimizer.weight_decay",
             "a finite number >= 0", o.weight_decay)
    _require(_finite(o.grad_clip) and o.grad_clip >= 0, "optimizer.grad_clip", "a finite number >= 0 "
             "(0 = no clipping)", o.grad_clip)
    _require(len(o.betas) == 2, "optimizer.betas", "two numbers", o.betas)
    for i, beta in enumerate(o.betas):
        _require(_finite(beta) and 0 <= beta < 1, f"optimizer.betas[{i}]", "in [0, 1)", beta)
    s = cfg.schedule
    _require(_finite(s.min_lr_ratio) and 0 <= s.min_lr_ratio <= 1, "schedule.min_lr_ratio", "in [0, 1]",
             s.min_lr_ratio)
    _require(s.warmup_steps >= 0, "schedule.warmup_steps", ">= 0", s.warmup_steps)
    _require(s.decay_steps is None or s.decay_steps > 0, "schedule.decay_steps", "> 0 (or unset)",
             s.decay_steps)
    if not cfg.data.train_path:
        raise ConfigError("data.train_path is not set (a token file from `lmforge tokenize encode`)")
    if not cfg.data.val_path:
        _require(_finite(cfg.data.val_fraction) and 0 < cfg.data.val_fraction < 1, "data.val_fraction",
                 "in (0, 1)", cfg.data.val_fraction)


def check_parallel(cfg: TrainConfig) -> None:
    """The backend's name and options (``parallel``), checked before the backend is built."""
    known = part_names("parallel_backend")
    if cfg.parallel.name not in known:
        raise ConfigError(f"unknown parallel_backend {cfg.parallel.name!r} (parallel); "
                          f"known: {', '.join(known)}")
    if cfg.parallel.options:  # a misspelled option is one line naming `parallel`, not a TypeError
        check_part_options("parallel_backend", cfg.parallel, "parallel")


def _check_token_file(path: str, meta: dict, tokens: np.ndarray, cfg: TrainConfig, what: str) -> None:
    dtype = str(meta.get("dtype", tokens.dtype))
    vocab = meta.get("vocab_size")
    if not isinstance(vocab, int):
        raise ConfigError(f"{what} {path}: its sidecar records no vocab_size, so the model cannot be checked "
                          "against the tokenizer that wrote it (re-encode with `lmforge tokenize encode`)")
    limit = DTYPE_LIMITS.get(dtype)
    if limit is not None and vocab > limit:
        raise ConfigError(f"{what} {path}: vocabulary of {vocab} does not fit its token dtype {dtype} "
                          f"(at most {limit} ids)")
    # a larger embedding is padding (e.g. 50304 for GPT-2's 50257, for GEMM-friendly shapes);
    # a smaller one cannot work
    if vocab > cfg.model.vocab_size:
        raise ConfigError(f"{what} {path} was written by a tokenizer with {vocab} tokens but "
                          f"model.vocab_size = {cfg.model.vocab_size}; it must be at least {vocab}")
    if len(tokens) < cfg.model.context_length + 1:
        raise ConfigError(f"{what} {path} holds {len(tokens)} tokens, shorter than model.context_length + 1 "
                          f"= {cfg.model.context_length + 1}")


def _open(path: str, key: str) -> tuple[np.ndarray, dict]:
    if not Path(path).is_file():
        raise ConfigError(f"{key}: token file {path} does not exist")
    return open_tokens(path)


def load_data(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, dict]:
    """(train, val, train sidecar); without ``data.val_path`` the last ``val_fraction`` is held out."""
    train, meta = _open(cfg.data.train_path, "data.train_path")
    if cfg.data.val_path:
        _check_token_file(cfg.data.train_path, meta, train, cfg, "train data")
        val, val_meta = _open(cfg.data.val_path, "data.val_path")
        _check_token_file(cfg.data.val_path, val_meta, val, cfg, "validation data")
        return train, val, meta
    _check_token_file(cfg.data.train_path, meta, train, cfg, "train data")
    split = int(len(train) * (1 - cfg.data.val_fraction))
    val = train[split:]
    train = train[:split]
    _check_token_file(cfg.data.train_path, meta, train, cfg, "train split of")
    _check_token_file(cfg.data.train_path, meta, val, cfg, "validation split of")
    return train, val, meta


def training_flops_per_token(cfg: TrainConfig) -> float:
    """Forward + backward FLOPs per token, measured from the model this config builds."""
    from .accounting import flops_per_token

    return float(flops_per_token(cfg.model)["total_training"])


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


# the optimizer's typed fields it is built with (lr is the contract's; grad_clip is the trainer's)
OPTIMIZER_HYPERPARAMETERS = ("betas", "eps", "weight_decay")


def optimizer_ref(cfg: TrainConfig) -> PartRef:
    """The optimizer part and every keyword it is built with besides ``params`` and ``lr``: betas, eps
    and weight_decay where its signature takes them, then the options of its table. A hyperparameter
    the part does not take is left out at its default and a ConfigError when set."""
    o = cfg.optimizer
    keywords = _keywords(get_part("optimizer", o.name))
    defaults = type(o)()
    common = {}
    for key in OPTIMIZER_HYPERPARAMETERS:
        value = getattr(o, key)
        if keywords is None or key in keywords:
            common[key] = tuple(value) if key == "betas" else value
        elif value != getattr(defaults, key):
            raise ConfigError(f"optimizer.{key}: optimizer {o.name!r} does not take {key}; leave it at its "
                              f"default ({getattr(defaults, key)!r}) for this optimizer")
    return PartRef(o.name, {**common, **o.options})


def _keywords(part) -> set[str] | None:
    """The keyword names ``part`` accepts; None when it takes any (``**kwargs``) or has no signature."""
    try:
        params = inspect.signature(part).parameters.values()
    except (TypeError, ValueError):  # a builtin or extension callable: nothing to check against
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def optimizer_factory(cfg: TrainConfig):
    """``params -> optimizer``, the ``optimizer`` part built as :func:`optimizer_ref` says."""
    ref, lr = optimizer_ref(cfg), cfg.optimizer.lr
    return lambda params: build_part("optimizer", ref, params, lr=lr)


def schedule(cfg: TrainConfig, steps: int):
    """``step -> lr`` for this run: the ``lr_schedule`` part with its options."""
    s, lr = cfg.schedule, cfg.optimizer.lr
    ref = s.part_ref
    warmup = min(s.warmup_steps, max(0, steps - 1))
    min_lr, decay = lr * s.min_lr_ratio, s.decay_steps or steps
    return lambda it: build_part("lr_schedule", ref, it, lr, min_lr, warmup, decay)


def load_checked_tokenizer(cfg: TrainConfig, meta: dict):
    """The tokenizer in ``data.tokenizer_dir`` (None when unset), refused unless it made the token file."""
    folder = cfg.data.tokenizer_dir
    if not folder:
        return None
    if not Path(folder).is_dir():
        raise ConfigError(f"data.tokenizer_dir: {folder} is not a folder")
    try:
        from lmforge.tokenize import load_tokenizer, tokenizer_fingerprint
    except ImportError:
        raise ConfigError("data.tokenizer_dir is set but lmforge-tokenize is not installed") from None
    try:
        tok = load_tokenizer(folder)
    except (LmforgeError, OSError) as e:  # a damaged or foreign folder: the user's to fix (a bug is not)
        raise ConfigError(f"data.tokenizer_dir: cannot load the tokenizer in {folder}: {e}") from None
    if tok.vocab_size != meta["vocab_size"]:
        raise ConfigError(f"data.tokenizer_dir: the tokenizer in {folder} has {tok.vocab_size} tokens but "
                          f"{cfg.data.train_path} was written by one with {meta['vocab_size']}")
    recorded = meta.get("tokenizer_sha256")
    if recorded is not None and recorded != tokenizer_fingerprint(tok):
        raise ConfigError(f"data.tokenizer_dir: {cfg.data.train_path} was written by tokenizer "
                          f"{recorded[:12]}, not by the one in {folder} ({tokenizer_fingerprint(tok)[:12]})")
    return tok


def token_byte_lengths(tok, vocab_size: int) -> np.ndarray | None:
    """UTF-8 bytes each token id stands for (0 for special tokens), for bits-per-byte."""
    if tok is None:
        return None
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
    return cfg.model.to_dict()
