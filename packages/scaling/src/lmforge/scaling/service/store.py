"""Every read and write the service makes, each one transaction: keys, budgets, the experiment queue.

A key's budget is charged when an experiment is submitted (the reservation), set to what the run
really spent when it finishes, and refunded in full when it fails. ``used = SUM(charged)`` over the
key's experiments, so a refund is one column set to zero and the arithmetic never drifts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from lmforge.core import LmforgeError

from ..experiment import Experiment
from .db import api_keys, experiments


class OverBudgetError(LmforgeError):
    """The request needs more FLOPs than the key has left (HTTP 400)."""


class DuplicateError(LmforgeError):
    """The same configuration is already queued, running or done for this key (HTTP 409)."""

    def __init__(self, message: str, existing: int) -> None:
        super().__init__(message)
        self.existing = existing


def hash_key(key: str) -> str:
    # keys are 192 random bits, so a fast hash is as safe as a slow one: nothing to brute-force
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def write(self):
        """A transaction that takes the write lock first (SQLite ``BEGIN IMMEDIATE``)."""
        with self.engine.connect() as conn:
            conn.execution_options(write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self):
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- keys ------------------------------------------------------------------------------------

    def add_key(self, name: str, budget: float) -> str:
        """Create a key; the key itself is returned once and only its hash is stored."""
        if not budget > 0:
            raise LmforgeError(f"a key's budget must be a positive number of FLOPs, got {budget}")
        key = "lmf_" + secrets.token_urlsafe(24)
        try:
            with self.write() as conn:
                conn.execute(insert(api_keys).values(name=name, key_hash=hash_key(key), budget=float(budget),
                                                     created=time.time()))
        except IntegrityError:
            raise LmforgeError(f"a key named {name!r} already exists") from None
        return key

    def set_budget(self, name: str, budget: float) -> None:
        with self.write() as conn:
            changed = conn.execute(update(api_keys).where(api_keys.c.name == name).values(budget=budget))
            if not changed.rowcount:
                raise LmforgeError(f"no key named {name!r}")

    def keys(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(api_keys.c.id, api_keys.c.name, api_keys.c.budget)).mappings().all()
            return [{**r, **self._usage(conn, r["id"], r["budget"])} for r in rows]

    def authenticate(self, key: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(api_keys.c.id, api_keys.c.name, api_keys.c.budget)
                               .where(api_keys.c.key_hash == hash_key(key))).mappings().first()
        return dict(row) if row else None

    def _usage(self, conn: Connection, key_id: int, budget: float) -> dict[str, float]:
        used = conn.execute(select(func.coalesce(func.sum(experiments.c.charged), 0.0))
                            .where(experiments.c.key_id == key_id)).scalar_one()
        return {"budget": float(budget), "used": float(used), "left": float(budget) - float(used)}

    def budget(self, key_id: int) -> dict[str, Any]:
        with self.read() as conn:
            budget = conn.execute(select(api_keys.c.budget).where(api_keys.c.id == key_id)).scalar_one()
            counts = dict(conn.execute(select(experiments.c.status, func.count())
                                       .where(experiments.c.key_id == key_id)
                                       .group_by(experiments.c.status)).all())
            return {**self._usage(conn, key_id, budget), "experiments": counts}

    # -- submitting ------------------------------------------------------------------------------

    def submit(self, key_id: int, exp: Experiment, backend: str, cost: float) -> int:
        """Reserve ``cost`` FLOPs and queue ``exp``, or refuse: one transaction, so concurrent submits
        can never spend the same FLOPs twice."""
        config_hash = exp.key(backend)
        try:
            with self.write() as conn:
                # PostgreSQL: lock the key's row so its submits run one at a time (SQLite: already locked)
                budget = conn.execute(select(api_keys.c.budget).where(api_keys.c.id == key_id)
                                      .with_for_update()).scalar_one()
                existing = conn.execute(select(experiments.c.id).where(
                    experiments.c.key_id == key_id, experiments.c.config_hash == config_hash,
                    experiments.c.status != "failed")).scalar()
                if existing is not None:
                    raise DuplicateError(f"the same configuration is already experiment {existing}", existing)
                usage = self._usage(conn, key_id, budget)
                if cost > usage["left"]:
                    raise OverBudgetError(f"request refused: it needs {cost:.4g} FLOPs but only "
                                          f"{usage['left']:.4g} of the key's {budget:.4g} FLOPs remain")
                return conn.execute(insert(experiments).values(
                    key_id=key_id, config_hash=config_hash, backend=backend,
                    request=json.dumps(exp.canonical(), default=str), status="queued", flops=float(exp.flops),
                    charged=float(cost), refunded=0.0, submitted=time.time())).inserted_primary_key[0]
        except IntegrityError:  # a concurrent identical submit won the race past the check above
            raise DuplicateError("the same configuration was just submitted", -1) from None

    # -- reading experiments ---------------------------------------------------------------------

    @staticmethod
    def _public(row: Any, with_curve: bool) -> dict[str, Any]:
        out = {k: row[k] for k in ("id", "status", "backend", "flops", "charged", "refunded", "reason",
                                   "worker", "submitted", "started", "finished")}
        out["request"] = json.loads(row["request"])
        out["result"] = json.loads(row["result"]) if row["result"] else None
        if with_curve:
            out["curve"] = json.loads(row["curve"]) if row["curve"] else []
        return out

    def experiments(self, key_id: int) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(experiments).where(experiments.c.key_id == key_id)
                                .order_by(experiments.c.id)).mappings().all()
        return [self._public(r, with_curve=False) for r in rows]

    def experiment(self, key_id: int, exp_id: int) -> dict[str, Any] | None:
        """One of this key's experiments; another key's experiment is as absent as a missing one."""
        with self.read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.id == exp_id,
                                                         experiments.c.key_id == key_id)).mappings().first()
        return self._public(row, with_curve=True) if row else None

    def finished_rows(self, key_id: int) -> list[dict[str, Any]]:
        with self.read() as conn:
            rows = conn.execute(select(experiments.c.result).where(
                experiments.c.key_id == key_id, experiments.c.status == "done")
                .order_by(experiments.c.id)).scalars().all()
        return [json.loads(r) for r in rows]

    # -- the dispatcher's side -------------------------------------------------------------------

    def claim_next(self, worker: str) -> tuple[int, dict[str, Any], str] | None:
        """Mark the oldest queued experiment running on ``worker``: (id, request, backend) or None."""
        with self.write() as conn:
            row = conn.execute(select(experiments.c.id, experiments.c.request, experiments.c.backend)
                               .where(experiments.c.status == "queued").order_by(experiments.c.id)
                               .limit(1).with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            conn.execute(update(experiments).where(experiments.c.id == row.id).values(
                status="running", worker=worker, started=time.time()))
        return row.id, json.loads(row.request), row.backend

    def finish(self, exp_id: int, row: dict[str, Any], curve: list[list[float]]) -> None:
        """Done: the charge becomes what the run really spent (the reservation when it does not say)."""
        spent = row.get("flops")
        with self.write() as conn:
            values: dict[str, Any] = dict(status="done", result=json.dumps(row, default=float),
                                          curve=json.dumps(curve), finished=time.time())
            if isinstance(spent, int | float) and spent > 0:
                values["charged"] = float(spent)
            conn.execute(update(experiments).where(experiments.c.id == exp_id,
                                                   experiments.c.status == "running").values(**values))

    def fail(self, exp_id: int, reason: str) -> None:
        """Failed: refund everything it was charged and say why."""
        with self.write() as conn:
            conn.execute(update(experiments).where(experiments.c.id == exp_id,
                                                   experiments.c.status.in_(("queued", "running"))).values(
                status="failed", reason=reason, refunded=experiments.c.charged, charged=0.0,
                finished=time.time()))

    def running(self) -> list[tuple[int, str | None]]:
        with self.read() as conn:
            return [(r.id, r.worker) for r in conn.execute(
                select(experiments.c.id, experiments.c.worker).where(experiments.c.status == "running"))]

    def requeue(self, exp_id: int) -> None:
        with self.write() as conn:
            conn.execute(update(experiments).where(experiments.c.id == exp_id,
                                                   experiments.c.status == "running").values(
                status="queued", worker=None, started=None))
