# The two commands a newcomer needs: `make run` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTHON3 ?= python3
STAMP   := $(VENV)/.installed

.PHONY: run test install lint lint-js bench clean help

help:
	@echo "make run    start the whole product (database, redis, web, worker, beat) and print its URL"
	@echo "make test   run every test against real PostgreSQL, Redis, Daphne, Celery and Chromium"
	@echo "make lint   ruff check, ruff format --check, mypy, makemigrations --check, Biome (CI runs it before make test)"
	@echo "make lint-js  Biome: format and lint check of the dashboard's JavaScript (npm run lint)"
	@echo "make bench  run the benchmarks in bench/ (by hand; slow)"

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock package.json package-lock.json
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock ".[dev]"
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m frontend.vendor
	touch $(STAMP)

run: install
	$(PY) -m core.devstack run

test: install
	$(PY) -m core.devstack test $(PYTEST_ARGS)

# Lint installs on a fresh clone only: wherever .venv is installed it is quick, even when pyproject.toml
# or the lock is newer (`make install` brings those in). An order-only prerequisite would not do: make
# still rebuilds an out-of-date stamp before it.
INSTALLED := $(if $(wildcard $(STAMP)),,install)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	npm run --silent lint

lint-js: $(INSTALLED)
	npm run --silent lint

bench: install
	for b in load read api sse forecast page alerts; do $(PY) -m core.devstack exec $(PY) bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) node_modules staticfiles
