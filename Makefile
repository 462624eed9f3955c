# One command each for a fresh machine with only Python: `make start`, `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed

.DEFAULT_GOAL := all
.PHONY: all install start test lint format mypy bench clean

# Running the example app needs only the package; the tests need the dev extras on top.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

start: $(RUN_STAMP)
	$(BIN)/arc-sandbox start example-app

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage report

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

mypy: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/http.py
	$(BIN)/python bench/environments.py
	$(BIN)/python bench/tables.py
	$(BIN)/python bench/bus.py
	$(BIN)/python bench/reload.py
	$(BIN)/python bench/wire.py
	$(BIN)/python bench/ws.py
	$(BIN)/python bench/dashboard.py

all: test

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache
