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

# The plant engine's modules, compiled with mypyc beside their sources (python -m aifactory.compiled):
# the same code, about 1.5 times as fast. Rebuilt when a source changes; a stale build is never used
# (aifactory.compiled); if mypyc cannot build it, the engine runs as pure Python.
COMPILED_SOURCES := $(addprefix src/aifactory/,sim/kernel.py plant/runtime.py plant/engine.py plant/release.py \
	plant/outages.py plant/transport.py)
COMPILED := src/aifactory/_compiled_sources.json

.PHONY: install browser run test lint typecheck contracts unit bench docs-check clean

install: $(STAMP) $(COMPILED) browser

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

$(COMPILED): $(STAMP) $(COMPILED_SOURCES)
	@$(BIN)/python -m aifactory.compiled > $(VENV)/compile.log 2>&1 \
		|| echo "warning: the plant engine was not compiled (see $(VENV)/compile.log); it runs as pure Python"

run: $(STAMP) $(COMPILED)
	$(BIN)/aifactory run --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) $(COMPILED) browser
	$(BIN)/pytest -n 2

test: lint typecheck contracts unit

bench: $(STAMP) $(COMPILED)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis src/build $(COMPILED) src/*__mypyc*
	find src -name '*.so' -delete
