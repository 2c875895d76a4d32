# Developer tasks. `make help` lists them; CONTRIBUTING.md says when to run which.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
SOURCES := scheduler tests migrations bench

.PHONY: help install lint format typecheck imports test test-fast bench check

help:
	@echo "install    create $(VENV) and install the service with its test tools"
	@echo "lint       ruff check and ruff format --check"
	@echo "format     ruff format and the safe ruff fixes"
	@echo "typecheck  mypy --strict on scheduler/"
	@echo "imports    the import contracts in .importlinter"
	@echo "test       the whole suite on SQLite and PostgreSQL (what CI runs)"
	@echo "test-fast  the suite without the slow race, crash and replica tests"
	@echo "bench      the benchmarks (quiet machine; figures go to docs/performance.md)"
	@echo "check      lint, typecheck, imports and test-fast: before every commit"

install:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[test]'

lint:
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)

format:
	$(VENV)/bin/ruff check --fix $(SOURCES)
	$(VENV)/bin/ruff format $(SOURCES)

typecheck:
	$(VENV)/bin/mypy

imports:
	$(VENV)/bin/lint-imports

test:
	$(PYTHON) -m pytest

test-fast:
	$(PYTHON) -m pytest -m "not slow"

bench:
	$(PYTHON) bench/availability.py
	$(PYTHON) bench/bookings.py

check: lint typecheck imports test-fast
