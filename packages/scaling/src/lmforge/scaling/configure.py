"""Turn a compute-optimal parameter count into a concrete ``TransformerLM`` shape.

The search walks depths and widths (head dimension 64 once d_model allows it, smaller for tiny
models), sets d_ff to hit the target non-embedding count exactly (kept within 2x..4x d_model, the
range SwiGLU widths live in), and among shapes within ``tolerance`` of the target picks the one
whose width/depth ratio is closest to ``aspect`` (Kaplan et al. found loss flat over a wide band
around ~50-100). Counts come from ``lmforge.model.accounting`` so they match the built model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from lmforge.core import LmforgeError


@dataclass(frozen=True)
class Configuration:
    compute: float
    target_params: float  # N_opt from the law (non-embedding)
    model: dict[str, Any]  # ModelConfig fields
    params: int  # non-embedding parameters of ``model``
    params_total: int
    tokens: int  # tokens that spend exactly ``compute`` FLOPs on this shape (exact accounting)
    law_tokens: float  # D_opt from the law
    predicted_loss: float
    batch_size: int | None
    lr: float | None
    hyper_source: str  # which runs the batch size / lr came from

    @property
    def relative_error(self) -> float:
        return self.params / self.target_params - 1

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "relative_error": self.relative_error}


WIDTHS = (8, *range(16, 16385, 16))  # d_model 8 only matters for the tiniest (CPU sweep) models


def _head_dim(d_model: int) -> int:
    for hd in (64, 32, 16, 8):
        if d_model % hd == 0 and d_model // hd >= 1 and (hd <= d_model // 2 or hd == 8):
            return hd
    return d_model


def search_shape(target: float, vocab_size: int, context_length: int, aspect: float = 64.0,
                 tolerance: float = 0.03, **model_extra: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """The shape (d_model, num_layers, num_heads, d_ff) whose non-embedding count is nearest ``target``."""
    from lmforge.model.accounting import count_parameters

    from .runs_dir import model_config

    if not target > 0:
        raise LmforgeError(f"target parameter count must be positive, got {target}")
    best: tuple[float, dict[str, Any], dict[str, int]] | None = None
    for layers in range(1, 129):
        for d_model in WIDTHS:
            base = dict(vocab_size=vocab_size, context_length=context_length, d_model=d_model,
                        num_layers=layers, num_heads=d_model // _head_dim(d_model), **model_extra)
            c0 = count_parameters(model_config({**base, "d_ff": 8}))["non_embedding"]
            c1 = count_parameters(model_config({**base, "d_ff": 16}))["non_embedding"]
            per_ff = (c1 - c0) / 8  # parameters per unit of d_ff (linear in d_ff)
            too_big = c0 - 8 * per_ff + 2 * d_model * per_ff > target * (1 + tolerance)
            if too_big and best is not None:
                break  # wider only gets bigger at this depth
            step = 8 if d_model < 512 else 64
            d_ff = round((target - (c0 - 8 * per_ff)) / per_ff / step) * step
            d_ff = min(max(d_ff, 2 * d_model), 4 * d_model)  # a miss is scored below, not skipped
            cfg = {**base, "d_ff": int(d_ff)}
            counts = count_parameters(model_config(cfg))
            err = abs(counts["non_embedding"] / target - 1)
            score = abs(math.log(d_model / layers / aspect)) + (0 if err <= tolerance else 10 + err)
            if best is None or score < best[0]:
                best = (score, cfg, {"non_embedding": counts["non_embedding"], "total": counts["total"]})
            if too_big:  # below the smallest model that exists: keep the nearest, stop widening
                break
        if layers > 1 and 16 * 2 * layers * 16 > target * 4:
            break
    if best is None:
        raise LmforgeError(f"no model shape has about {target:.3g} non-embedding parameters")
    return best[1], best[2]


def nearby_hyperparameters(table: pl.DataFrame | None, params: float) -> tuple[int | None, float | None, str]:
    """Batch size and learning rate of the best runs near ``params``: each budget's lowest-loss run,
    the three closest to ``params`` in log N, their median values."""
    if table is None or not {"batch_size", "lr"} <= set(table.columns):
        return None, None, "no runs with batch_size and lr recorded"
    runs = table.filter(pl.col("batch_size").is_not_null() & pl.col("lr").is_not_null())
    if runs.height == 0:
        return None, None, "no runs with batch_size and lr recorded"
    best = runs.sort("loss").group_by("budget", maintain_order=True).first()
    best = best.with_columns((pl.col("params").log() - math.log(params)).abs().alias("_dist")).sort("_dist")
    near = best.head(3)
    source = "median of the best run of each of the budgets nearest in N: " + ", ".join(near["name"])
    return (int(near["batch_size"].cast(pl.Float64).median()), float(near["lr"].cast(pl.Float64).median()),
            source)


def configure(law, compute: float, vocab_size: int | None = None, context_length: int | None = None,
              aspect: float = 64.0, tolerance: float = 0.03, **model_extra: Any) -> Configuration:
    from lmforge.model.accounting import flops_per_token

    from .runs_dir import model_config

    table = law.table
    if vocab_size is None:
        vocab_size = _mode(table, "vocab_size")
    if context_length is None:
        context_length = _mode(table, "context_length")
    if vocab_size is None or context_length is None:
        raise LmforgeError("configure needs vocab_size and context_length (the fitted runs lack them)")
    opt = law.optimal(compute)
    cfg, counts = search_shape(opt.params.value, int(vocab_size), int(context_length), aspect, tolerance,
                               **model_extra)
    per_token = flops_per_token(model_config(cfg))["total_training"]
    batch, lr, source = nearby_hyperparameters(table, opt.params.value)
    loss = float(law.predict_loss(counts["non_embedding"], opt.tokens.value))
    return Configuration(float(compute), opt.params.value, cfg, counts["non_embedding"], counts["total"],
                         int(compute // per_token), opt.tokens.value, loss, batch, lr, source)


def _mode(table: pl.DataFrame | None, col: str) -> int | None:
    if table is None or col not in table.columns:
        return None
    vals = table[col].drop_nulls()
    return int(vals.mode().sort()[0]) if vals.len() else None
