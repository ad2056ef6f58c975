# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run demo test lint typecheck unit bench contract lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies come from the lock files (exact versions, checked against their hashes), so an
# install next month is the same install; the project itself is installed on top, editable.
$(VENV)/.installed-run: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-run

## lock: pin every dependency again (with hashes) after changing them in pyproject.toml
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --extra test --extra bench -o requirements-dev.lock

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
