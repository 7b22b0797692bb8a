"""The parity harness: every part that declares ``reference=`` is compared with its reference.

How two parts of a kind are compared is itself a part: the ``parity_check`` registered under the
kind's name (``compare(candidate, reference, **options) -> ParityResult``). A kind whose parts declare
references but that has no check is reported as "no check", which counts as a failure: a declared
reference that nothing verifies is a promise nobody keeps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from .contracts import ParityResult
from .errors import LmforgeError, UnknownPartError
from .registry import Registry

PASS, FAIL, NO_CHECK, ERROR = "pass", "FAIL", "no check", "error"


@dataclass(frozen=True)
class ParityRow:
    kind: str
    part: str
    reference: str
    max_error: float | None
    tolerance: float | None
    seconds: float
    verdict: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def referenced_parts(registry: Registry, kind: str | None = None, name: str | None = None):
    """The parts with a ``reference`` (all, one kind's, or the one named), in listing order."""
    if name is not None:
        if kind is None:
            raise LmforgeError("a part name needs its kind: lmforge parity KIND NAME")
        part = registry.part(kind, name)
        if part.reference is None:
            why = f" (it is an ablation of {part.ablation_of!r})" if part.ablation_of else ""
            raise LmforgeError(f"{kind} {name!r} declares no reference, so there is nothing to check{why}")
        return [part]
    if kind is not None and kind not in registry.kinds():
        kinds = ", ".join(registry.kinds())
        raise UnknownPartError(f"no parts of kind {kind!r} are registered (kinds: {kinds})")
    return [p for p in registry if p.reference is not None and p.kind != "parity_check"
            and (kind is None or p.kind == kind)]


def check_one(registry: Registry, kind: str, name: str, reference: str) -> ParityRow:
    """Run the ``kind`` parity check on ``name`` against ``reference``; never raises."""
    if ("parity_check", kind) not in registry:
        return ParityRow(kind, name, reference, None, None, 0.0, NO_CHECK,
                         f"no parity_check registered for kind {kind!r}")
    start = time.perf_counter()
    try:
        compare = registry.get("parity_check", kind)
        candidate, ref = registry.get(kind, name), registry.get(kind, reference)
        result = compare(candidate, ref)
        if not isinstance(result, ParityResult):
            raise TypeError(f"the {kind} parity_check returned {type(result).__name__}, not ParityResult")
    except Exception as e:  # a check that crashes is a failed check, reported in its row
        return ParityRow(kind, name, reference, None, None, time.perf_counter() - start, ERROR,
                         f"{type(e).__name__}: {e}")
    seconds = time.perf_counter() - start
    passed = result.passed and not math.isnan(result.max_error)
    return ParityRow(kind, name, reference, result.max_error, result.tolerance, seconds,
                     PASS if passed else FAIL, result.detail)


def run_parity(registry: Registry, kind: str | None = None, name: str | None = None) -> list[ParityRow]:
    """One row per referencing part (see :func:`referenced_parts`)."""
    return [check_one(registry, p.kind, p.name, p.reference) for p in referenced_parts(registry, kind, name)]


def format_rows(rows: list[ParityRow]) -> list[list[str]]:
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3g}"

    return [[r.kind, r.part, r.reference, num(r.max_error), num(r.tolerance), f"{r.seconds:.2f}s",
             r.verdict + (f": {r.detail}" if r.detail and not r.passed else "")] for r in rows]


HEADER = ["kind", "part", "reference", "max error", "tolerance", "time", "verdict"]
