# One entry point for habits. `make start` and `make test` work on a fresh machine with Python 3.11+.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: start test test-fast bench lint format db-stop clean

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is needed (python3.11, python3.12 or python3.13 on PATH)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

## start: the database, the course prepared, and JupyterLab on 127.0.0.1 (Ctrl-C stops both)
start: $(STAMP)
	$(BIN)/course lab --port $${COURSE_LAB_PORT:-8888}

## test: everything, on a throwaway database (or DATABASE_URL): checkers, grader, CLI, then the notebooks
# The notebooks share the learner's lab database, so they run one after another; the rest runs on 2 workers.
test: $(STAMP)
	COURSE_GRADE=solutions $(BIN)/python tests/with_db.py \
		"$(BIN)/python -m pytest -n 2 --dist load -q tests && $(BIN)/python -m pytest --nbval -q notebooks"

## test-fast: the tests without the notebooks
test-fast: $(STAMP)
	$(BIN)/python tests/with_db.py "$(BIN)/python -m pytest -n 2 --dist load -q tests"

## bench: the speed numbers (check latency, watch latency, sandbox creation, start and test times)
bench: $(STAMP)
	$(BIN)/python bench/bench.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench solutions checkers
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

db-stop: $(STAMP)
	$(BIN)/course db stop

clean:
	rm -rf $(VENV) .course
