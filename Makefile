# rayline: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3.11
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
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q torch==2.13.0
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)
	@echo "installed into $(VENV)"

data: install
	@$(BIN)/rayline data fetch

demo: data
	@$(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights

test: install
	@$(BIN)/python -m pytest -q

bench: data
	@$(BIN)/rayline bench etl --copies 30

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf data/processed data/scaled benchmarks/results/*.json benchmarks/results/*.png
