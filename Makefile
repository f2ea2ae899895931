# petiflow: `make run` sets up and starts the embedded server; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/petiflow_test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
# The machine's date for `make test-faketime` (UTC): 09:30 in Taipei on the first day of the
# 2027 Lunar New Year break, far from the date the tests' clocks are set to.
FAKED_DATE ?= 2027-02-04 01:30:00

.PHONY: setup run test test-sqlite test-postgres test-faketime services browser bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "petiflow needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# Browser code: npm packages from the committed lockfile, bundled by esbuild into an ignored folder.
ASSETS := api/static/build/.built
$(ASSETS): package.json package-lock.json $(wildcard frontend/*.js frontend/*.css frontend/*/*.js frontend/*/*.json)
	@command -v npm >/dev/null || { echo "petiflow needs Node.js 20+ and npm to build its browser code"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	@touch $(ASSETS)

# The pages' translations: the committed catalogs compiled into ignored .mo files.
CATALOGS := $(wildcard api/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(CATALOGS:.po=.mo)
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

setup: $(STAMP) $(ASSETS) $(MO_FILES)

run: setup
	$(BIN)/petiflow serve

services:
	@bash scripts/ensure-services.sh

# Debian's Chromium and CJK fonts for the browser tests (tests/browser).
browser:
	@bash scripts/ensure-browser.sh

test: setup services browser
	$(MAKE) --no-print-directory test-sqlite test-postgres test-faketime

test-sqlite: setup
	PETIFLOW_TEST_DATABASE_URL=sqlite PETIFLOW_TEST_PG_URL=$(PG_TEST_URL) PETIFLOW_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -q

test-postgres: setup
	PETIFLOW_TEST_DATABASE_URL=$(PG_TEST_URL) PETIFLOW_TEST_PG_URL=$(PG_TEST_URL) PETIFLOW_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -q

# The suite on SQLite with the machine's date faked (libfaketime, installed if missing): a test
# that reads today's date instead of setting its clock fails here.
test-faketime: setup
	PETIFLOW_TEST_DATABASE_URL=sqlite PETIFLOW_TEST_PG_URL=$(PG_TEST_URL) PETIFLOW_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		bash scripts/test-faketime.sh '$(FAKED_DATE)' -q

bench: setup services
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) var .pytest_cache node_modules api/static/build $(MO_FILES)
