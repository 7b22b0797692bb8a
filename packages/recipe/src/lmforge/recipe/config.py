"""A recipe: one TOML whose sections are the stages' own configs, on top of a size preset.

    dir = "runs/recipe-laptop"   # every stage writes <dir>/<stage>/
    seed = 0
    device = "auto"              # auto = CUDA when present, else CPU
    [web]        source = "pydoc" | "urls" | "warc", modules, urls, warc_paths   (WebConfig)
    [data]       the data pipeline's PipelineConfig: filters, dedup, extract, executor
    [tokenizer]  vocab_size, pattern                                              (TokenizerStageConfig)
    [pretrain]   budget_flops or minutes, law, context_length, batch_size, lr    (PretrainStageConfig)
    task = ...   align's task part with its options beside the name (arithmetic by default), and
    train_size, eval_size: the problems drawn from it; all three shared by sft and grpo
    [sft]        align's SFTConfig;  [grpo] align's GRPOConfig
    [eval]       prompts, sample_tokens, task_samples                             (EvalStageConfig)

``load_recipe`` merges the size preset, the file and ``--set`` overrides, in that order (a part table
that names a different part replaces the one below it whole: its options belong to the old part).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmforge.align.config import GRPOConfig, SFTConfig, parse_parts, ref
from lmforge.core import ConfigError, PartRef, load_config
from lmforge.core.config import apply_overrides
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
    task: PartRef = ref("arithmetic")  # align's task part, e.g. {name = "arithmetic", max_operand = 29}
    train_size: int = 4000  # problems from the task's train split, for sft and grpo
    eval_size: int = 200  # held-out problems: every stage's accuracy is measured on the same ones
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    eval: EvalStageConfig = field(default_factory=EvalStageConfig)

    def __post_init__(self) -> None:
        parse_parts(self)


SHARED = ("task", "train_size", "eval_size")  # the recipe's, set on both align stages by the runner


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, table by table (a list, e.g. data.filters, is replaced whole)."""
    out = dict(base)
    for k, v in top.items():
        below = out.get(k)
        same_part = isinstance(v, dict) and isinstance(below, dict) and v.get("name", below.get("name")) == \
            below.get("name")
        out[k] = deep_merge(below, v) if same_part else v
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
    data = apply_overrides(RecipeConfig, data, overrides)
    for stage in ("sft", "grpo"):
        given = [k for k in SHARED if k in data.get(stage, {})]
        if given:  # the runner sets them from the recipe's own; a value here would be dropped silently
            raise ConfigError(f"{stage}.{given[0]}: set it at the top of the recipe ({given[0]} = ...), "
                              "where sft and grpo share it")
    return load_config(RecipeConfig, data=data)
