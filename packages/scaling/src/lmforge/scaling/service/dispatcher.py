"""The dispatcher: a thread that feeds queued experiments to an executor and records what comes back.

A database error that passes (busy, briefly unreachable) is retried; any other error in the loop is
a bug and stops the service rather than leaving it accepting experiments it never runs.

On start, experiments the database still calls ``running`` belong to a service that died (its
workers exit with it), so they are marked failed and refunded; queued ones simply run. On a clean
stop, the experiments in flight go back to the queue, so the next start runs them again.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from .store import Store
from .workers import EXECUTORS

log = logging.getLogger("lmforge.scaling.service")


class Dispatcher:
    def __init__(self, store: Store, backend: str, options: dict[str, Any], executor: str = "local",
                 workers: int = 2, executor_options: dict[str, Any] | None = None,
                 poll_s: float = 0.1, on_failure: Callable[[], None] | None = None) -> None:
        self.store, self.poll_s = store, poll_s
        # by default a dispatcher bug stops the whole service (uvicorn shuts down on SIGTERM, and the
        # lifespan hands the runs in flight back to the queue for the next start)
        self.on_failure = on_failure or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        self.backend = backend
        self._stop = threading.Event()
        self.recovered = self._recover()
        self.executor = EXECUTORS[executor](backend, options, workers, **(executor_options or {}))
        self.thread = threading.Thread(target=self._loop, name="lmforge-dispatcher", daemon=True)

    def _recover(self) -> int:
        dead = self.store.running()
        for exp_id, worker in dead:
            self.store.fail(exp_id, f"its worker ({worker or 'unknown'}) died when the service stopped")
        if dead:
            log.warning("marked %d experiments of a stopped service failed and refunded", len(dead))
        return len(dead)

    def start(self, ready_timeout: float = 300.0) -> None:
        """Start dispatching once the workers are up, so ``--workers N`` means N from the first run."""
        self.executor.wait_ready(ready_timeout)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)
        for exp_id in self.executor.running():
            self.store.requeue(exp_id)
        self.executor.shutdown()

    def _loop(self) -> None:
        from sqlalchemy.exc import OperationalError

        while not self._stop.is_set():
            try:
                self._step()
            except OperationalError:  # the database busy or unreachable for a moment: try again
                log.exception("dispatcher step failed on the database; retrying in 1 s")
                self._stop.wait(1.0)
            except Exception:  # a bug: a service that kept taking submits it never runs would hide it
                log.exception("the dispatcher failed; stopping the service")
                self.on_failure()
                return

    def _step(self) -> None:
        while (slot := self.executor.idle()) is not None:
            claimed = self.store.claim_next(self.executor.label(slot))
            if claimed is None:
                break
            exp_id, request, backend = claimed
            if backend != self.backend:
                self.store.fail(exp_id, f"submitted for the {backend!r} backend; this service runs "
                                        f"{self.backend!r}")
                continue
            self.executor.start(slot, exp_id, request)
        for outcome in self.executor.wait(self.poll_s):
            if outcome.ok:
                row = {**outcome.row, "experiment": outcome.exp_id}  # the id a fit's cache knows it by
                self.store.finish(outcome.exp_id, row, outcome.curve)
            else:
                self.store.fail(outcome.exp_id, outcome.reason)
                log.warning("experiment %d failed: %s", outcome.exp_id, outcome.reason)
