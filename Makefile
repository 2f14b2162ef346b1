# clientele: the README's commands. Everything is installed into .venv from
# requirements.lock (exact pins), so a fresh machine needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/.dagster_home

.PHONY: run ui test bench lint clean install

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# make run              demo data (20,000 customers, one year), whole pipeline
# make run CDNOW=1      the real CDNOW transaction log shipped with lifetimes
run: $(STAMP)
	$(BIN)/clientele run $(if $(CDNOW),--cdnow,) $(ARGS)

ui: $(STAMP)
	$(BIN)/clientele ui

# The browser test drives Debian's Chromium (Playwright's own browser download cannot run here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium > /dev/null \
	  || echo "could not install Debian's chromium: the browser test will be skipped (it fails under CI=true)"

test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(ARGS)

clean:
	rm -rf data dbt_project/target dbt_project/logs .dagster_home/storage .dagster_home/history .dagster_home/logs .dagster_home/schedules
