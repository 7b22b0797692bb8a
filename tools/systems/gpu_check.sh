#!/usr/bin/env bash
# One prepared GPU check for lmforge-systems (fits in < 10 minutes on an H200):
# Triton kernel parity on the GPU, RMSNorm bandwidth vs eager and torch.compile, FlashAttention-2 vs
# SDPA (flash backend) TFLOP/s, fused linear + cross-entropy memory/time, end-to-end step speed-up.
# Usage (repo root):  bash tools/systems/gpu_check.sh [--smoke] [--out DIR]
#   --smoke: tiny shapes on CPU under TRITON_INTERPRET=1 (checks the script itself, no figures)
# Python: $PYTHON, else .venv/bin/python, else python3 (needs torch and triton; lmforge from packages/*/src).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
SRC=""
for d in packages/*/src; do SRC="$SRC:$PWD/$d"; done
export PYTHONPATH="${SRC#:}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$PY" tools/systems/gpu_check.py "$@"
