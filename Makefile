# Two commands on a fresh machine: `make run` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/textbot run

test: $(STAMP)
	bash scripts/test-services.sh
	$(BIN)/ruff check .
	$(BIN)/mypy bot policies persona
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/textbot bench engine
