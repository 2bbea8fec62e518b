# The two commands a newcomer needs:  `make demo`  and  `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo demo-reset test lint security typecheck pytest run env env-dev browser fonts clean

# Set up, migrate, seed a demo organisation and serve it on http://127.0.0.1:8000 (SQLite).
# Two-factor login is off for the demo only (nobody has an authenticator for demo users yet);
# `haven check` calls that unsafe in production, where it is always on.
demo: env fonts
	$(BIN)/haven demo --if-empty
	HAVEN_REQUIRE_2FA=false $(BIN)/haven run --host $(HOST) --port $(PORT)

# Start the demo again from fresh data, keeping .venv/: the demo's database, keys, logins and
# secret key are removed (.haven-data/), then `make demo` seeds and serves anew.
# Refused when a real deployment's settings are in the environment: it only ever removes the
# demo's own ./.haven-data.
demo-reset: env
	@if [ -n "$$HAVEN_DATA_DIR$$DATABASE_URL$$HAVEN_ENV" ]; then \
		echo "demo-reset: HAVEN_DATA_DIR, DATABASE_URL or HAVEN_ENV is set; refusing to remove anything"; \
		exit 1; fi
	rm -rf ./.haven-data
	$(MAKE) demo HOST=$(HOST) PORT=$(PORT)

# Every check: ruff, bandit and pip-audit, mypy, the suite on SQLite and, when
# HAVEN_TEST_DATABASE_URL is set, on PostgreSQL.
test: env-dev browser fonts lint security typecheck pytest

lint:
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# bandit over src/ (config in pyproject.toml); pip-audit over the locks, which says
# "skipped: no vulnerability service reachable" rather than fail or pass when it cannot ask.
security:
	$(BIN)/bandit -c pyproject.toml -r src -q
	$(BIN)/python scripts/audit-deps requirements/base.lock requirements/dev.lock

typecheck:
	$(BIN)/mypy

pytest:
	@echo "== test suite on SQLite =="
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)
	@if [ -n "$$HAVEN_TEST_DATABASE_URL" ]; then \
		echo "== test suite on PostgreSQL =="; \
		DATABASE_URL="$$HAVEN_TEST_DATABASE_URL" $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS); \
	else echo "HAVEN_TEST_DATABASE_URL is not set: PostgreSQL run left out"; fi

$(VENV)/.base-stamp: requirements/base.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/base.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-stamp: requirements/dev.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@ $(VENV)/.base-stamp

env: $(VENV)/.base-stamp
env-dev: $(VENV)/.dev-stamp

# The browser tests drive Debian's Chromium; install it when it is missing and we may.
browser:
	@scripts/ensure-chromium

# Printed case files embed Debian's NanumGothic (fonts-nanum); install it when missing and we may.
fonts:
	@scripts/ensure-fonts

run: env fonts
	$(BIN)/haven run --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .haven-data
