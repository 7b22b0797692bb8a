"""``TrainConfig``: everything a training run needs, loaded from TOML with ``--set`` overrides.

The parallel backend and the metrics logger are core ``PartRef``s like the model's parts: ``parallel =
"fsdp"`` or ``parallel = {name = "deepspeed", stage = 3}`` (``--set parallel=deepspeed --set
parallel.stage=3``); ``metrics_logger = "tensorboard"``. The optimizer and the lr schedule are core
``PartTable``s: their common options are typed fields (``optimizer.lr``), and any other key of the table
is an option of the part (``[optimizer] name = "my_sgd"  momentum = 0.9``, ``--set optimizer.momentum=0.9``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lmforge.core import ConfigError, PartRef, PartTable

from .config import ModelConfig


@dataclass
class DataConfig:
    train_path: str = ""  # token file written by `lmforge tokenize encode`
    val_path: str = ""  # empty: hold out the last val_fraction of the train file
    val_fraction: float = 0.05
    tokenizer_dir: str = ""  # optional: enables val bits-per-byte and is copied into the run


@dataclass
class OptimizerConfig(PartTable):
    """Part kind "optimizer", built as ``optimizer(params, lr=lr, betas=, eps=, weight_decay=, **options)``:
    betas, eps and weight_decay go to a part whose signature takes them (set away from their defaults
    for one that does not, they are a ConfigError); grad_clip is the trainer's."""

    name: str = "adamw"
    lr: float = 1e-3  # peak learning rate
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0  # global L2 norm; 0 = no clipping


@dataclass
class ScheduleConfig(PartTable):
    """Part kind "lr_schedule", called each step as ``schedule(it, lr, lr * min_lr_ratio, warmup_steps,
    decay_steps or total steps, **options)``."""

    name: str = "cosine"
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
    # sharded backends (zero1, fsdp, torch_fsdp2): write each step's shards to URL/step_NNNNNNN
    # (s3://, gs://, file://, through fsspec) instead of under the run directory; "" = run directory
    checkpoint_shards_url: str = ""


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: LoopConfig = field(default_factory=LoopConfig)
    parallel: PartRef = field(default_factory=lambda: PartRef("single"))  # part kind "parallel_backend"
    # removed (its options now live in ``parallel``); kept only so an old config fails with the new form
    parallel_options: dict | None = field(default=None, repr=False)
    out: str = "runs"  # runs are created under this folder...
    name: str = ""  # ...with this name (default: a timestamp)
    run_dir: str = ""  # or exactly here
    seed: int = 0
    device: str = "auto"  # "auto" = CUDA when present, else CPU
    dtype: str = "float32"  # compute dtype: "float32" or "bfloat16" (autocast; weights stay float32)
    compile: bool = False  # torch.compile the model
    metrics_logger: PartRef = field(default_factory=lambda: PartRef("jsonl"))  # part kind "metrics_logger"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.parallel_options is not None:
            given = self.parallel_options.items()
            example = ", ".join(f"{k} = {json.dumps(v)}" for k, v in given) or "<option> = ..."
            raise ConfigError(
                "parallel_options was removed: give the backend's options in parallel itself, e.g. "
                f"parallel = {{name = \"{PartRef.parse(self.parallel, 'parallel').name}\", {example}}} in "
                "TOML, or --set parallel.<option>=<value>")
        self.parallel = PartRef.parse(self.parallel, "parallel")  # code may give a plain name
        self.metrics_logger = PartRef.parse(self.metrics_logger, "metrics_logger")
