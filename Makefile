# The few commands a newcomer needs; CI runs `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps demo council-demo test lint typecheck pytest schemas bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,council]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium and PostgreSQL for the tests, installed with apt-get when missing.
system-deps:
	devtools/system-deps

demo: $(STAMP)
	$(BIN)/hivegov-mcp demo

# The same cycle by model members: `hivegov-mcp council run` against scripted models on loopback (offline).
council-demo: $(STAMP)
	$(BIN)/hivegov-mcp demo --council

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: system-deps lint typecheck pytest

schemas: $(STAMP)
	$(BIN)/python -m devtools.schemas_export schemas

screenshots: $(STAMP)
	$(BIN)/python -m devtools.screenshots docs/screenshots

SCALE ?= 0.1

bench: $(STAMP)
	$(BIN)/python -m devtools.bench
	$(BIN)/python -m devtools.bench_scale --scale $(SCALE)
	$(BIN)/python -m devtools.bench_throughput
	$(BIN)/python -m devtools.bench_proofs

clean:
	rm -rf $(VENV) build *.egg-info .bench-cache
