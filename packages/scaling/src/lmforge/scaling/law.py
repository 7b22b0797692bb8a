"""What every fitted scaling law offers: loss predictions, the compute-optimal point, a model shape.

A law is fitted from a run table (``Method.fit(table, **options)``), answers
``predict_loss(N, D)`` and ``optimal(C)`` with intervals, turns a budget into a concrete
``TransformerLM`` shape with ``configure(C)``, and round-trips through JSON (``save``/``load_law``) so
``lmforge scaling predict`` can reuse a fit without refitting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from lmforge.core import LmforgeError, atomic_write, get_part


@dataclass(frozen=True)
class Estimate:
    """A point estimate with an interval at ``level`` (a confidence or a prediction interval)."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return bool(self.low <= x <= self.high)

    def __format__(self, spec: str) -> str:
        spec = spec or ".4g"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


@dataclass(frozen=True)
class Optimum:
    """The compute-optimal allocation of a budget: parameters N, tokens D and the loss they reach."""

    compute: float
    params: Estimate
    tokens: Estimate
    loss: Estimate

    def __iter__(self):  # so ``N, D, loss = law.optimal(C)`` reads naturally
        return iter((self.params, self.tokens, self.loss))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ScalingLaw:
    """Base class of the ``scaling_law`` parts."""

    method: str = ""
    level: float = 0.95
    table: pl.DataFrame | None = None  # the runs it was fitted on (hyperparameters for configure)

    def predict_loss(self, params, tokens) -> np.ndarray:
        raise NotImplementedError

    def optimal(self, compute: float) -> Optimum:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """Fitted constants and exponents, each as {value, low, high}."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScalingLaw:
        raise NotImplementedError

    def configure(self, compute: float, **options):
        """A concrete model shape, token count, batch size and learning rate for ``compute`` FLOPs."""
        from .configure import configure

        return configure(self, compute, **options)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        doc = {"method": self.method, "level": self.level, "state": self.state(),
               "summary": self.summary(),
               "runs": self.table.to_dicts() if self.table is not None else None}
        atomic_write(path, json.dumps(doc, indent=1, default=float))
        return path


def estimate_dict(e: Estimate) -> dict[str, float]:
    return {"value": e.value, "low": e.low, "high": e.high}


def load_law(path: str | Path) -> ScalingLaw:
    """Load a law written by ``ScalingLaw.save``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        cls = get_part("scaling_law", doc["method"])
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise LmforgeError(f"{path}: not a saved scaling-law fit ({e})") from None
    law = cls.from_state(doc["state"])
    law.level = doc.get("level", law.level)
    if doc.get("runs"):
        law.table = pl.DataFrame(doc["runs"], strict=False)
    return law


def fit_law(method: str, table: pl.DataFrame, **options) -> ScalingLaw:
    """Fit the ``scaling_law`` part named ``method`` to ``table``."""
    return get_part("scaling_law", method).fit(table, **options)
