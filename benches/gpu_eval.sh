#!/usr/bin/env bash
# GPU eval throughput in one shot, for the lent GPU machine (or any CUDA box without Hub access), as it is:
# its own python3 / torch / transformers, plus only the wheels it lacks (pydantic: `make gpu-wheels` here puts
# them in .gpu-wheels/, which the device call carries). The toolkit is imported straight from this checkout.
# benches/gpu_bench.py builds 7B-class architectures with random bf16 weights directly on the GPU
# (random:qwen2-vl-7b, 8.3B parameters; then random:llava-1.5-7b, 7.1B, if the time budget allows), runs the
# real `mmra.eval.evaluate` path over photo-sized image pairs with a fixed number of new tokens, and prints
# samples/s at batch 1 vs batched, whether the answers equal batch 1's, and peak GPU memory.
#
#   bash benches/gpu_eval.sh                   # on the GPU machine: about 3-6 minutes for both models
#   MMRA_GPU_BENCH_MODELS=tiny:llava MMRA_GPU_BENCH_SAMPLES=6 MMRA_GPU_BENCH_BATCHES="1 3" \
#     MMRA_GPU_BENCH_NEW_TOKENS=4 bash benches/gpu_eval.sh      # the same script on CPU with a tiny model
#
# Device call (see the README, "Evaluate a model on a GPU"):
#   run(command="bash benches/gpu_eval.sh", carry=[".gpu-wheels"], timeout_s=600); results: $OUT/gpu_bench.json
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY="$(command -v python3)"; fi
fi
MODELS="${MMRA_GPU_BENCH_MODELS:-random:qwen2-vl-7b random:llava-1.5-7b}"
SAMPLES="${MMRA_GPU_BENCH_SAMPLES:-64}"
BATCHES="${MMRA_GPU_BENCH_BATCHES:-1 8 32}"
NEW_TOKENS="${MMRA_GPU_BENCH_NEW_TOKENS:-16}"
BUDGET_S="${MMRA_GPU_BENCH_BUDGET_S:-420}"   # no new model starts past this: the device command stops at 600 s
WHEELS="${MMRA_GPU_WHEELS:-.gpu-wheels}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi

# The toolkit: an installed one if there is one, else this checkout through a folder that lays the stage
# folders out as the `mmra` package (what setup.py's mapping does for a wheel).
if ! (cd "$WORK" && "$PY" -c "import mmra.eval.runner") 2>/dev/null; then
    if ! "$PY" -c "import pydantic" 2>/dev/null; then
        compgen -G "$WHEELS/*.whl" >/dev/null || {
            echo "gpu_eval.sh: this python lacks pydantic and $WHEELS/ holds no wheels: run 'make gpu-wheels' and carry $WHEELS" >&2
            exit 2
        }
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" "$WHEELS"/*.whl
        export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
    fi
    mkdir -p "$WORK/src/mmra"
    for entry in mmra/*; do ln -s "$PWD/$entry" "$WORK/src/mmra/"; done
    for folder in curation annotation benchmark eval; do ln -s "$PWD/$folder" "$WORK/src/mmra/$folder"; done
    export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
fi
if [[ "$MODELS" == *random:* ]]; then
    "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'gpu_eval.sh: random: models need a CUDA GPU')"
fi

# shellcheck disable=SC2086  # MODELS and BATCHES are lists
"$PY" benches/gpu_bench.py --models $MODELS --samples "$SAMPLES" --batches $BATCHES --new-tokens "$NEW_TOKENS" \
    --budget-s "$BUDGET_S" --json-out "${OUT:-$WORK}/gpu_bench.json"
