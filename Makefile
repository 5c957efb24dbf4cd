# The two commands of the README: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.cache/jax
export RAY_AUTH_MODE ?= disabled
export RAY_USAGE_STATS_ENABLED ?= 0
FMNIST_DIR := /usr/share/datasets/fashion-mnist

.PHONY: install data browser demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

# the demo needs the package alone; the tests and benchmarks add their extras (LiteRT, PyTorch, ...)
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(DEMO_STAMP)

install: $(STAMP)

APT = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  if command -v apt-get >/dev/null 2>&1; then \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(1); \
	  else echo "apt-get not found: install $(1) by hand"; fi

# Debian's Fashion-MNIST package (gzipped IDX files); installed when apt is available.
data:
	@if [ ! -e $(FMNIST_DIR)/train-images-idx3-ubyte.gz ]; then $(call APT,dataset-fashion-mnist); fi

# Headless Chromium renders the HTML report in the tests.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then $(call APT,chromium); fi

demo: $(DEMO_STAMP) data
	$(BIN)/nas run fashion_mnist --workdir runs/fashion_mnist

test: install data browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# Everything not marked slow (no supernet training, Ray or end-to-end CLI runs): for quick iterations.
test-fast: install data browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup -m "not slow"

lint: install
	$(BIN)/ruff check .

# Benchmarks (minutes each; results go to docs/benchmarks/*.md). The PyTorch row of the training
# benchmark needs the CPU build of torch 2.13.0.
bench: install
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python -m experiments.benchmarks.supernet_throughput
	$(BIN)/python -m experiments.benchmarks.train_throughput
	$(BIN)/python -m experiments.benchmarks.latency_predictor --draws 10
	$(BIN)/python -m experiments.benchmarks.search_efficiency --seeds 10

clean:
	rm -rf $(VENV) .cache runs
