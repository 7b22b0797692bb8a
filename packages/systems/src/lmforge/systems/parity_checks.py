"""How two parallel backends are compared (the ``parallel_backend`` parity check).

The candidate trains a tiny transformer for ``steps`` steps on 2 forked gloo ranks (CPU), each rank
on its half of every batch, rank 1 starting from perturbed weights (so the backend's broadcast is
exercised); the reference trains the same model on the full batches in one rank. Averaged gradients
equal full-batch gradients up to summation order, so the full state dicts must agree: the error is
the largest absolute parameter difference over both ranks, tolerance 1e-6 (float32, 3 AdamW steps).
This is :mod:`lmforge.systems.parallel.parity`, the harness the systems tests use.
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
import warnings

from lmforge.core.contracts import ParityResult
from lmforge.core.parity import ParitySkipped

TOLERANCE = 1e-6
_NEEDS = {"deepspeed": "deepspeed"}  # part name -> optional library it cannot run without


def _name_of(kind: str, part) -> str:
    """The registered name of a resolved part: the gloo workers build backends by name."""
    from lmforge.core import get_registry

    for p in get_registry():
        if p.kind == kind and not p.lazy and p.obj is part:
            return p.name
    raise LookupError(f"{part!r} is not a resolved {kind} part of the registry")


def _run(name: str, world: int, steps: int) -> list[dict]:
    from lmforge.systems.parallel.parity import run_backends

    with tempfile.TemporaryDirectory(prefix="lmforge-parity-") as out, warnings.catch_warnings():
        # the forked ranks inherit this filter: torch's deprecation notices would bury the table
        warnings.simplefilter("ignore", FutureWarning)
        ranks = run_backends([("run", name, {})], out, world=world, steps=steps)
    for rank, result in enumerate(ranks):
        if "error" in result["run"]:
            raise RuntimeError(f"{name} failed on rank {rank} of {world}:\n{result['run']['error']}")
    return [r["run"]["state"] for r in ranks]


@functools.lru_cache(maxsize=4)
def _reference_state(name: str, steps: int) -> dict:
    """One rank on the full batches; cached since every backend is checked against the same one."""
    return _run(name, world=1, steps=steps)[0]


def parallel_backend_parity(candidate, reference, steps: int = 3) -> ParityResult:
    """Full state dicts after ``steps`` steps: candidate on 2 gloo ranks vs reference on 1."""
    cand_name, ref_name = _name_of("parallel_backend", candidate), _name_of("parallel_backend", reference)
    for name in (cand_name, ref_name):
        if name in _NEEDS and importlib.util.find_spec(_NEEDS[name]) is None:
            raise ParitySkipped(f"{_NEEDS[name]} is not installed")
    want = _reference_state(ref_name, steps)
    error, where = 0.0, ""
    for rank, got in enumerate(_run(cand_name, world=2, steps=steps)):
        if sorted(got) != sorted(want):
            return ParityResult(float("inf"), TOLERANCE, False,
                                f"rank {rank}: state dict keys differ: {sorted(set(got) ^ set(want))[:5]}")
        for key, w in want.items():
            e = (got[key].float() - w.float()).abs().max().item() if w.numel() else 0.0
            if e > error or e != e:
                error, where = e, f"rank {rank}: {key}"
    passed = error <= TOLERANCE
    return ParityResult(error, TOLERANCE, passed, "" if passed else f"largest difference in {where}")
