# Two commands for a newcomer: `make run` (the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tenantguard-installed
# `make run PORT=8080` serves on another port (loopback only, like `tenantguard run --port`).
PORT ?= 8000

.PHONY: run test lint install schema screenshots

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tenantguard run --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Retake every README screenshot (docs/screenshots/) in Chromium: the "Try a restore in the
# demo" walk and the wizard's browser tests. About 3 minutes.
screenshots: $(STAMP)
	TENANTGUARD_UPDATE_SCREENSHOTS=1 TENANTGUARD_SCREENSHOTS=1 $(BIN)/python -m pytest \
		-p no:cacheprovider -q tests/browser/test_readme_walkthrough.py \
		tests/browser/test_wizard_browser.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy tenantguard config

# Build step (by hand, after changing the pinned msgraph-beta-sdk): regenerate the emulator's
# checked-in Graph schema from Microsoft's generated models. About 5 minutes.
schema: $(STAMP)
	$(BIN)/python tools/generate_graph_schema.py
