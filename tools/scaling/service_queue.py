"""How long a queue of surrogate experiments takes through ``lmforge scaling serve``, end to end.

A real server (subprocess, SQLite in WAL mode, ``--workers`` local worker processes) is started and
warmed up by one experiment; then the clock runs from the first ``POST /submit`` of ``--count``
distinct experiments until the client sees every one done. The reference is the library path with
no service: the same experiments through ``Lab`` (surrogate backend, SQLite ledger) in this process.
Both repeat ``--repeats`` times on fresh databases; the medians and their ratio are printed.

    uv run python tools/scaling/service_queue.py --count 20 --workers 2

Measured on the shared 2-core machine (load average ~13): 20 experiments, 2 workers, no delay:
0.95 s end to end (median of 3; 0.86 s of it the 20 sequential submits), against 0.36 s through
``Lab`` in-process (2.7x). With ``--delay 1`` (runs of a second): 10.35 s against 20.78 s: the two
workers halve the queue.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lmforge.scaling.client import Client
from lmforge.scaling.experiment import Experiment
from lmforge.scaling.lab import Lab
from lmforge.scaling.service.db import default_url, make_engine
from lmforge.scaling.service.local_server import LocalServer
from lmforge.scaling.service.store import Store


def plan(count: int) -> list[Experiment]:
    widths = (16, 32, 48, 64, 96)
    return [Experiment(model=dict(vocab_size=256, context_length=32, d_model=widths[i % 5], num_layers=2,
                                  num_heads=2), flops=1e12 * 10 ** (i // 5)) for i in range(count)]


def through_service(experiments: list[Experiment], workers: int, delay: float) -> tuple[float, float]:
    """(seconds to submit all, seconds until all are done) for one fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        key = Store(make_engine(default_url(tmp))).add_key("bench", 1e30)
        server = LocalServer(tmp, "surrogate", workers, (f"delay={delay}",)).start(key)
        try:
            client = Client(server.url, key)
            warm = client.submit(dict(experiments[0].model), flops=3e11)["id"]
            client.wait([warm], timeout=300)
            t0 = time.perf_counter()
            ids = [client.submit(e.model, flops=e.flops)["id"] for e in experiments]
            t_submit = time.perf_counter() - t0
            runs = client.wait(ids, timeout=600, poll=0.05)
            total = time.perf_counter() - t0
            assert all(r["status"] == "done" for r in runs), [r["reason"] for r in runs]
            return t_submit, total
        finally:
            server.stop()


def through_lab(experiments: list[Experiment], delay: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab("surrogate", Path(tmp) / "ledger.sqlite", total_flops=1e30, delay=delay)
        lab.run(Experiment(model=experiments[0].model, flops=3e11))  # same warm-up as the service
        t0 = time.perf_counter()
        for e in experiments:
            lab.run(e)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--delay", type=float, default=0.0, help="Seconds each surrogate run sleeps.")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    experiments = plan(args.count)
    service = [through_service(experiments, args.workers, args.delay) for _ in range(args.repeats)]
    lab = [through_lab(experiments, args.delay) for _ in range(args.repeats)]
    submit, total = statistics.median(s for s, _ in service), statistics.median(t for _, t in service)
    ref = statistics.median(lab)
    print(f"{args.count} surrogate experiments, {args.workers} workers, delay {args.delay}s, "
          f"median of {args.repeats}:")
    print(f"  service end to end : {total:.2f} s ({total / args.count * 1e3:.0f} ms each; "
          f"submitting took {submit:.2f} s)   runs: {[round(t, 2) for _, t in service]}")
    print(f"  Lab in-process     : {ref:.2f} s ({ref / args.count * 1e3:.0f} ms each)   runs: "
          f"{[round(t, 2) for t in lab]}")
    print(f"  ratio service / Lab: {total / ref:.1f}x")


if __name__ == "__main__":
    main()
