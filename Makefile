# Valorize — `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install up down migrate test test-unit test-integration lint typecheck check bench bench-writes clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/valorize: pyproject.toml
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), \"Valorize needs Python 3.11 (set PYTHON=...)\""
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(BIN)/valorize ## create .venv and install Valorize with its dev tools

up: install ## start the whole stack (embedded PostgreSQL/Redis unless POSTGRES_DSN/REDIS_URL) and seed a demo
	$(BIN)/valorize up

down: ## stop everything `make up` started (by PID)
	@test -x $(BIN)/valorize && $(BIN)/valorize down || echo "nothing to stop"

migrate: install ## create the event store and read-model tables
	$(BIN)/valorize migrate

test: install ## lint, type check, then every test against real PostgreSQL/Redis/Cloud Tasks emulator
	$(MAKE) lint typecheck
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-unit: install ## unit tests only (no I/O)
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: install ## integration tests (real servers started by the harness)
	$(BIN)/python -m pytest -q tests/integration $(PYTEST_ARGS)

lint: install ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict on the five packages
	$(BIN)/mypy shared command_service projection_worker query_service ws_gateway

bench: bench-writes ## every benchmark (short versions)

bench-writes: install ## POST /api/transactions and store appends vs raw psycopg INSERTs
	$(BIN)/python -m scenarios.bench_writes

clean: ## remove local state (stop the stack first)
	rm -rf .valorize .mypy_cache .ruff_cache .pytest_cache
