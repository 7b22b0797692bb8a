"""Activation checkpointing's cost: time and peak memory of forward+backward with the model's
``checkpoint_activations`` = 0 (off), every block (1), and every k blocks, on one size.

Usage: nice -n 10 uv run python tools/systems/bench_checkpointing.py [--size small --context 256 --device cpu]
On CPU the memory column is the process's peak resident set rise during backward (see bench/memory.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lmforge.systems.bench.model_bench import run_model_bench
from lmforge.systems.bench.timing import format_table


def main() -> None:
    ap = argparse.ArgumentParser(description="activation checkpointing: time and memory")
    ap.add_argument("--size", default="small")
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--segments", type=int, nargs="*", default=[0, 1, 4])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--out", default=".bench/systems/checkpointing.json")
    args = ap.parse_args()
    rows = []
    for k in args.segments:
        r = run_model_bench(args.size, args.context, "fwdbwd", "fp32", warmup=1, steps=args.steps,
                            device=args.device, batch=args.batch, checkpoint_activations=k)
        peak = r.get("peak_bytes", {})
        rise = r.get("phase_rise_bytes", {})
        rows.append({"checkpoint_every": k, "status": r["status"], "median_ms": r.get("median_s", 0) * 1e3,
                     "fwd_rise_MiB": (rise.get("forward") or 0) / 2**20,
                     "peak_MiB": max((v or 0) for v in peak.values()) / 2**20 if peak else None,
                     "est_activations_MiB": r["estimate_bytes"]["activations"] / 2**20})
    base = rows[0]
    for r in rows:
        r["time_vs_off"] = r["median_ms"] / base["median_ms"]
        r["fwd_rise_vs_off"] = r["fwd_rise_MiB"] / base["fwd_rise_MiB"] if base["fwd_rise_MiB"] else None
    print(format_table(rows, list(rows[0])))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
