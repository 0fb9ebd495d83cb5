# Two commands matter: `make run` and `make test`. Both bootstrap .venv from requirements.lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-slow test-browser test-reliability bench-smoke client console test-all lint typecheck schema check-schema check lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("spendlimits needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

## Serve GraphQL on http://127.0.0.1:8000/graphql, on the embedded PostgreSQL unless DATABASE_URL is set.
run: $(STAMP)
	$(BIN)/spendlimits serve $(ARGS)

## The whole quick suite (embedded PostgreSQL unless TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The slow suites: several server processes racing reservations on one database, one of them
## through a PgBouncer in transaction mode (installs Debian's pgbouncer if missing).
test-slow: $(STAMP)
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || { echo "installing pgbouncer with apt-get ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

## Smoke runs of the contention benchmark, the journal's levers and the unfolded reads (--quick;
## BENCHMARKS.md has full figures): they print, and keep the scripts running against the migrations.
bench-smoke: $(STAMP)
	$(BIN)/python bench/contention.py --quick $(BENCH_ARGS)
	$(BIN)/python bench/journal_levers.py --quick $(BENCH_ARGS)
	$(BIN)/python bench/unfolded_reads.py --quick $(BENCH_ARGS)

## Faults, hostile input, load and security against real `spendlimits serve` processes, each test on
## a PostgreSQL of its own (RELIABILITY.md).
test-reliability: $(STAMP)
	$(BIN)/python -m pytest -m reliability $(PYTEST_ARGS)

## GraphiQL in a headless Chromium with no network but localhost (installs Debian's chromium if missing).
test-browser: $(STAMP)
	@command -v chromium >/dev/null || { echo "installing chromium with apt-get ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

## The TypeScript client: install its pinned tools, regenerate src/gql/ and the server's
## trusted documents (src/spendlimits/static/trusted-documents.json), type-check, run its tests.
client:
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent codegen \
		&& npm run --silent typecheck && npm run --silent test

## The web console (clients/console): install its pinned tools, regenerate src/gql/, unit-test,
## type-check and build it into src/spendlimits/static/console/ (reproducibly: CI compares).
console:
	cd clients/console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent codegen \
		&& npm run --silent typecheck && npm run --silent test && npm run --silent build

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict src tests scripts bench

## Re-export schema.graphql from the code.
schema: $(STAMP)
	$(BIN)/spendlimits export-schema > schema.graphql

## schema.graphql is current and does not break the API contract.
check-schema: $(STAMP)
	$(BIN)/python scripts/check_schema.py

check: lint typecheck check-schema

## Re-pin requirements.lock from pyproject.toml (needs the registry).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet \
		--custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf $(VENV) .pgdata-test .mypy_cache .ruff_cache .pytest_cache
