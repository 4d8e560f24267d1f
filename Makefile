# zkarena developer entry points. `make test` works on a fresh clone: it builds the virtual
# environment, starts the local services and runs the linter and the whole test suite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Written after a successful install; pyproject.toml being newer triggers a re-install.
STAMP := $(VENV)/.zkarena-installed

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/zkarena
CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
export DATABASE_URL CELERY_BROKER_URL
SERVICES ?= postgresql redis rabbitmq
# Two workers for two cores; pytest-django gives each worker its own test database.
PYTEST_ARGS ?= -n 2

.PHONY: venv services browser tsa compose objectstore lint test demo dist

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The whole stack for development and tests: the server extra (Django, Celery, …), the
# bench's scikit-learn, the build tools and the test tools. A competitor needs none of
# them: `pip install zkarena` (or the wheel from `make dist`) brings the CLI alone.
$(STAMP): pyproject.toml zkproofs/_frkernels.c | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[server,bench,dist,test]'
	touch $@

services:
	scripts/ensure-services.sh $(SERVICES)
	scripts/ensure-database.sh '$(DATABASE_URL)'

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded).
browser:
	scripts/ensure-chromium.sh

# OpenSSL's `ts`: the real local RFC 3161 timestamp authority of the tests (scripts/local_tsa.py).
tsa:
	scripts/ensure-openssl.sh

# A Compose client (Debian's docker-compose unless Docker's plugin is there): the tests
# validate docker/compose.yaml with it.
compose:
	scripts/ensure-compose.sh

# s3rver, the S3-compatible object store of the storage tests (tools/objectstore/), from its
# committed package-lock.json with the machine's Node.js (Debian's if missing).
objectstore:
	scripts/ensure-objectstore.sh

lint: venv
	$(BIN)/ruff check .

# Lint first (it is quick), so that pytest's summary is the last thing printed.
test: venv services browser tsa compose objectstore
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A digits competition end to end on the embedded default (SQLite and a filesystem broker
# under var/demo/, no service): organizer, two competitors through the `zkarena` command
# line, the reveal, proofs, a real Celery worker; then serves the leaderboard until Ctrl-C.
# DEMO_EXIT=1 stops after the run.
demo: venv
	$(BIN)/python scripts/demo.py

# The wheel and the sdist in dist/, built with the tools already in .venv (no isolated
# build environment, so nothing is downloaded). `pip install dist/zkarena-*.whl` gives a
# competitor the CLI and the proof library; `pip install 'zkarena[server]'` the site.
dist: venv
	rm -rf dist build
	$(BIN)/python -m build --no-isolation --wheel --sdist --outdir dist .
