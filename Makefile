# The two commands a newcomer needs: `make run` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTHON3 ?= python3
STAMP   := $(VENV)/.installed

.PHONY: run test install lock lint lint-js bench clean help

help:
	@echo "make run    start the whole product (database, redis, web, worker, beat) and print its URL"
	@echo "make test   run every test against real PostgreSQL, Redis, Daphne, Celery and Chromium"
	@echo "make lint   ruff check, ruff format --check, mypy, makemigrations --check, import-linter, Biome (CI runs it before make test)"
	@echo "make lint-js  Biome: format and lint check of the dashboard's JavaScript (npm run lint)"
	@echo "make bench  run the benchmarks in bench/ (by hand; slow)"
	@echo "make lock   pin every package (with its hashes) in requirements.lock from pyproject.toml"

install: $(STAMP)

# Every package, dev tools included, exactly as locked: a download whose hash differs is refused. Then the
# project itself, which brings nothing more (its dependencies are the locked set).
$(STAMP): pyproject.toml requirements.lock package.json package-lock.json
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation .
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m frontend.vendor
	touch $(STAMP)

# After a change to the dependencies in pyproject.toml. Versions already in the lock stay as they are unless
# pyproject.toml asks otherwise (`make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed).
# pip-tools is the lock's tool, not the product's: installed here, not locked.
lock:
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet pip-tools==7.7.0
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --extra dev --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock $(LOCK_ARGS) pyproject.toml

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
	DEBUG=true $(VENV)/bin/lint-imports
	npm run --silent lint

lint-js: $(INSTALLED)
	npm run --silent lint

bench: install
	for b in load read api sse forecast page alerts; do $(PY) -m core.devstack exec $(PY) bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) node_modules staticfiles
