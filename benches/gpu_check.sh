#!/usr/bin/env bash
# GPU check of fastml, for a machine with an NVIDIA GPU (driver for CUDA 12), in under five
# minutes on 16 cores:
#   1. a virtual environment with fastml[gpu,test] (CuPy, numba-cuda, NVRTC; the Cython
#      kernels compile here) and, when they install, torch + torchmetrics for the comparisons;
#   2. the GPU tests on the device: the simulator tests run again on CuPy arrays
#      (NUMBA_ENABLE_CUDASIM=0), with the tests marked `gpu`, and every kernel is compiled
#      for sm_90;
#   3. benches/gpu_bench.py: fastml on the GPU against fastml on this machine's CPU,
#      torchmetrics' exact multi-label AP and torch's BCE / focal forward + backward on the
#      same GPU; writes benches/RESULTS-gpu.md (GPU model, versions).
# Usage: bash benches/gpu_check.sh [--quick]      (PYTHON=python3.12 to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv-gpu}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || {
    echo "no NVIDIA GPU visible (nvidia-smi failed)"; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
export FASTML_BUILD_JOBS=${FASTML_BUILD_JOBS:-$(nproc)}
"$VENV/bin/pip" install -q --upgrade pip
timeout 150 "$VENV/bin/pip" install -q -e ".[gpu,test]"
# the torch comparisons are optional: skipped when torch cannot be installed in time
timeout 90 "$VENV/bin/pip" install -q torch torchmetrics \
    || echo "torch/torchmetrics not installed: their comparisons are skipped"
export NUMBA_ENABLE_CUDASIM=0
"$VENV/bin/python" -c "import cupy; print('CuPy', cupy.__version__, 'devices:', cupy.cuda.runtime.getDeviceCount())"
timeout 150 "$VENV/bin/python" -m pytest -q -m "gpu or cudasim" \
    tests/test_gpu_losses.py tests/test_gpu_metrics_counts.py tests/test_gpu_curves.py \
    tests/test_gpu_leakage.py tests/test_gpu_resample.py tests/test_gpu_ranking.py \
    tests/test_gpu_plain.py tests/test_gpu_mlsmote.py tests/test_gpu_ptx.py tests/test_split.py
timeout 240 "$VENV/bin/python" benches/gpu_bench.py --write "$@"
echo "wrote benches/RESULTS-gpu.md"
