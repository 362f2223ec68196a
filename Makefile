# Every target bootstraps its own virtual environment: on a fresh machine `make run` and
# `make test` are the only commands needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
OUT    ?= out

# Data sets live beside the repository (../shared/data); tests that need them skip without it.
ifneq ($(wildcard ../shared/data),)
export AIFACTORY_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: install browser run test lint typecheck contracts unit bench docs-check clean

install: $(STAMP) browser

# The dashboard's tests drive Debian's Chromium (/usr/bin/chromium) through Playwright; Playwright's own
# browser download does not work offline. Installed only when missing; AIFACTORY_SKIP_BROWSER=1 skips it.
browser:
	@if [ "$$AIFACTORY_SKIP_BROWSER" != 1 ] && [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "installing chromium (for the dashboard's browser tests)"; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/aifactory run --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) browser
	$(BIN)/pytest -n 2

test: lint typecheck contracts unit

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
