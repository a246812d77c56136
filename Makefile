# The two commands a newcomer runs: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

export GX_ANALYTICS_ENABLED := False
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test lint format demo airflow airflow-celery bench bench-large db-stop clean prometheus chromium redis screenshots

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@echo "==> creating $(VENV) and installing the pinned lock (about a minute the first time)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

lint: setup
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: setup
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

# the metrics check needs a Prometheus scraping the exporter (runbook line 6: "healthy and
# scraped"), so the tests, the demo and make airflow run a real one (Debian: prometheus + promtool)
prometheus:
	@command -v prometheus >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus)

# the browser tests drive a real headless Chromium (Debian packages: chromium + chromium-driver)
chromium:
	@command -v chromedriver >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver)

# the Celery scale-out (make airflow-celery and its runtime test) uses Debian's redis-server as
# the broker, started on 127.0.0.1 with a config of its own
redis:
	@command -v redis-server >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server)

# two worker processes (pytest-xdist); tests/conftest.py keeps the suites that must share one
# process together. TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
test: setup lint prometheus chromium redis
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup

# the whole story on the embedded PostgreSQL: DAG runs, a failing gate, an operator, a green gate
demo: setup prometheus
	@$(PY) -m scripts.demo

# the demo's platform under a real scheduler: UI on http://127.0.0.1:8080, one login per person
# of the demo cast (passwords printed the first time); Ctrl-C stops everything
airflow: setup prometheus
	@$(PY) -m scripts.airflow_local

# the same with the CeleryExecutor: redis on 127.0.0.1 and two Celery workers
airflow-celery: setup prometheus redis
	@$(PY) -m scripts.airflow_local --celery

# PNGs of every Operations Center page into docs/operations_center/, from the platform that
# make airflow is running (after make demo)
screenshots: setup chromium
	@$(PY) -m scripts.operations_center_screenshots

# measured, never asserted: the jobs at 250,000 and 1,000,000 events (bench/README.md, ~10 min)
bench: setup
	@$(PY) -m bench

# settlement alone at 10,000,000 events / 100,000 merchants (scale 40) beside scale 1, into
# bench/results/large.json, then latest.md again (bench/README.md; ~30 min, ~10 GB of disk)
bench-large: setup
	@$(PY) -m bench --large

db-stop: setup
	@$(PY) -m ops_domain db stop

clean: db-stop
	rm -rf var
