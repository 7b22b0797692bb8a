"""``ModelConfig``: the one dataclass that says which Transformer to build.

Its four parts (``attention``, ``norm``, ``ffn``, ``position``) are core ``PartRef``s: a name
(``norm = "rmsnorm"``) or a table with the part's options (``norm = {name = "rmsnorm", eps = 1e-6}``),
passed to the part when the model is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from lmforge.core import PartRef, config_to_dict

PART_KINDS = ("attention", "norm", "ffn", "position")


def _part(name: str):
    return field(default_factory=lambda: PartRef(name))


@dataclass
class ModelConfig:
    vocab_size: int = 10_000
    context_length: int = 256
    d_model: int = 512
    num_layers: int = 4
    num_heads: int = 16
    num_kv_heads: int | None = None  # None = num_heads (plain multi-head); fewer = grouped-query
    d_ff: int | None = None  # None = the ffn part's default (swiglu ~8/3 d_model, silu_mlp 4 d_model)
    rope_theta: float = 10_000.0
    attention: PartRef = _part("reference")  # part kind "attention"
    norm: PartRef = _part("rmsnorm")  # part kind "norm"
    ffn: PartRef = _part("swiglu")  # part kind "ffn"
    position: PartRef = _part("rope")  # part kind "position"
    norm_placement: str = "pre"  # "pre" or "post"
    tie_embeddings: bool = False
    checkpoint_activations: int = 0  # 0 = off; N = recompute activations in segments of N blocks

    def __post_init__(self) -> None:
        # code and older saved configs (checkpoints, policy folders) give a part as a plain name
        for kind in PART_KINDS:
            setattr(self, kind, PartRef.parse(getattr(self, kind), f"model.{kind}"))

    def to_dict(self) -> dict[str, Any]:
        """Every field (None included), each part as its TOML form: a name, or ``{name, <options>}``
        (what ``ModelConfig(**d)`` reads back; checkpoints and policy folders store this)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: config_to_dict(v) if k in PART_KINDS else v for k, v in values.items()}

    def validate(self) -> None:
        """Raise a one-line ``ConfigError`` for a shape or part name that cannot work."""
        from lmforge.core import ConfigError, check_part_options, part_names

        for key in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"model.{key} must be positive, got {getattr(self, key)}")
        if self.d_model % self.num_heads:
            raise ConfigError(f"model.d_model ({self.d_model}) must be divisible by model.num_heads "
                              f"({self.num_heads})")
        if (self.d_model // self.num_heads) % 2 and self.position.name == "rope":
            raise ConfigError(f"RoPE needs an even head dimension; d_model/num_heads = "
                              f"{self.d_model // self.num_heads}")
        if self.num_kv_heads is not None and self.num_kv_heads < 1:  # 0 must not mean "unset"
            raise ConfigError(f"model.num_kv_heads must be >= 1 (or unset for num_heads), "
                              f"got {self.num_kv_heads}")
        kv = self.num_kv_heads or self.num_heads
        if self.num_heads % kv:
            raise ConfigError(f"model.num_heads ({self.num_heads}) must be divisible by model.num_kv_heads "
                              f"({self.num_kv_heads})")
        if self.d_ff is not None and self.d_ff <= 0:
            raise ConfigError(f"model.d_ff must be positive (or unset), got {self.d_ff}")
        if not (math.isfinite(self.rope_theta) and self.rope_theta > 0):
            raise ConfigError(f"model.rope_theta must be a finite number > 0, got {self.rope_theta}")
        if self.norm_placement not in ("pre", "post"):
            raise ConfigError(f"model.norm_placement must be 'pre' or 'post', got {self.norm_placement!r}")
        if self.checkpoint_activations < 0:
            raise ConfigError("model.checkpoint_activations must be >= 0")
        for kind in PART_KINDS:
            ref = getattr(self, kind)
            known = part_names(kind)
            if ref.name not in known:
                raise ConfigError(f"unknown {kind} {ref.name!r} (model.{kind}); known: {', '.join(known)}")
            if ref.options:  # a misspelled option is one line now, not a TypeError deep in the build
                check_part_options(kind, ref, f"model.{kind}")
