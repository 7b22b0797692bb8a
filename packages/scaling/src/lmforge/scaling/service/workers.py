"""Executors: where the dispatcher's experiments run.

An executor has a fixed number of slots (the cap on concurrent runs) and these calls:
``wait_ready(timeout)``, ``idle() -> slot | None``, ``label(slot)``, ``start(slot, exp_id, request)``,
``wait(timeout) -> [Outcome]``, ``running() -> [exp_id]`` and ``shutdown()``.
``local`` keeps that many long-lived worker processes (spawned, so the server's threads never
meet ``fork``), each running one experiment at a time; a worker that dies mid-run comes back as a
failed outcome naming its exit code, and is replaced. ``ray`` sends each experiment to a Ray cluster
as a task.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger("lmforge.scaling.service")


@dataclass
class Outcome:
    exp_id: int
    ok: bool
    row: dict[str, Any] = field(default_factory=dict)
    curve: list[list[float]] = field(default_factory=list)
    reason: str = ""


def run_request(backend_name: str, options: dict[str, Any], request: dict[str, Any], backend=None):
    """Run one experiment request: (row, curve). Shared by every executor."""
    from lmforge.core import get_part

    from ..experiment import Experiment

    backend = backend or get_part("experiment_backend", backend_name)(**options)
    exp = Experiment.from_dict(request)
    row = backend.run(exp)
    return row, backend.loss_curve(exp, row)


def _exit_with_parent(parent: int) -> None:
    # a worker whose server died (kill -9) must not run on: nobody would record its result
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def worker_main(conn: Connection, backend_name: str, options: dict[str, Any], parent: int) -> None:
    from lmforge.core import get_part

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    backend = get_part("experiment_backend", backend_name)(**options)
    import torch  # noqa: F401  (model accounting, which every backend runs, needs it: pay it before a run)

    conn.send("ready")  # imports done: only now may the dispatcher hand this worker a run
    while True:
        task = conn.recv()
        if task is None:
            return
        exp_id, request = task
        try:
            row, curve = run_request(backend_name, options, request, backend)
            conn.send(Outcome(exp_id, True, row, curve))
        except Exception as e:  # the run failed, not the worker: report it and take the next one
            conn.send(Outcome(exp_id, False, reason=f"{type(e).__name__}: {e}"))


class _Worker:
    def __init__(self, ctx, backend_name: str, options: dict[str, Any]) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, backend_name, options, os.getpid()),
                                   daemon=True, name="lmforge-scaling-worker")
        self.process.start()
        child.close()
        self.ready = False
        self.exp_id: int | None = None


class LocalExecutor:
    """``workers`` local processes, each running one experiment at a time."""

    def __init__(self, backend_name: str, options: dict[str, Any], workers: int = 2) -> None:
        self.backend_name, self.options = backend_name, options
        self.ctx = mp.get_context("spawn")
        self.workers = [_Worker(self.ctx, backend_name, options) for _ in range(workers)]

    def wait_ready(self, timeout: float) -> None:
        """Block until every worker has started (called before any run is handed out)."""
        deadline = time.monotonic() + timeout
        while not all(w.ready for w in self.workers) and time.monotonic() < deadline:
            if self.wait(0.2):
                raise RuntimeError("a worker reported a run before any was handed out")

    def idle(self) -> _Worker | None:
        return next((w for w in self.workers if w.ready and w.exp_id is None), None)

    def label(self, slot: _Worker) -> str:
        """Where a run goes, as ``GET /experiment`` shows it: ``pid@host`` of the worker process."""
        return f"{slot.process.pid}@{os.uname().nodename}"

    def start(self, slot: _Worker, exp_id: int, request: dict[str, Any]) -> None:
        slot.exp_id = exp_id
        slot.conn.send((exp_id, request))

    def wait(self, timeout: float) -> list[Outcome]:
        """Outcomes of finished runs; also notices workers that became ready or died."""
        watched = [w for w in self.workers if w.exp_id is not None or not w.ready]
        if not watched:
            time.sleep(timeout)
            return []
        ready = set(wait([w.conn for w in watched] + [w.process.sentinel for w in watched], timeout))
        out = []
        for w in watched:
            message = None
            if w.conn in ready:
                try:
                    message = w.conn.recv()
                except EOFError:  # died while sending; its sentinel says how below
                    pass
            if message == "ready":
                w.ready = True
            elif message is not None:
                out.append(message)
                w.exp_id = None
            elif w.process.sentinel in ready or not w.process.is_alive():
                w.process.join(1)
                why = f"worker process {w.process.pid} died (exit code {w.process.exitcode})"
                if w.exp_id is not None:
                    out.append(Outcome(w.exp_id, False, reason=why))
                else:
                    log.warning("%s while starting; starting another", why)
                self._replace(w)
        return out

    def _replace(self, dead: _Worker) -> None:
        dead.conn.close()
        self.workers[self.workers.index(dead)] = _Worker(self.ctx, self.backend_name, self.options)

    def running(self) -> list[int]:
        return [w.exp_id for w in self.workers if w.exp_id is not None]

    def shutdown(self) -> None:
        for w in self.workers:
            if w.process.is_alive():
                if w.exp_id is None:
                    w.conn.send(None)
                    w.process.join(2)
                if w.process.is_alive():
                    w.process.kill()
                    w.process.join(2)
            w.conn.close()


class RayExecutor:
    """Each experiment a Ray task (``ray.init(address)``: a cluster, or a local one when empty)."""

    def __init__(self, backend_name: str, options: dict[str, Any], workers: int = 2, address: str = "",
                 num_cpus: float = 1.0, num_gpus: float = 0.0) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=address or None, ignore_reinit_error=True, log_to_driver=False,
                     include_dashboard=False)
        self.ray = ray
        self.backend_name, self.options, self.slots = backend_name, options, workers
        self.remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(run_request)
        self.tasks: dict[Any, int] = {}

    def wait_ready(self, timeout: float) -> None:
        """Ray starts its workers on demand."""

    def idle(self) -> int | None:
        return len(self.tasks) if len(self.tasks) < self.slots else None

    def label(self, slot: int) -> str:
        return "ray"  # a Ray task has no process of ours to watch; Ray reports its failures

    def start(self, slot: int, exp_id: int, request: dict[str, Any]) -> None:
        self.tasks[self.remote.remote(self.backend_name, self.options, request)] = exp_id

    def wait(self, timeout: float) -> list[Outcome]:
        if not self.tasks:
            time.sleep(timeout)
            return []
        done, _ = self.ray.wait(list(self.tasks), num_returns=len(self.tasks), timeout=timeout)
        out = []
        for ref in done:
            exp_id = self.tasks.pop(ref)
            try:
                row, curve = self.ray.get(ref)
                out.append(Outcome(exp_id, True, row, curve))
            except Exception as e:  # a task error or a lost worker: Ray says which
                out.append(Outcome(exp_id, False, reason=f"{type(e).__name__}: {e}"))
        return out

    def running(self) -> list[int]:
        return list(self.tasks.values())

    def shutdown(self) -> None:
        for ref in self.tasks:
            self.ray.cancel(ref, force=True)
        self.tasks.clear()


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}
