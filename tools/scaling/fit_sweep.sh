#!/usr/bin/env bash
# Fit a finished sweep with both methods, hold out its largest budget, and draw the plots.
#   tools/scaling/fit_sweep.sh .bench/scaling/cpu_sweep_b4/runs .bench/scaling/cpu_sweep_b4
# Writes OUT/report.txt, OUT/fit_isoflops.json, OUT/fit_parametric.json, OUT/validate.json, OUT/plots/*.png
set -uo pipefail
RUNS=${1:?runs path}
OUT=${2:?output folder}
mkdir -p "$OUT"
run() { echo "\$ lmforge $*"; nice -n 10 uv run --quiet lmforge "$@" 2>&1; echo; }
{
  run scaling fit --runs "$RUNS" --method isoflops --out "$OUT/fit_isoflops.json"
  run scaling fit --runs "$RUNS" --method parametric --bootstrap 400 --out "$OUT/fit_parametric.json"
  run scaling predict --fit "$OUT/fit_parametric.json" --budget 1e12 --budget 1e13 --configure
  run scaling predict --fit "$OUT/fit_isoflops.json" --budget 1e12 --budget 1e13
  run scaling validate --runs "$RUNS" --bootstrap 400
  run scaling plot --runs "$RUNS" --out-dir "$OUT/plots" --bootstrap 200 --extrapolate-to 1e14
} | tee "$OUT/report.txt"
nice -n 10 uv run --quiet lmforge scaling validate --runs "$RUNS" --bootstrap 400 --json > "$OUT/validate.json" 2>/dev/null
