#!/usr/bin/env bash
# The one prepared GPU check (issue 14): one device call, under 8 minutes on an H200, everything under $OUT.
#   1 pytest -m gpu (CUDA tests) + the Triton kernel parity tests, natively on the GPU
#   2 tools/systems/gpu_check.py: kernel parity, RMSNorm GB/s vs eager and torch.compile, FA2 vs SDPA flash,
#     fused linear+CE memory/time vs unfused, end-to-end step, KV-cache generation tokens/s
#   3 tools/model/gpu_mfu.py: MFU of the 124M model in bf16, eager and torch.compile
# Every figure is printed as a ratio to its reference from the same run, with the issue's targets beside it.
#
# Usage (repo root):  bash tools/gpu/check.sh [--smoke] [--out DIR]
#   --smoke: tiny sizes on CPU (TRITON_INTERPRET=1), under the import guard (tools/gpu/guard): every Python
#            process may import only the stdlib, lmforge and what the GPU image has (image_packages.txt).
#            CI runs this (packages/systems/tests/test_gpu_check_smoke.py).
# Output dir: --out, else $OUT (the device machine), else .bench/gpu. Exit status: non-zero if a part failed.
# Python: $PYTHON, else .venv/bin/python, else python3 (the GPU image's; lmforge comes from packages/*/src).
set -uo pipefail
cd "$(dirname "$0")/../.."
SMOKE=0
DEST="${OUT:-.bench/gpu}"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --out) DEST="$2"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
SRC=""
for d in packages/*/src; do SRC="$SRC:$PWD/$d"; done
export PYTHONPATH="${SRC#:}${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
if [ "$SMOKE" = 1 ]; then
  export TRITON_INTERPRET=1 CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
  export PYTHONPATH="$PWD/tools/gpu/guard:$PYTHONPATH"
  export LMFORGE_IMPORT_GUARD="$PWD/tools/gpu/image_packages.txt" LMFORGE_IMPORT_GUARD_LOG="$DEST/refused_imports.txt"
  : > "$DEST/refused_imports.txt"
  CHECK_ARGS=(--smoke); MFU_ARGS=(--device cpu --tiny --compile off)
else
  CHECK_ARGS=(); MFU_ARGS=()
fi
status=0
step() {  # step NAME LOGFILE CMD...: run, keep the log, remember a failure, carry on
  local name="$1" log="$2"; shift 2
  local t0=$SECONDS
  echo "==== $name"
  "$@" 2>&1 | tee "$DEST/$log"
  local rc=${PIPESTATUS[0]}
  echo "==== $name: rc=$rc ($((SECONDS - t0)) s)"
  [ "$rc" = 0 ] || status=1
}
{
  echo "python: $PY; smoke: $SMOKE; out: $DEST"
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__,
'cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"
} 2>&1 | tee "$DEST/environment.txt"
# the files holding gpu-marked tests, plus the Triton kernel parity tests (they run natively on CUDA)
mapfile -t GPU_TESTS < <(grep -rl --include='test_*.py' 'mark.gpu' packages | sort)
KERNEL_TESTS=(packages/systems/tests/test_rmsnorm.py packages/systems/tests/test_flash_attention.py
              packages/systems/tests/test_fused_linear_ce.py)
if [ "$SMOKE" = 1 ]; then
  # on CPU the gpu tests skip; collecting them under the guard still catches a missing import
  step "pytest -m gpu" pytest_gpu.txt "$PY" -m pytest -q -p no:cacheprovider -m gpu "${GPU_TESTS[@]}"
else
  step "pytest -m gpu + kernel parity" pytest_gpu.txt "$PY" -m pytest -q -p no:cacheprovider \
    "${GPU_TESTS[@]}" "${KERNEL_TESTS[@]}" -m "gpu or not gpu"
fi
step "gpu_check" gpu_check.txt "$PY" tools/systems/gpu_check.py "${CHECK_ARGS[@]}" --out "$DEST"
step "gpu_mfu" gpu_mfu.txt "$PY" tools/model/gpu_mfu.py "${MFU_ARGS[@]}" --out "$DEST/gpu_mfu.json"
if [ "$SMOKE" = 1 ] && [ -s "$DEST/refused_imports.txt" ]; then
  echo "imports refused by the guard (optional ones are fine; a crash above names the culprit):"
  sort "$DEST/refused_imports.txt" | uniq -c
fi
echo "check.sh: $([ $status = 0 ] && echo all parts passed || echo SOME PARTS FAILED) -> $DEST"
exit $status
