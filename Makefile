# rayline: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3.11
# This machine's pip config names index folders that do not exist; hide that noise only.
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.rayline-installed
# Stops what the demo started: consumer actors (drained), Serve, the broker, the local cluster.
STOP_ALL := $(BIN)/rayline stream stop --topic flights >/dev/null 2>&1; $(BIN)/rayline serve stop >/dev/null 2>&1; \
	$(BIN)/rayline kafka stop; $(BIN)/rayline cluster stop

# Spark (the `spark` ETL engine, `rayline compare`, the tests) needs Java 17 or later.
JAVA_MAJOR = $$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
CHECK_JAVA = command -v java >/dev/null && [ "$(JAVA_MAJOR)" -ge 17 ] 2>/dev/null
JAVA_HELP = "Java 17 or later is missing (found: $$(command -v java >/dev/null && java -version 2>&1 | head -1 || echo no java on PATH)). \
	Spark needs it: install e.g. openjdk-17-jre-headless, or set JAVA_HOME and put java on PATH."

.PHONY: install data demo serve demo-model stop test bench lint clean check-java

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
	@$(CHECK_JAVA) && echo "java $(JAVA_MAJOR) found (Spark engine ready)" || echo "WARNING: "$(JAVA_HELP)

check-java:
	@$(CHECK_JAVA) || { echo "ERROR: "$(JAVA_HELP); exit 1; }

data: install
	@$(BIN)/rayline data fetch

# Everything runs on one local Ray cluster (dashboard: http://127.0.0.1:8265), which the demo
# stops at the end, also on failure; `make serve` leaves the endpoints running instead.
demo: data
	@$(BIN)/rayline cluster start --num-cpus 4
	@trap '$(STOP_ALL)' EXIT; \
	$(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights && \
	$(BIN)/rayline train --data data/processed/flights --epochs 3 && \
	$(BIN)/rayline models list && \
	$(BIN)/rayline serve start && \
	$(BIN)/rayline prompt "What is the capital of France? Answer in one word." && \
	$(BIN)/rayline predict --csv data/raw/flights.csv --rows 5 && \
	$(BIN)/rayline kafka start && \
	$(BIN)/rayline produce flights --topic flights --limit 20000 --partitions 2 && \
	rm -rf data/lake/flights data/lake/flights-predictions && \
	$(BIN)/rayline stream start --topic flights --consumers 2 && \
	$(BIN)/rayline stream status --topic flights --wait 180 && \
	$(BIN)/rayline serve status

serve: data
	@test -f models/latest/model.pt || $(MAKE) --no-print-directory demo-model
	@$(BIN)/rayline cluster start --num-cpus 4
	@$(BIN)/rayline serve start
	@echo "serving on http://127.0.0.1:8000 (OpenAI routes under /v1, /v1/predict/delay); 'make stop' ends it"

demo-model:
	@test -f data/processed/flights/_manifest.json || $(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights
	@$(BIN)/rayline train --data data/processed/flights --epochs 3

stop:
	@$(STOP_ALL)

test: install check-java
	@$(BIN)/python -m pytest -q

bench: data check-java
	@$(BIN)/rayline bench etl --engines ray,spark,modin,pandas,pyarrow --copies 1,10,30
	@test -f data/processed/flights/_manifest.json || $(BIN)/rayline etl data/raw/flights.csv --out data/processed/flights
	@$(BIN)/rayline bench train
	@$(BIN)/rayline bench serve
	@$(BIN)/rayline bench stream

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf data/processed data/scaled data/train_runs data/lake data/kafka data/compare models \
	  benchmarks/results/*.json benchmarks/results/*.png
