"""The ``surrogate`` experiment backend: a loss from a known law plus noise, in microseconds.

For teaching and fast tests: it behaves like a training run under a FLOPs budget (same requests,
same limits, same ledger) but the loss is ``L(N, D) * exp(noise)``, seeded by the request so asking
twice gives the same answer. N is the shape's non-embedding count from model accounting and
D = C/(6N), the convention the closed-form allocation assumes.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np

from .experiment import Experiment, ExperimentBackend
from .known_law import KnownLaw


class SurrogateBackend(ExperimentBackend):
    """Known scaling law plus log-normal noise (no training; for tests and teaching)."""

    name = "surrogate"

    def __init__(self, law: KnownLaw | dict | None = None, noise: float = 0.01, delay: float = 0.0,
                 **limits: Any) -> None:
        super().__init__(limits.pop("limits", None))
        self.law = KnownLaw(**law) if isinstance(law, dict) else (law or KnownLaw())
        self.noise = noise
        self.delay = float(delay)  # seconds a "run" takes: lets a service show queues and live status

    def tokens(self, exp: Experiment) -> float:
        return exp.flops / (6 * self.counts(exp)["params"])

    def _noise_factor(self, exp: Experiment) -> float:
        seed = int(hashlib.sha256(exp.key(self.name).encode()).hexdigest()[:8], 16)
        return float(np.exp(np.random.default_rng(seed).normal(0, self.noise))) if self.noise else 1.0

    def run(self, exp: Experiment) -> dict[str, Any]:
        if self.delay:
            time.sleep(self.delay)
        counts = self.counts(exp)
        n = counts["params"]
        d = self.tokens(exp)
        loss = float(self.law.loss(n, d)) * self._noise_factor(exp)
        return {"name": f"surrogate-C{exp.flops:.3g}-N{n}", **counts, "tokens": d, "flops": exp.flops,
                "budget": exp.flops, "loss": loss, "batch_size": exp.batch_size, "lr": exp.lr,
                **{k: exp.model.get(k) for k in ("d_model", "num_layers", "num_heads", "d_ff",
                                                  "vocab_size", "context_length")}}

    def loss_curve(self, exp: Experiment, row: dict[str, Any]) -> list[list[float]]:
        """The law's loss after each fraction of the tokens, with the run's noise: ends at its loss."""
        n, d, factor = row["params"], row["tokens"], self._noise_factor(exp)
        return [[float(d * f), float(self.law.loss(n, d * f)) * factor] for f in np.linspace(0.05, 1, 20)]
