"""Executors run one function over many shards: ``executor.map(fn, items, desc, stop) -> list`` (in order).

``stop(result)`` returning true ends the map early: unfinished items are cancelled and their results
are ``None`` (the pipeline stops at the first failed shard unless told to keep going).

``local`` uses a fork-based multiprocessing pool (``workers=1`` runs in-process); ``ray`` submits one
Ray task per item, for corpora beyond one machine. The function must be a module-level callable and
each call independent, so both give the same results.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

Stop = Callable[[Any], bool] | None


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="shard", disable=not enabled, leave=False)


class LocalExecutor:
    """Multiprocessing over shards on this machine (fork: workers inherit loaded models)."""

    def __init__(self, workers: int = 0, progress: bool = True) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.progress = progress

    @property
    def in_process(self) -> bool:
        """Whether the work runs in this process (then ``memory://`` paths are shared with it)."""
        return self.workers <= 1

    def map(
        self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "", stop: Stop = None
    ) -> list[Any]:
        items = list(items)
        workers = min(self.workers, len(items))
        out: list[Any] = []
        with _bar(len(items), desc, self.progress) as bar:
            if workers <= 1:
                results = map(fn, items)
                pool = None
            else:
                pool = mp.get_context("fork").Pool(workers, maxtasksperchild=None)
                results = pool.imap(fn, items)
            try:
                for result in results:
                    out.append(result)
                    bar.update()
                    if stop is not None and stop(result):
                        break
            finally:
                if pool is not None:
                    pool.terminate()  # after a stop: the unfinished shards are abandoned
                    pool.join()
        return out + [None] * (len(items) - len(out))


class RayExecutor:
    """One Ray task per shard. Connects to ``address`` (default: a cluster from RAY_ADDRESS, else a
    local instance started with ``num_cpus``)."""

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, progress: bool = True
    ) -> None:
        self.address, self.num_cpus, self.progress = address, num_cpus, progress

    def map(
        self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "", stop: Stop = None
    ) -> list[Any]:
        if not self.address:
            # A local instance shares this interpreter's environment; Ray's default under `uv run`
            # re-creates it through uv for every worker, which costs minutes. (Read at import.)
            os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if self.address:
                kwargs["address"] = self.address
            elif self.num_cpus:
                kwargs["num_cpus"] = self.num_cpus
            # ray.init replaces SIGTERM/SIGINT handlers; left in place they make every process forked
            # later (a multiprocessing pool) ignore Pool.terminate() and hang its join.
            handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
            ray.init(**kwargs)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        task = ray.remote(fn)
        refs = [task.remote(item) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        out: list[Any] = [None] * len(refs)
        pending = list(refs)
        with _bar(len(refs), desc, self.progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                result = out[index[done[0]]] = ray.get(done[0])
                bar.update()
                if stop is not None and stop(result):
                    for ref in pending:
                        ray.cancel(ref)
                    break
        return out
