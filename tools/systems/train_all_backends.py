"""Smoke-run ``lmforge train --nproc N --set parallel=<backend>`` for every parallel backend on CPU.

Prints a table (backend, status, seconds, final train loss) and saves JSON. Usage:
    nice -n 10 uv run python tools/systems/train_all_backends.py [--nproc 2] [--steps 6] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BACKENDS = ["single", "ddp_naive", "ddp_flat", "ddp_overlap", "ddp_bucketed", "zero1", "fsdp", "torch_ddp",
            "torch_fsdp2", "deepspeed"]


def token_file(folder: Path, vocab: int = 64, count: int = 20_000) -> Path:
    tokens = np.random.default_rng(0).integers(0, vocab, count).astype(np.uint16)
    path = folder / "tokens.bin"
    tokens.tofile(path)
    path.with_name("tokens.bin.json").write_text(json.dumps(
        {"dtype": "uint16", "count": count, "vocab_size": vocab, "eot_id": None}))
    return path


def train_command(backend: str, nproc: int, steps: int, data: Path, out: Path) -> list[str]:
    sets = {"parallel": backend, "data.train_path": str(data), "model.vocab_size": 64,
            "model.context_length": 16, "model.d_model": 32, "model.num_layers": 2, "model.num_heads": 2,
            "model.tie_embeddings": "true", "train.max_steps": steps, "train.batch_size": 8,
            "train.eval_every": steps, "train.eval_batches": 1, "train.log_every": 1,
            "train.checkpoint_every": steps, "device": "cpu", "progress": "false", "out": str(out),
            "name": backend}
    if backend in ("fsdp", "torch_fsdp2", "deepspeed"):
        sets["optimizer.grad_clip"] = 0  # the trainer's clip sees only local shards (see README)
    cmd = [sys.executable, "-m", "lmforge.core", "train", "--nproc", str(1 if backend == "single" else nproc)]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    return cmd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--backends", nargs="*", default=BACKENDS)
    ap.add_argument("--timeout", type=int, default=600, help="seconds per backend before it counts as hung")
    ap.add_argument("--out", default=".bench/systems/train_all_backends.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = token_file(tmp)
        for backend in args.backends:
            t0 = time.perf_counter()
            proc = subprocess.Popen(train_command(backend, args.nproc, args.steps, data, tmp / "runs"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            try:
                _, stderr = proc.communicate(timeout=args.timeout)
            except subprocess.TimeoutExpired:  # a hang: kill torchrun and its workers
                os.killpg(proc.pid, signal.SIGKILL)
                _, stderr = proc.communicate()
                stderr += f"\n(killed after {args.timeout} s)"
            seconds = time.perf_counter() - t0
            metrics = tmp / "runs" / backend / "metrics.jsonl"
            losses = [json.loads(line).get("train_loss") for line in metrics.read_text().splitlines()] \
                if metrics.exists() else []
            losses = [x for x in losses if x is not None]
            row = {"backend": backend, "status": "ok" if proc.returncode == 0 else f"rc={proc.returncode}",
                   "seconds": round(seconds, 1), "final_train_loss": losses[-1] if losses else None}
            if proc.returncode:
                row["stderr_tail"] = stderr[-2000:]
            rows.append(row)
            print(f"{backend:14s} {row['status']:6s} {row['seconds']:7.1f}s  loss {row['final_train_loss']}",
                  flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
