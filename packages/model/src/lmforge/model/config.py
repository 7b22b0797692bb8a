"""``ModelConfig``: the one dataclass that says which Transformer to build."""

from __future__ import annotations

import math
from dataclasses import dataclass


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
    attention: str = "reference"  # part kind "attention"
    norm: str = "rmsnorm"  # part kind "norm"
    ffn: str = "swiglu"  # part kind "ffn"
    position: str = "rope"  # part kind "position"
    norm_placement: str = "pre"  # "pre" or "post"
    tie_embeddings: bool = False
    checkpoint_activations: int = 0  # 0 = off; N = recompute activations in segments of N blocks

    def validate(self) -> None:
        """Raise a one-line ``ConfigError`` for a shape or part name that cannot work."""
        from lmforge.core import ConfigError, part_names

        for key in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"model.{key} must be positive, got {getattr(self, key)}")
        if self.d_model % self.num_heads:
            raise ConfigError(f"model.d_model ({self.d_model}) must be divisible by model.num_heads "
                              f"({self.num_heads})")
        if (self.d_model // self.num_heads) % 2 and self.position == "rope":
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
        for kind in ("attention", "norm", "ffn", "position"):
            name = getattr(self, kind)
            known = part_names(kind)
            if name not in known:
                raise ConfigError(f"unknown {kind} {name!r} (model.{kind}); known: {', '.join(known)}")
