# petiflow: `make run` sets up and starts the embedded server; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/petiflow_test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: setup run test test-sqlite test-postgres services bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "petiflow needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/petiflow serve

services:
	@bash scripts/ensure-services.sh

test: setup services
	$(MAKE) --no-print-directory test-sqlite test-postgres

test-sqlite: setup
	PETIFLOW_TEST_DATABASE_URL=sqlite PETIFLOW_TEST_PG_URL=$(PG_TEST_URL) PETIFLOW_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -q

test-postgres: setup
	PETIFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) PETIFLOW_TEST_PG_URL=$(PG_TEST_URL) PETIFLOW_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -q

bench: setup services
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) var .pytest_cache
