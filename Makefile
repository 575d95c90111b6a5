# Two entry points: `make run` (the app with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint typecheck format clean bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

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
	rm -rf $(VENV) db.sqlite3 .pytest_cache .hypothesis .mypy_cache
