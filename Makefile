# Treadle: `make dev` runs the engine locally, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck imports unit bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

EXAMPLE_NODES := examples/plugins/treadle-example-nodes

# The example package of node kinds is installed too: its tests, and the suite's tests of
# installed kinds, run against it.
$(STAMP): $(BIN)/python pyproject.toml $(EXAMPLE_NODES)/pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps -e $(EXAMPLE_NODES)
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

dev: $(STAMP)
	$(BIN)/treadle dev

bench: $(STAMP)
	$(BIN)/python -m bench

# Treadle side by side with pgqueuer, procrastinate and DBOS (pinned, in .venv-peers/).
bench-peers: $(STAMP)
	$(BIN)/python -m bench.peers $(PEERS_ARGS)

clean:
	rm -rf $(VENV) .treadle .pytest_cache .mypy_cache .ruff_cache .hypothesis
