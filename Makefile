# The README's two commands are `make demo` and `make test`; both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test lint typecheck pytest bench clean redis-server

# A stamp per install flavour: re-installs when pyproject.toml changes, not on every run.
$(VENV)/.base: pyproject.toml
	@scripts/check-python $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	@touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.base
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# The reference service under the default profile; it prints its URL, a credential and
# three curl commands that show errors.
demo: $(VENV)/.base
	$(BIN)/errorbook demo --profile rfc9457 --host $(HOST) --port $(PORT)

test: $(VENV)/.test lint typecheck pytest

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.test
	$(BIN)/mypy

# The state tests and benchmarks start their own redis-server on a free loopback port; this
# installs the binary with the system package manager when it is missing.
redis-server:
	@scripts/ensure-redis

pytest: $(VENV)/.test redis-server
	$(BIN)/python -m pytest

bench: $(VENV)/.test redis-server
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
