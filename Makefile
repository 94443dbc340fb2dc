# The two commands a newcomer needs:  `make demo`  and  `make test`  (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
# two test processes (pytest-xdist): each has its own test database, and in the PostgreSQL pass its
# own Celery worker on its own Redis database (config/pytest_env.py); the 15 slowest tests are listed
# at the end, so a CI run that grows shows where
PYTEST_ARGS ?= -n 2 --durations=15

.PHONY: install demo serve test lint format migrate test-postgres lock clean

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3" "setuptools==65.5.0"
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

# audit._merkle, the native batch hashing audit_verify uses (needs a C compiler and the OpenSSL
# and SQLite headers: libssl-dev, libsqlite3-dev). Without them Custos falls back to pure Python
# (slower verification, same results) and says so here.
$(VENV)/.native: $(VENV)/.installed setup.py audit/_merkle.c
	@if $(PY) setup.py --quiet build_ext --inplace --build-lib $(VENV)/build-native --build-temp $(VENV)/build-native; then touch $@; \
	else echo "warning: audit._merkle not built; audit_verify will hash in pure Python (slower)"; fi

install: $(VENV)/.installed $(VENV)/.native

# The MLflow tracking server the MLflow-sync tests start lives in its own virtualenv (test-only;
# its pins conflict with the project's): tests/monitoring/explain/mlflow_venv.sh
$(VENV)/.mlflow: $(VENV)/.installed tests/monitoring/explain/mlflow_venv.sh
	sh tests/monitoring/explain/mlflow_venv.sh
	touch $@

## Set up everything, load the demo catalog, print the demo logins and serve on http://$(HOST)
demo: install
	CUSTOS_ENV=demo $(PY) manage.py demo_setup
	CUSTOS_ENV=demo $(PY) manage.py runserver $(HOST)

## Production server: gunicorn (pinned), one gthread worker per CPU x 4 threads (docs/lineage.md "Serving")
# PROMETHEUS_MULTIPROC_DIR: each worker's HTTP/database counters, summed by GET /metrics (emptied at start)
serve: install
	rm -rf var/prometheus && mkdir -p var/prometheus
	PROMETHEUS_MULTIPROC_DIR=$${PROMETHEUS_MULTIPROC_DIR:-var/prometheus} \
	$(PY) -m gunicorn config.wsgi:application -c config/gunicorn.py --bind $(HOST) --worker-class gthread --workers $${WEB_WORKERS:-$$(nproc)} \
	  --threads $${WEB_THREADS:-4} --keep-alive 30 --max-requests 10000 --max-requests-jitter 1000 --preload

## Lint, migration check and the test suite on the embedded default (SQLite, eager Celery)
test: install $(VENV)/.mlflow lint
	CUSTOS_ENV=test $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

## The suite against PostgreSQL with a real Celery worker on Redis (see .ci/run)
test-postgres: install $(VENV)/.mlflow
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Re-resolve requirements.in + requirements-dev.in into the pinned requirements.lock
lock:
	rm -rf /tmp/custos-lock && $(PYTHON) -m venv /tmp/custos-lock
	/tmp/custos-lock/bin/pip install --quiet -r requirements.in -r requirements-dev.in
	/tmp/custos-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) var
