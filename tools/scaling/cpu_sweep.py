"""A real IsoFLOPs sweep of lmforge's own Transformer on CPU, sized for a shared 2-core machine.

Corpus: the Python standard library's own sources (always present, PSF licence), as raw bytes
(vocabulary 256, so embeddings stay a small part of these tiny models), written once to a token file
in the lmforge format (flat uint16 + JSON sidecar).

Sweep: 4-5 budgets x 5 model sizes spanning 16x in N, each trained by
``lmforge.model.train`` for exactly its budget (exact per-token FLOPs from model accounting),
context 64, cosine schedule with 5% warm-up. About 2.2e12 FLOPs per pass. Why so small: the issue
suggested 1e13-1e15, but on this shared 2-core machine (load average ~15) a niced worker gets
~0.4-1 GFLOP/s, so 2.2e12 already takes ~20-40 minutes with two workers. The same command scales
up unchanged (``--budgets``; ``--device cuda`` on a GPU).

Two passes were run (both are reproducible; the ledger keeps them apart by their --out):

- pass 1: ``--batch-size 16 --lr 3e-3 --tokens-per-param 5 --aspect 64 --tolerance 0.03 --extend
  --out .bench/scaling/cpu_sweep``. Every budget's best loss came at or near the smallest model: with
  16 x 64 tokens a step, the larger models got only 20-100 optimizer steps (a step-limited regime),
  and the tight tolerance forced odd deep-and-narrow shapes. ``--extend`` added two smaller sizes per
  budget; even the smallest model that exists (d_model 8, one layer) was still best at 1e10.
- pass 2 (the defaults): batch 4 (4x the steps for the same FLOPs), lr 5e-3, sizes centred on
  N = sqrt(C / (6 * 40)), aspect 16 with a loose shape tolerance so the shapes form a smooth family,
  budgets 3e9, 1e10, 3e10, 1e11, then 3e11 once those had finished (24 runs, 2.2e12 FLOPs, ~35
  minutes with two workers). Fitted with ``tools/scaling/fit_sweep.sh .bench/scaling/cpu_sweep_b4/runs
  .bench/scaling/cpu_sweep_b4``: IsoFLOPs a = 0.50 [0.47, 0.53] (3e10's profile is flat and was
  excluded), parametric a = 0.59 [0.36, 0.79]; held out 3e11: optimal N within 4% (IsoFLOPs).

Every run goes through the SQLite budget ledger, so several workers can share the plan:

    nice -n 10 uv run python tools/scaling/cpu_sweep.py --worker 0 --workers 2 &
    nice -n 10 uv run python tools/scaling/cpu_sweep.py --worker 1 --workers 2 &
    wait; uv run python tools/scaling/cpu_sweep.py --collect   # writes runs.csv

then ``lmforge scaling fit/validate/plot --runs .bench/scaling/cpu_sweep/runs.csv``.
A rerun answers finished runs from the ledger at no cost, so an interrupted sweep just continues.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import sysconfig
from pathlib import Path

import numpy as np

from lmforge.core import atomic_write

OUT = Path(".bench/scaling/cpu_sweep_b4")
TOTAL_FLOPS = 4e12  # each pass's ledger budget: pass 1 needed ~3.1e12 with its extension


def build_corpus(path: Path) -> Path:
    """Standard-library sources (tests excluded) as bytes, one file after another."""
    if path.exists() and Path(str(path) + ".json").exists():
        return path
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.rglob("*.py")
                   if not any(part in ("test", "tests", "idle_test", "site-packages") for part in p.parts))
    data = b"\n".join(p.read_bytes() for p in files)
    tokens = np.frombuffer(data, dtype=np.uint8).astype(np.uint16)
    meta = {"dtype": "uint16", "count": int(tokens.size), "vocab_size": 256, "eot_id": None,
            "source": f"{len(files)} stdlib .py files from {stdlib}, raw bytes"}
    # atomic, data before sidecar: workers started together never read a half-written file
    atomic_write(path, tokens.tobytes())
    atomic_write(str(path) + ".json", json.dumps(meta))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--worker", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--collect", action="store_true", help="write runs.csv from the ledger and exit")
    ap.add_argument("--budgets", default="3e9,1e10,3e10,1e11,3e11")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--tokens-per-param", type=float, default=40.0)
    ap.add_argument("--aspect", type=float, default=16.0)
    ap.add_argument("--tolerance", type=float, default=0.3)
    ap.add_argument("--extend", action="store_true", help="two smaller sizes per budget (pass 1)")
    args = ap.parse_args()

    import torch

    from lmforge.scaling.lab import Lab
    from lmforge.scaling.ledger import Ledger
    from lmforge.scaling.sweep import plan_sweep
    from lmforge.scaling.table import table_from_records
    from lmforge.scaling.train_backend import TrainBackend

    torch.set_num_threads(args.threads)
    corpus = build_corpus(args.out / "stdlib_bytes.bin")
    backend = TrainBackend(data=corpus, out=args.out / "runs", device=args.device)
    path = args.out / "ledger.sqlite"
    ledger = Ledger(path, total_flops=None if path.exists() else TOTAL_FLOPS)
    if ledger.total < TOTAL_FLOPS:  # a ledger from the first pass, before the downward extension
        ledger.set_total(TOTAL_FLOPS)
    lab = Lab(backend, ledger)
    budgets = [float(b) for b in args.budgets.split(",")]
    common = dict(vocab_size=256, context_length=64, batch_size=args.batch_size, lr=args.lr,
                  aspect=args.aspect, tolerance=args.tolerance)
    plan = plan_sweep(budgets, sizes=5, span=16.0, tokens_per_param=args.tokens_per_param, **common)
    if args.extend:  # pass 1's downward extension (see the module doc)
        for c in budgets:
            smallest = math.sqrt(c / (6 * args.tokens_per_param)) / 4.0
            extra = plan_sweep([c], sizes=[smallest / 4, smallest / 2], **common)
            plan += [e for e in extra if e not in plan]
    if args.collect:
        rows = lab.results()
        table_from_records(rows, "sweep").drop("experiment", strict=False).write_csv(args.out / "runs.csv")
        print(f"{len(rows)} of {len(plan)} runs recorded; {lab.ledger.spent():.3g} FLOPs spent -> "
              f"{args.out / 'runs.csv'}")
        return
    mine = plan[args.worker::args.workers]
    for i, exp in enumerate(mine):
        row = lab.run(exp)
        print(f"[worker {args.worker}] {i + 1}/{len(mine)} C={exp.flops:.0e} N={row['params']:.0f} "
              f"loss={row['loss']:.4f} cached={row['cached']}", flush=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
