# SHAP zero Studio — the two quick-start commands are `make app` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: app app-deps test setup system-deps lint bench demo-models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Python dependencies from pyproject.toml (the project itself editable, with the dev and dask extras)
setup: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,dask]"

# Only what the app needs (the project and its own dependencies: no test tools, no Dask)
app-deps: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

# Debian's Chromium for the browser tests and figure export (never a downloaded browser)
system-deps:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: present"; else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; fi

# Set up and start the app; the home page has a "Try the demo" button
app: app-deps
	$(BIN)/streamlit run app.py --server.port $(PORT)

# Set up and run the whole test suite (unit, sketch, models, app, browser)
test: system-deps setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/bench_explain.py

demo-models: setup
	$(BIN)/python demo_models/build.py
