# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run demo test lint typecheck unit bench contract clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@ $(VENV)/.installed-run

## run: install, migrate the embedded SQLite database, poll the shipped feeds with the shipped rules
run: $(VENV)/.installed-run
	$(BIN)/rivalwatch db upgrade
	exec $(BIN)/rivalwatch run

## demo: sample feeds on loopback, polled with the shipped rules; alerts printed, nothing sent
demo: $(VENV)/.installed-run
	$(BIN)/rivalwatch demo

## test: install the test extras, then lint, type-check and run the whole suite
test: $(VENV)/.installed-test lint typecheck unit

lint: $(VENV)/.installed-test
	$(BIN)/ruff check service tests bench migrations
	$(BIN)/ruff format --check service tests bench migrations

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest

## bench: the speed figures (needs ../shared/feeds beside the checkout)
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

## contract: the outside contract check from ../shared/tools
contract: $(VENV)/.installed-test
	$(BIN)/python ../shared/tools/contract_check.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
