#!/usr/bin/env bash
# GPU trainer benchmark: tokens/s and MFU of the PyTorch backend on the llama-125m preset (CUDA).
# Needs an NVIDIA GPU, its driver, and a Python with CUDA-enabled torch and numpy (set DILOCO_PYTHON
# to it if it is not python3 on PATH). Writes bench/results/trainer-gpu.json. Not part of ./run test.
#   bash bench/trainer/gpu.sh [--batch 8] [--steps 20] [--context 1024]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v nvidia-smi >/dev/null || { echo "gpu.sh: nvidia-smi not found: this needs an NVIDIA GPU with its driver" >&2; exit 2; }
PY="${DILOCO_PYTHON:-$(command -v python3)}"
"$PY" -c "import torch, numpy, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || { echo "gpu.sh: $PY cannot use CUDA through torch (install a CUDA build of PyTorch, or set DILOCO_PYTHON)" >&2; exit 2; }
export DILOCO_PYTHON="$PY"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
./run exec node bench/trainer/gpu.ts "$@"
