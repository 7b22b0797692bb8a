"""The FLOPs budget ledger: a SQLite database several processes can share, like a lab's quota API.

Every experiment is charged its FLOPs when it starts (a reservation, so two processes cannot both
spend the last of the budget) and refunded if it fails. A request whose key is already recorded is
answered from the record at no cost. Writes happen inside ``BEGIN IMMEDIATE`` transactions, which
SQLite serialises across processes; WAL mode lets readers go on while one process writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from lmforge.core import LmforgeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    key TEXT PRIMARY KEY, backend TEXT NOT NULL, request TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done')),
    flops REAL NOT NULL, result TEXT, pid INTEGER, host TEXT, started REAL, finished REAL
);
"""


class BudgetExceededError(LmforgeError):
    """A request that would spend more FLOPs than the ledger has left."""


def _alive(pid: int | None, host: str | None) -> bool:
    if pid is None or host != os.uname().nodename:
        return True  # another machine's process: trust its reservation
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    def __init__(self, path: str | Path, total_flops: float | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='total_flops'").fetchone()
            if row is None:
                if total_flops is None:
                    raise LmforgeError(f"{self.path}: new ledger needs a total FLOPs budget")
                db.execute("INSERT INTO meta VALUES ('total_flops', ?)", (repr(float(total_flops)),))
            elif total_flops is not None and float(row[0]) != float(total_flops):
                raise LmforgeError(f"{self.path}: ledger already has a total of {float(row[0]):.4g} FLOPs "
                                   f"(asked for {total_flops:.4g}); use set_total to change it")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=60000")
        return db

    # -- reading ---------------------------------------------------------------------------------

    @property
    def total(self) -> float:
        with self._connect() as db:
            return float(db.execute("SELECT value FROM meta WHERE key='total_flops'").fetchone()[0])

    def set_total(self, total_flops: float) -> None:
        with self._connect() as db:
            db.execute("UPDATE meta SET value=? WHERE key='total_flops'", (repr(float(total_flops)),))

    def spent(self) -> float:
        with self._connect() as db:
            return float(db.execute("SELECT COALESCE(SUM(flops), 0) FROM experiments").fetchone()[0])

    def remaining(self) -> float:
        return self.total - self.spent()

    def results(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT result FROM experiments WHERE status='done' "
                              "ORDER BY finished").fetchall()
        return [json.loads(r[0]) for r in rows]

    def lookup(self, key: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT result FROM experiments WHERE key=? AND status='done'",
                             (key,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- charging --------------------------------------------------------------------------------

    def reserve(self, key: str, backend: str, request: dict[str, Any], flops: float,
                wait_s: float = 3600.0) -> dict[str, Any] | None:
        """Charge ``flops`` for ``key`` and return None (the caller now runs it), or return the
        recorded result if ``key`` was already done (no charge). Waits while another live process
        is running the same key; refuses with ``BudgetExceededError`` when the budget is short."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._connect() as db:
                db.execute("BEGIN IMMEDIATE")
                try:
                    outcome = self._reserve_once(db, key, backend, request, flops)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            if outcome != "busy":
                return outcome
            if time.monotonic() > deadline:
                raise LmforgeError(f"experiment {key} is still running in another process; gave up waiting")
            time.sleep(0.5)

    def _reserve_once(self, db: sqlite3.Connection, key: str, backend: str, request: dict[str, Any],
                      flops: float) -> dict[str, Any] | None | str:
        row = db.execute("SELECT status, result, pid, host FROM experiments WHERE key=?", (key,)).fetchone()
        if row and row[0] == "done":
            return json.loads(row[1])
        if row and _alive(row[2], row[3]):
            return "busy"
        if row:
            db.execute("DELETE FROM experiments WHERE key=?", (key,))  # its process died: release it
        total = float(db.execute("SELECT value FROM meta WHERE key='total_flops'").fetchone()[0])
        spent = float(db.execute("SELECT COALESCE(SUM(flops), 0) FROM experiments").fetchone()[0])
        if flops > total - spent:
            raise BudgetExceededError(
                f"request refused: it needs {flops:.4g} FLOPs but only {total - spent:.4g} of the "
                f"{total:.4g} FLOPs budget remain ({self.path})")
        db.execute(
            "INSERT INTO experiments (key, backend, request, status, flops, pid, host, started) "
            "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (key, backend, json.dumps(request, default=str), float(flops), os.getpid(), os.uname().nodename,
             time.time()))
        return None

    def complete(self, key: str, result: dict[str, Any], flops: float | None = None) -> None:
        """Record the result; ``flops`` replaces the reservation by what the run really spent."""
        with self._connect() as db:
            db.execute("UPDATE experiments SET status='done', result=?, finished=?, flops=COALESCE(?, flops) "
                       "WHERE key=?", (json.dumps(result, default=float), time.time(), flops, key))

    def refund(self, key: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM experiments WHERE key=? AND status='running'", (key,))
