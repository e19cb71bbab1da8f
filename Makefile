# Batch Notebooks: `make help` lists the targets.
# Everything runs from .venv (Python packages pinned by constraints.txt) and node_modules
# (Azurite, pinned by package-lock.json); `make setup` makes both and is quick when nothing changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV_PY := .venv/bin/python
PY_STAMP := .venv/.setup-hash
NODE_STAMP := node_modules/.setup-hash
PY_INPUTS := pyproject.toml constraints.txt
NODE_INPUTS := package.json package-lock.json
PYTEST_ARGS ?=
BENCH_ARGS ?=
SAMPLE ?= long
EDITION ?= en
SHA256 := $(shell command -v sha256sum >/dev/null && echo sha256sum || echo 'shasum -a 256')

.PHONY: help setup tutorial lab notebooks translations handouts grade wheelhouse test test-fast test-live bench lint down clean

help: ## list the targets
	@echo "Batch Notebooks: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

# Each half is keyed on a sha256 of its input files, kept in a stamp inside the folder it
# installs, so a changed lock re-installs and a deleted folder is made again.
setup: ## make .venv (pip, constraints.txt) and node_modules (npm ci, Azurite); quick when nothing changed
	@set -eo pipefail; \
	py_hash=$$(cat $(PY_INPUTS) | $(SHA256) | cut -d' ' -f1); \
	node_hash=$$(cat $(NODE_INPUTS) | $(SHA256) | cut -d' ' -f1); \
	done=""; \
	if [ ! -x $(VENV_PY) ]; then \
		$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
			|| { echo "setup: needs Python >= 3.10; try: make setup PYTHON=python3.11"; exit 1; }; \
		$(PYTHON) -m venv .venv || { rm -rf .venv; exit 1; }; \
	fi; \
	if [ "$$(cat $(PY_STAMP) 2>/dev/null)" != "$$py_hash" ]; then \
		if [ -d wheelhouse/python ]; then \
			$(VENV_PY) -m pip install --no-index --find-links wheelhouse/python \
				-c constraints.txt -e '.[test]'; \
		else \
			$(VENV_PY) -m pip install -c constraints.txt -e '.[test]'; \
		fi; \
		echo "$$py_hash" > $(PY_STAMP); done="$$done .venv"; \
	fi; \
	if [ "$$(cat $(NODE_STAMP) 2>/dev/null)" != "$$node_hash" ]; then \
		if [ -d wheelhouse/npm-cache ]; then \
			npm ci --no-audit --no-fund --offline --cache "$$(pwd)/wheelhouse/npm-cache"; \
		else \
			npm ci --no-audit --no-fund; \
		fi; \
		echo "$$node_hash" > $(NODE_STAMP); done="$$done node_modules"; \
	fi; \
	if git rev-parse --git-dir >/dev/null 2>&1; then \
		git config filter.notebook-metadata.clean "$(PYTHON) scripts/notebook_metadata.py"; \
	fi; \
	if [ -z "$$done" ]; then \
		echo "setup: up to date (.venv and node_modules match their lock files)"; \
	else \
		echo "setup: installed$$done"; \
	fi

# The local autoscale clock (LOCALBATCH_TIME_SCALE): 10 times Azure's, so that 11's pool follows
# its queue within a minute; `python -m localbatch up` alone runs at Azure's pace. The committed
# outputs and the tests use 60.
LOCAL_CLOCK ?= 10

tutorial: setup ## run the notebooks headless against the local Batch service and Azurite (SAMPLE=short for 6-second clips, EDITION=cs for the Czech ones); print where the MP3s, plots and handouts are
	LOCALBATCH_TIME_SCALE=$(LOCAL_CLOCK) BATCH_NOTEBOOKS_SAMPLE=$(SAMPLE) $(VENV_PY) scripts/run_notebooks.py --edition $(EDITION)
	$(VENV_PY) scripts/build_handouts.py --source outputs/executed
	@echo "The local Batch service is still running (for make lab); make down stops it."

# The kit's JupyterLab defaults (no news pop-up, no update check) come from
# jupyter/lab/settings/overrides.json; the learner's own settings stay where they are.
lab: setup ## open the notebooks in JupyterLab (the kit's settings: no news pop-up)
	LOCALBATCH_TIME_SCALE=$(LOCAL_CLOCK) .venv/bin/jupyter lab --notebook-dir=notebooks --LabApp.app_settings_dir="$(CURDIR)/jupyter/lab/settings" \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)

handouts: setup ## the committed notebooks as HTML pages with an index, the instructor's kit, and practice copies (and a zip), in outputs/handouts
	$(VENV_PY) scripts/build_handouts.py

grade: setup ## run one learner's practice copies headless against a fresh local service and say which exercises are done (NOTEBOOKS=DIR)
	@test -n "$(NOTEBOOKS)" || { echo "make grade needs NOTEBOOKS=DIR: one learner's folder of practice copies" >&2; exit 2; }
	$(VENV_PY) scripts/grade.py "$(NOTEBOOKS)"

wheelhouse: ## gather every package make setup downloads into wheelhouse/ (copy it for offline set-ups)
	$(PYTHON) -m pip download --dest wheelhouse/python -r constraints.txt 'setuptools>=69' wheel
	$(PYTHON) -m pip download --dest wheelhouse/python -r tests/clients/requirements-azure-batch-14.txt
	npm ci --no-audit --no-fund --cache "$$(pwd)/wheelhouse/npm-cache"
	@echo "wheelhouse/ is ready: with it, make setup installs with no network."

notebooks: setup ## re-execute the notebooks, English (Shared Key) and Czech (Microsoft Entra ID), in place against a fresh local service, on 6-second clips as nbval runs them (the committed outputs)
	LOCALBATCH_TIME_SCALE=60 BATCH_NOTEBOOKS_SAMPLE=short $(VENV_PY) scripts/run_notebooks.py --fresh --in-place
	LOCALBATCH_TIME_SCALE=60 BATCH_NOTEBOOKS_SAMPLE=short BATCH_AUTH=entra $(VENV_PY) scripts/run_notebooks.py --fresh --in-place --edition cs

translations: setup ## bring the Czech catalogs (locale/cs) up to the English notebooks, then build notebooks/cs from them (and typeset docs/cs)
	$(VENV_PY) scripts/translations.py update
	$(VENV_PY) scripts/translations.py build

# nbval runs the committed notebooks (both editions) and compares their outputs; the kernels get
# 6-second clips (BATCH_NOTEBOOKS_SAMPLE=short, set by conftest.py), as `make notebooks` made them.
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	--nbval-cell-timeout 600
# test-fast: the REST rules, scheduler, node agent, transfers, helpers and the one headless run;
# not the fault suite, restarts, handouts, live check, browser or client tests.
FAST := -m "not slow and not browser" --ignore=tests/clients --ignore=tests/faults \
	--ignore=tests/test_restart.py --ignore=tests/test_handouts.py --ignore=tests/test_live_check.py

# Four workers on two cores: much of the suite waits on services, nodes and kernels (with three,
# a fresh clone's run used 1.3 of the 2 cores and took 6.5 minutes; with four, 5.9). The notebooks
# come first, so that each edition starts at once in a worker of its own.
WORKERS ?= 4

test: setup ## run the tests and nbval on every notebook, in parallel (pass options with PYTEST_ARGS='-k media')
	$(VENV_PY) -m pytest -n $(WORKERS) --durations=15 $(NBVAL) notebooks tests $(PYTEST_ARGS)

test-fast: setup ## the quick tier: REST rules, scheduler, node agent, transfers, helpers, the headless run (no nbval, faults, restarts, handouts, browser or clients)
	$(VENV_PY) -m pytest -n $(WORKERS) --durations=10 $(FAST) tests $(PYTEST_ARGS)

test-live: setup ## the conformance tests against your Azure account (settings from the environment or .env; it creates pools, which costs money)
	$(VENV_PY) -m pytest --live $(PYTEST_ARGS)

bench: setup ## run the benchmarks (minutes; BENCH_ARGS=--quick for a short run); table in bench/RESULTS.md
	$(VENV_PY) -m bench $(BENCH_ARGS)

lint: ## check the code with ruff
	.venv/bin/ruff check .
	.venv/bin/lint-imports --no-cache

down: ## stop the local Batch service and Azurite
	$(VENV_PY) -m localbatch down

clean: ## stop the local services, remove .venv, node_modules, .localbatch, outputs and caches
	@if [ -x $(VENV_PY) ]; then $(VENV_PY) -m localbatch down || true; fi
	rm -rf .venv node_modules .localbatch outputs .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
