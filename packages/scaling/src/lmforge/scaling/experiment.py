"""An experiment request (a model shape trained for a FLOPs budget) and the backend interface.

Parts of kind ``experiment_backend`` are factories ``factory(**options) -> ExperimentBackend``. A
backend checks a request against its limits (``validate``) and runs it (``run``) to a result row
for the run table. The ``Lab`` puts the budget ledger in front of any backend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.core import LmforgeError

SHAPE_KEYS = ("vocab_size", "context_length", "d_model", "num_layers", "num_heads", "d_ff")


@dataclass(frozen=True)
class Experiment:
    """Train ``model`` (ModelConfig fields) for exactly ``flops`` FLOPs with these hyperparameters."""

    model: dict[str, Any]
    flops: float
    batch_size: int = 16
    lr: float = 3e-3
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific settings (warmup, ...)

    def canonical(self) -> dict[str, Any]:
        d = asdict(self)
        d["model"] = dict(sorted(self.model.items()))
        d["extra"] = dict(sorted(self.extra.items()))
        return d

    def key(self, backend: str) -> str:
        """Identity of this request: the same config asked twice gets the same key."""
        text = json.dumps({"backend": backend, **self.canonical()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        return cls(**d)


# name -> (low, high) inclusive; a request outside is refused before anything is charged
DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "flops": (1e6, 1e26),
    "batch_size": (1, 65536),
    "lr": (1e-6, 1.0),
    "d_model": (8, 65536),
    "num_layers": (1, 512),
    "num_heads": (1, 1024),
    "context_length": (2, 1 << 20),
    "vocab_size": (2, 1 << 22),
}


class ExperimentBackend:
    """Base of the backends: range checks shared by all, ``run`` supplied by each."""

    name = ""

    def __init__(self, limits: dict[str, tuple[float, float]] | None = None) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    def validate(self, exp: Experiment) -> None:
        missing = [k for k in ("vocab_size", "context_length", "d_model", "num_layers", "num_heads")
                   if k not in exp.model]
        if missing:
            raise LmforgeError(f"experiment refused: model shape lacks {', '.join(missing)}")
        values = {**exp.model, "flops": exp.flops, "batch_size": exp.batch_size, "lr": exp.lr}
        for key, (lo, hi) in self.limits.items():
            v = values.get(key)
            if v is None:
                continue
            if not isinstance(v, int | float) or not lo <= v <= hi:
                raise LmforgeError(f"experiment refused: {key}={v!r} is outside the allowed range "
                                   f"[{lo:g}, {hi:g}] of the {self.name} backend")
        if exp.model["d_model"] % exp.model["num_heads"]:
            raise LmforgeError(f"experiment refused: d_model={exp.model['d_model']} is not divisible by "
                               f"num_heads={exp.model['num_heads']}")
        per_step = self.flops_per_token(exp) * exp.batch_size * exp.model["context_length"]
        if exp.flops < per_step:
            raise LmforgeError(f"experiment refused: a budget of {exp.flops:.3g} FLOPs is less than one "
                               f"optimizer step ({per_step:.3g} FLOPs) of this model and batch size")

    def flops_per_token(self, exp: Experiment) -> float:
        from lmforge.model.accounting import flops_per_token

        from .runs_dir import model_config

        return float(flops_per_token(model_config(exp.model))["total_training"])

    def counts(self, exp: Experiment) -> dict[str, int]:
        from lmforge.model.accounting import count_parameters

        from .runs_dir import model_config

        c = count_parameters(model_config(exp.model))
        return {"params": int(c["non_embedding"]), "params_total": int(c["total"])}

    def tokens(self, exp: Experiment) -> float:
        """Training tokens D the run will see: its FLOPs over the exact per-token training cost."""
        return exp.flops / self.flops_per_token(exp)

    def loss_curve(self, exp: Experiment, row: dict[str, Any]) -> list[list[float]]:
        """``[tokens, loss]`` points of a finished run (for the service's ``GET /experiment``)."""
        return []

    def cost(self, exp: Experiment) -> float:
        """FLOPs charged to the ledger: the whole budget the request asks to spend."""
        return float(exp.flops)

    def run(self, exp: Experiment) -> dict[str, Any]:
        """A run-table row: name, params, params_total, tokens, flops, budget, loss, hyperparameters."""
        raise NotImplementedError
