"""CPU, 2 processes, gloo: step time and exposed communication share of every parallel backend, and
per-rank parameter / optimizer-state memory of the sharded ones against DDP.

Usage: nice -n 10 uv run python tools/systems/bench_backends.py [--d-model 384 --layers 4 --steps 8]
(DeepSpeed only where it is installed: run it with an environment that has it, e.g. --backends deepspeed.)

"sync" is the time in ``after_backward`` (the gradient sync the trainer waits for); for overlapped
schemes most communication hides inside backward, and for ZeRO-1 the parameter broadcast sits in the
optimizer step; FSDP communicates inside forward and backward, so its sync is only the replicated
parameters' all-reduce. The first two steps are warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from lmforge.systems.bench.timing import format_table
from lmforge.systems.parallel.parity import run_backends

BACKENDS = ["ddp_naive", "ddp_flat", "ddp_overlap", "ddp_bucketed", "zero1", "fsdp", "torch_ddp",
            "torch_fsdp2"]


def main() -> None:
    ap = argparse.ArgumentParser(description="CPU gloo step time and memory per parallel backend")
    ap.add_argument("--backends", nargs="*", default=BACKENDS)
    ap.add_argument("--d-model", type=int, default=384)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--out", default=".bench/systems/backends_cpu.json")
    args = ap.parse_args()
    jobs = [(b, b, {"stage": s} if b == "deepspeed" else {}) for b in args.backends
            for s in ((1, 2, 3) if b == "deepspeed" else (None,))]
    jobs = [(f"deepspeed_z{o['stage']}" if n == "deepspeed" else n, n, o) for _, n, o in jobs]
    with tempfile.TemporaryDirectory() as tmp:
        results = run_backends(jobs, tmp, world=args.world, steps=args.steps, batch=args.batch,
                               model_kwargs={"d_model": args.d_model, "layers": args.layers, "tie": True})
    rows = []
    for label, _, _ in jobs:
        r0 = results[0][label]
        if "error" in r0:
            rows.append({"backend": label, "status": "error: " + r0["error"].strip().splitlines()[-1][:80]})
            continue
        per_rank = [results[r][label]["stats"] for r in range(args.world)]
        step = statistics.median(max(s["step_s"][i] for s in per_rank) for i in range(2, args.steps))
        sync = statistics.median(s["sync_s"][i] for s in per_rank for i in range(2, args.steps))
        opt = statistics.median(s["optimizer_s"][i] for s in per_rank for i in range(2, args.steps))
        rows.append({"backend": label, "status": "ok", "step_ms": step * 1e3, "sync_ms": sync * 1e3,
                     "sync_share": sync / step, "optimizer_ms": opt * 1e3,
                     "param_MiB_rank0": per_rank[0]["param_bytes"] / 2**20,
                     "optim_state_MiB_rank0": per_rank[0]["optimizer_state_bytes"] / 2**20})
    base = next((r for r in rows if r["backend"] == "ddp_naive" and r["status"] == "ok"), None)
    ref = next((r for r in rows if r["backend"] == "torch_ddp" and r["status"] == "ok"), None)
    for r in rows:
        if r["status"] != "ok":
            continue
        if ref:
            r["step_vs_torch_ddp"] = r["step_ms"] / ref["step_ms"]
        if base:
            r["optim_state_vs_ddp"] = r["optim_state_MiB_rank0"] / base["optim_state_MiB_rank0"]
    cols = ["backend", "status", "step_ms", "step_vs_torch_ddp", "sync_ms", "sync_share", "optimizer_ms",
            "param_MiB_rank0", "optim_state_MiB_rank0", "optim_state_vs_ddp"]
    print(format_table(rows, cols))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
