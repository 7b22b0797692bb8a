"""Time ``lmforge recipe run`` from a clean clone, the way a new user meets it.

    uv run python tools/recipe/time_recipe.py --size laptop [--keep]

Clones this checkout's HEAD into a temporary folder, runs ``uv sync`` there (timed separately: it is
the download / install step), then ``uv run lmforge recipe run --size SIZE``, and prints the wall time
of every stage (from the stages' DONE.json markers), the total, and the 1-minute load average before
and after, so a number measured on a busy machine says so. Writes the same as JSON next to the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

STAGES = ("web", "data", "tokenizer", "pretrain", "sft", "grpo", "eval")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="laptop")
    ap.add_argument("--keep", action="store_true", help="keep the clone (and its run) afterwards")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more recipe run arguments")
    args = ap.parse_args()
    repo = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    work = Path(tempfile.mkdtemp(prefix="lmforge-clone-"))
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        subprocess.run(["git", "clone", "-q", str(repo), str(work / "lmforge")], check=True)
        clone = work / "lmforge"
        if (repo.parent / "shared").is_dir():  # the layout CI has: ../shared beside the checkout
            os.symlink(repo.parent / "shared", work / "shared")
        t0 = time.perf_counter()
        subprocess.run(["uv", "sync", "-q"], cwd=clone, env=env, check=True)
        sync_s = time.perf_counter() - t0
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run(["uv", "run", "lmforge", "recipe", "run", "--size", args.size, *args.extra],
                       cwd=clone, env=env, check=True)
        run_s = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
        run_dir = clone / "runs" / f"recipe-{args.size}"
        stages = {s: json.loads((run_dir / s / "DONE.json").read_text())["wall_s"] for s in STAGES}
        result = {"size": args.size, "uv_sync_s": sync_s, "recipe_s": run_s, "stages_s": stages,
                  "load_1min_before": load_before, "load_1min_after": load_after,
                  "cpus": os.cpu_count()}
        for s, w in stages.items():
            print(f"{s:10s} {w:8.1f} s")
        print(f"{'recipe':10s} {run_s:8.1f} s   (uv sync {sync_s:.0f} s; load {load_before:.1f} -> "
              f"{load_after:.1f} on {os.cpu_count()} CPUs)")
        (run_dir / "timing.json").write_text(json.dumps(result, indent=1))
        if args.keep:
            print(f"kept: {run_dir}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
