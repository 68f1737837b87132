# Valorize — `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
INSTANCES ?= 1

.DEFAULT_GOAL := help
.PHONY: help install up down migrate test test-unit test-integration test-deploy test-stack lint typecheck wrk bench bench-writes bench-reads bench-ws bench-rebuild bench-dashboard bench-parse bench-import bench-categorize scenarios clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(BIN)/valorize: pyproject.toml
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), \"Valorize needs Python 3.11 (set PYTHON=...)\""
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(BIN)/valorize ## create .venv and install Valorize with its dev tools

up: install ## start the whole stack (embedded PostgreSQL/Redis unless POSTGRES_DSN/REDIS_URL) and seed a demo; INSTANCES=2: two of each service
	$(BIN)/valorize up --instances $(INSTANCES)

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

test-deploy: install ## Terraform (fmt, checkov, structure) and compose.yaml checks, offline
	$(BIN)/python -m pytest -q tests/deploy $(PYTEST_ARGS)

STACK_TESTS := $(wildcard tests/integration/test_command_*.py tests/integration/test_query_*.py) \
	tests/integration/test_live_stream.py tests/integration/test_edge_live.py \
	tests/integration/test_read_your_writes.py
test-stack: install ## the contract, live-stream and suggestion tests through the stack `make up` started
	$(BIN)/python -m pytest -q -p no:cacheprovider --stack $${VALORIZE_DATA_DIR:-.valorize}/stack.json $(STACK_TESTS) $(PYTEST_ARGS)

lint: install ## ruff, and the import rules between packages (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install ## mypy --strict on every package, the scenarios and the tests
	$(BIN)/mypy shared valorize command_service projection_worker query_service ws_gateway scenarios tests

wrk: ## Debian's wrk, the HTTP load generator of bench-reads (installs it if missing)
	@command -v wrk >/dev/null || (echo "installing Debian's wrk"; apt-get install -y -qq wrk >/dev/null)

bench: install wrk ## every benchmark, short versions (well under 15 minutes), then the scenario summary
	$(BIN)/python -m scenarios.bench_writes --seconds 3
	$(BIN)/python -m scenarios.bench_reads --seconds 3 --rounds 1
	$(BIN)/python -m scenarios.bench_ws --sockets 5000 --users 50 --seconds 5
	$(BIN)/python -m scenarios.bench_rebuild --events 100000
	$(BIN)/python -m scenarios.bench_dashboard --transactions 10000 --seconds 3 --rounds 1
	$(BIN)/python -m scenarios.run --time-scale 0.05 --vu-scale 0.25 --queue-total 51580

bench-writes: install ## POST /api/transactions; single-command appends vs library save() and raw INSERTs; lock-hold model
	$(BIN)/python -m scenarios.bench_writes

bench-reads: install wrk ## projection throughput, commit-to-visible breakdown, GET /api/transactions (C1) vs GET /up by wrk
	$(BIN)/python -m scenarios.bench_reads

bench-ws: install ## sockets per gateway process, memory per socket, commit-to-client latency
	$(BIN)/python -m scenarios.bench_ws

bench-dashboard: install wrk ## GET /api/dashboard for a user with 50,000 transactions over 24 months vs GET /up, kept answers on and off
	$(BIN)/python -m scenarios.bench_dashboard
	$(BIN)/python -m scenarios.bench_dashboard --kept-answers 0

bench-parse: install ## rows/s parsing a 50,000-row OFX (SGML, XML) and CSV statement, one pass and validated
	$(BIN)/python -m scenarios.bench_parse

bench-import: install ## rows/s importing a 50,000-row OFX and CSV end to end into every read model, beside parsing alone
	$(BIN)/python -m scenarios.bench_import

bench-categorize: install ## categorization top-1/top-3 accuracy cold-start and after 10/50/200 corrections, latency p50/p95
	$(BIN)/python -m scenarios.bench_categorize

bench-rebuild: install ## rebuild every read model from 1,000,000 events vs raw reads
	$(BIN)/python -m scenarios.bench_rebuild

scenarios: install ## the paper's C1-C4 at full length (SCENARIO_ARGS="--time-scale 0.1 --base-url ...")
	$(BIN)/python -m scenarios.run $(SCENARIO_ARGS)

clean: ## remove local state (stop the stack first)
	rm -rf .valorize .mypy_cache .ruff_cache .pytest_cache
