# rayline: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
# This machine's pip config names index folders that do not exist; hide that noise only.
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rayline-installed

.PHONY: install data demo test bench lint clean

install: $(STAMP)

# Creates the venv if absent; torch 2.13.0 (a small CPU build on this machine) goes in first,
# and an existing torch (say a CUDA build) is kept. Reruns only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11) on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip $(QUIET_PIP)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0 $(QUIET_PIP)
	@$(BIN)/python -m pip install -q -e '.[dev]' $(QUIET_PIP)
	@touch $(STAMP)
	@echo "installed into $(VENV)"

data: install
	@$(BIN)/rayline data fetch

demo: data
	@$(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights
	@$(BIN)/rayline train --data data/processed/flights --epochs 3
	@$(BIN)/rayline models list

test: install
	@$(BIN)/python -m pytest -q

bench: data
	@$(BIN)/rayline bench etl --copies 30
	@test -f data/processed/flights/_manifest.json || $(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights
	@$(BIN)/rayline bench train

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf data/processed data/scaled data/train_runs models benchmarks/results/*.json benchmarks/results/*.png
