"""``TrainConfig``: everything a training run needs, loaded from TOML with ``--set`` overrides."""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import ModelConfig


@dataclass
class DataConfig:
    train_path: str = ""  # token file written by `lmforge tokenize encode`
    val_path: str = ""  # empty: hold out the last val_fraction of the train file
    val_fraction: float = 0.05
    tokenizer_dir: str = ""  # optional: enables val bits-per-byte and is copied into the run


@dataclass
class OptimizerConfig:
    name: str = "adamw"  # part kind "optimizer"
    lr: float = 1e-3  # peak learning rate
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0  # global L2 norm; 0 = no clipping


@dataclass
class ScheduleConfig:
    name: str = "cosine"  # part kind "lr_schedule"
    warmup_steps: int = 100
    min_lr_ratio: float = 0.1  # min_lr = lr * min_lr_ratio
    decay_steps: int | None = None  # schedule length; None = the run's total steps


@dataclass
class LoopConfig:
    max_steps: int | None = 1000  # the run stops at the first budget reached
    max_tokens: int | None = None
    max_flops: float | None = None
    batch_size: int = 32  # sequences per optimizer step over all ranks (per micro-batch x grad_accum)
    grad_accum: int = 1
    eval_every: int = 100
    eval_batches: int = 8
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 2


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: LoopConfig = field(default_factory=LoopConfig)
    parallel: str = "single"  # part kind "parallel_backend"
    parallel_options: dict = field(default_factory=dict)
    out: str = "runs"  # runs are created under this folder...
    name: str = ""  # ...with this name (default: a timestamp)
    run_dir: str = ""  # or exactly here
    seed: int = 0
    device: str = "auto"  # "auto" = CUDA when present, else CPU
    dtype: str = "float32"  # compute dtype: "float32" or "bfloat16" (autocast; weights stay float32)
    compile: bool = False  # torch.compile the model
    metrics_logger: str = "jsonl"
    progress: bool = True
