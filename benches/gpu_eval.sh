#!/usr/bin/env bash
# GPU eval throughput, prepared for a machine with a CUDA GPU and no Hub access:
# builds the Qwen2-VL-7B architecture (8.3B parameters) with random bf16 weights directly on the GPU, runs the
# real `mmra.eval.evaluate` path over photo-sized image pairs with a fixed number of new tokens (every row
# generates exactly N tokens), and reports samples/s at batch 1 (how the official script runs) vs batched.
#
#   bash benches/gpu_eval.sh                       # on the GPU box: ~5-8 min including model build
#   MMRA_GPU_BENCH_MODEL=tiny:qwen2-vl MMRA_GPU_BENCH_SAMPLES=8 MMRA_GPU_BENCH_BATCHES="1 4" bash benches/gpu_eval.sh
#                                                  # the same script on CPU with a tiny model (what the tests run)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
MODEL="${MMRA_GPU_BENCH_MODEL:-random:qwen2-vl-7b}"
SAMPLES="${MMRA_GPU_BENCH_SAMPLES:-64}"
BATCHES="${MMRA_GPU_BENCH_BATCHES:-1 8 32}"
NEW_TOKENS="${MMRA_GPU_BENCH_NEW_TOKENS:-16}"
REPEATS="${MMRA_GPU_BENCH_REPEATS:-1}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
"$PY" - <<'PY'
import torch, transformers
print(f"torch {torch.__version__} (cuda {torch.version.cuda}, available: {torch.cuda.is_available()}), "
      f"transformers {transformers.__version__}")
PY
if [[ "$MODEL" == random:* ]]; then
    "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_eval.sh: $MODEL needs a CUDA GPU')"
fi

# shellcheck disable=SC2086  # BATCHES is a list of numbers
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$PY" benches/bench_eval.py --models "$MODEL" --samples "$SAMPLES" \
    --batches $BATCHES --new-tokens "$NEW_TOKENS" --repeats "$REPEATS" --report-only
