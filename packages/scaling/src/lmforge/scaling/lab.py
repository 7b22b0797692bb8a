"""The lab: a backend behind the budget ledger. Ask for an experiment, get a run-table row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmforge.core import get_part

from .experiment import Experiment, ExperimentBackend
from .ledger import Ledger


class Lab:
    def __init__(self, backend: ExperimentBackend | str, ledger: Ledger | str | Path,
                 total_flops: float | None = None, **backend_options: Any) -> None:
        if isinstance(backend, str):
            backend = get_part("experiment_backend", backend)(**backend_options)
        self.backend = backend
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger, total_flops)

    def run(self, exp: Experiment) -> dict[str, Any]:
        """Validate, charge, run, record. A repeat of a recorded request costs nothing and returns
        the recorded row with ``cached=True``."""
        self.backend.validate(exp)
        key = exp.key(self.backend.name)
        recorded = self.ledger.reserve(key, self.backend.name, exp.canonical(), self.backend.cost(exp))
        if recorded is not None:
            return {**recorded, "cached": True}
        try:
            row = self.backend.run(exp)
        except BaseException:
            self.ledger.refund(key)
            raise
        row = {**row, "experiment": key}
        spent = row.get("flops")
        self.ledger.complete(key, row, float(spent) if spent else None)
        return {**row, "cached": False}

    def results(self) -> list[dict[str, Any]]:
        return self.ledger.results()
