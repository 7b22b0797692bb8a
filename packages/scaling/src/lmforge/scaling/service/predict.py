"""``POST /predict``: fit a law to a key's finished runs, then answer from it.

The fitting, intervals and shape search are the library's (``law.fit_law``, ``optimal``,
``configure``, ``ParametricLaw.loss_interval``); this module only turns a request into those calls
and the answers into JSON.
"""

from __future__ import annotations

import math
from typing import Any

from ..experiment import Experiment, ExperimentBackend
from ..law import Estimate, ScalingLaw, estimate_dict, fit_law
from ..table import table_from_records


class LawCache:
    """One fit per (key, method, options, finished runs): a dashboard or client asking again is free."""

    def __init__(self, size: int = 32) -> None:
        self.size, self.laws = size, {}

    def get(self, rows: list[dict[str, Any]], key_id: int, method: str, **options: Any) -> ScalingLaw:
        ident = (key_id, method, tuple(sorted(options.items())), tuple(r["experiment"] for r in rows))
        if ident not in self.laws:
            if len(self.laws) >= self.size:
                self.laws.pop(next(iter(self.laws)))
            self.laws[ident] = fit_law(method, table_from_records(rows, source="service"), **options)
        return self.laws[ident]


def loss_at(law: ScalingLaw, backend: ExperimentBackend, exp: Experiment) -> dict[str, Any]:
    """The loss of ``exp``'s shape trained on ``exp.flops``, counted the way the backend counts runs."""
    backend.validate(exp)
    n, d = backend.counts(exp)["params"], backend.tokens(exp)
    if hasattr(law, "loss_interval"):
        est = law.loss_interval(n, d)
    else:  # approach 2 has no run-level noise model: a point prediction only
        est = Estimate(float(law.predict_loss(n, d)), math.nan, math.nan)
    return {"params": n, "tokens": d, "flops": exp.flops, "loss": estimate_dict(est)}


def answer(law: ScalingLaw, backend: ExperimentBackend, budget: float, runs: int,
           exp: Experiment | None = None, vocab_size: int | None = None,
           context_length: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"method": law.method, "level": law.level, "runs": runs, "budget": budget,
                           "fit": law.summary(), "optimal": law.optimal(budget).to_dict()}
    config = law.configure(budget, vocab_size=vocab_size, context_length=context_length)
    out["configuration"] = config.to_dict()
    if exp is not None:
        out["at_shape"] = loss_at(law, backend, exp)
    return finite(out)


def finite(obj: Any) -> Any:
    """NaN and infinities (an interval the method cannot give) become null: JSON has no NaN."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj
