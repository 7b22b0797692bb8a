"""A recipe: one TOML whose sections are the stages' own configs, on top of a size preset.

    dir = "runs/recipe-laptop"   # every stage writes <dir>/<stage>/
    seed = 0
    device = "auto"              # auto = CUDA when present, else CPU
    [web]        source = "pydoc" | "urls" | "warc", modules, urls, warc_paths   (WebConfig)
    [data]       the data pipeline's PipelineConfig: filters, dedup, extract, executor
    [tokenizer]  vocab_size, pattern                                              (TokenizerStageConfig)
    [pretrain]   budget_flops or minutes, law, context_length, batch_size, lr    (PretrainStageConfig)
    [task]       align's TaskConfig (arithmetic by default), shared by sft and grpo
    [sft]        align's SFTConfig;  [grpo] align's GRPOConfig
    [eval]       prompts, sample_tokens, task_samples                             (EvalStageConfig)

``load_recipe`` merges the size preset, the file and ``--set`` overrides, in that order.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.align.config import GRPOConfig, SFTConfig, TaskConfig
from lmforge.core import ConfigError, load_config
from lmforge.data.pipeline_config import PipelineConfig

from .sizes import SIZES
from .stage_data import DEFAULT_PIPELINE
from .stage_eval import EvalStageConfig
from .stage_pretrain import PretrainStageConfig
from .stage_tokenizer import TokenizerStageConfig
from .stage_web import WebConfig


@dataclass
class RecipeConfig:
    dir: str = "runs/recipe"
    seed: int = 0
    device: str = "auto"
    web: WebConfig = field(default_factory=WebConfig)
    data: PipelineConfig = field(default_factory=PipelineConfig)
    tokenizer: TokenizerStageConfig = field(default_factory=TokenizerStageConfig)
    pretrain: PretrainStageConfig = field(default_factory=PretrainStageConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    eval: EvalStageConfig = field(default_factory=EvalStageConfig)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, table by table (a list, e.g. data.filters, is replaced whole)."""
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_recipe(size: str, path: str | Path | None = None, overrides: tuple[str, ...] = (),
                budget: float | None = None, minutes: float | None = None,
                directory: str | None = None) -> RecipeConfig:
    if size not in SIZES:
        raise ConfigError(f"unknown size {size!r}; known: {', '.join(SIZES)}")
    data = deep_merge({"dir": f"runs/recipe-{size}", "data": DEFAULT_PIPELINE}, SIZES[size])
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"recipe file not found: {p}")
        try:
            data = deep_merge(data, tomllib.loads(p.read_text()))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: invalid TOML: {e}") from None
    if budget is not None and minutes is not None:
        raise ConfigError("give --budget or --minutes, not both")
    if budget is not None:
        data = deep_merge(data, {"pretrain": {"budget_flops": budget, "minutes": None}})
    if minutes is not None:
        data = deep_merge(data, {"pretrain": {"budget_flops": None, "minutes": minutes}})
    if directory is not None:
        data["dir"] = directory
    return load_config(RecipeConfig, data=data, overrides=overrides)
