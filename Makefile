# Clochette — run `make help` for the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Clochette needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create .venv/ and install (again only when pyproject.toml changed)

.PHONY: run
run: $(STAMP) ## Run the whole system: embedded PostgreSQL + broker, migrations, topics, both services, demo data
	$(BIN)/clochette dev

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: typecheck
typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy clochette services shared tests bench chaos

.PHONY: chromium
chromium: ## Install Debian's Chromium for the browser tests (when missing; needs root and apt)
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); } \
	  || { echo "Chromium not found at $(CHROMIUM): install Debian's chromium package or set CHROMIUM=/path/to/chromium"; exit 1; }

.PHONY: pytest
pytest: $(STAMP) chromium ## The tests only (embedded PostgreSQL and broker unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS)
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest $(PYTEST_ARGS)

.PHONY: test
test: lint typecheck pytest ## The whole suite: lint, types, tests

.PHONY: format
format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: bench
bench: $(STAMP) ## Every benchmark on the embedded stack; table + .clochette/bench/latest.json
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)); } \
	  || echo "wrk not available: the Python load generator is used (it may saturate first)"
	$(BIN)/python -m bench $(BENCH_ARGS)

FUZZ_EXAMPLES ?= 300

.PHONY: chaos
chaos: $(STAMP) ## Soak with faults (CHAOS_MINUTES=10), then the long fuzz run (FUZZ_EXAMPLES=300, new inputs each time)
	$(BIN)/python -m chaos $(CHAOS_ARGS)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(BIN)/pytest -m fuzz tests/fuzz -q -p no:cacheprovider --timeout 1800

.PHONY: schemas
schemas: $(STAMP) ## Regenerate the JSON Schemas of the events (shared/events/schemas/)
	$(BIN)/python -m shared.events.export

.PHONY: clean
clean: ## Remove the virtualenv and caches (keeps .clochette/ data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

.PHONY: reset
reset: ## Delete the local data under .clochette/ (embedded database, keys)
	rm -rf .clochette
