# Two entry points: `make run` (the app with demo data) and `make test` (the whole suite);
# `make test-fast` while developing, `make lock` after editing requirements*.in.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Python caches compiled modules (and pytest its rewritten test modules) in __pycache__: with the cache a
# test process starts in ≈ 2.7 s instead of ≈ 6.3 s. Some machines turn it off for every process.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast install lock lint typecheck format clean bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# requirements*.in (top-level pins, each with why) -> requirements*.txt (every package pinned, with hashes),
# for CPython 3.11 on Linux x86_64. Existing pins are kept unless LOCK_ARGS=--upgrade (or
# LOCK_ARGS="--upgrade-package NAME"). Runtime first: the dev lock is constrained by it, so both agree.
LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m piptools --version >/dev/null 2>&1 || $(PY) -m pip install --quiet "$$(grep -i '^pip-tools==' requirements-dev.in)"
	$(LOCK) --output-file requirements.txt requirements.in
	$(LOCK) --output-file requirements-dev.txt requirements-dev.in

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Portail opérateurs : http://$(HOST):$(PORT)/portail/"
	@echo "  Administration     : http://$(HOST):$(PORT)/admin/"
	@echo "  API (Swagger)      : http://$(HOST):$(PORT)/api/docs/"
	@echo "  Schéma OpenAPI     : http://$(HOST):$(PORT)/api/schema/"
	@echo ""
	@echo "  Comptes de démo (mot de passe : demo-password)"
	@echo "    op-alpha, op-beta  — opérateurs (portail, API)"
	@echo "    agent              — instructeur (admin)"
	@echo "    supervisor         — valideur (admin)"
	@echo "    admin              — super-utilisateur"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite without its slow, service-bound parts (browser, schemathesis, generated client, OIDC provider,
# antivirus daemon), the walks through old migrations and the start-ups of a fresh Python process, on as
# many workers as cores, each with its own test database. `make test` and .ci/run run everything.
FAST_MARKERS := not e2e and not client_gen and not oidc and not clamd and not schemathesis and not migrations \
	and not process
# Directories and modules holding only such tests are not even imported, nor the plugins no fast test
# uses (≈ 0.5 s less to start each process); property tests try 30 examples instead of 300.
FAST_SKIP := --hypothesis-profile=quick --ignore=tests/e2e --ignore=tests/antivirus --ignore=tests/api/test_schemathesis.py \
	--ignore=tests/api/test_generated_client.py -p no:schemathesis -p no:faker -p no:anyio
test-fast: install
	$(PY) -m pytest -n auto -p no:logging -m "$(FAST_MARKERS)" $(FAST_SKIP) $(PYTEST_ARGS)

# API and admin under load on PostgreSQL + Redis + gunicorn, figures into bench/RESULTS.md (bench/README.md).
# Bounded (~4 min on 2 CPUs, data load included); BENCH_ARGS=--fresh reloads the data.
bench: install
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(PY) -m bench.api_bench $(BENCH_ARGS)

# The deployment recipe run for real (deploy/Procfile: PostgreSQL + Redis, two gunicorn instances, a worker,
# beat; DEBUG=0) and a smoke scenario across both instances; stops everything. ~2 min (deploy/stack_check.py).
.PHONY: stack-check
stack-check: install
	$(PY) deploy/stack_check.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# mypy on the typed core ([tool.mypy] in pyproject.toml: `files` is the strict list).
typecheck: install
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .hypothesis .mypy_cache .cache
