# Self-documenting Makefile: `make help` lists the targets.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= demo
DATA_DIR ?=

LOCK := requirements.lock

# Every package at the version (and file hash) in the lock, then studylib itself without resolving again.
# pip compiles each package's bytecode one file at a time; compileall does it on every core (measured here,
# 2 cores: 115 s as pip does it, 67 s + 22 s so). Its exit status is 1 for the few files no Python 3.11
# parses (torch's tests of 3.12 syntax), which pip skips silently too: those are never imported.
$(VENV)/.installed: $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --no-compile --require-hashes -r $(LOCK)
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# JupyterLab's settings overrides for `make lab` (no "Jupyter news" popup, no update check), read from
# the venv's application settings folder
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): jupyter/overrides.json $(VENV)/.installed
	mkdir -p $(@D)
	cp jupyter/overrides.json $@

## install: create .venv (if needed) and install studylib with the exact dependencies of requirements.lock
##          (and JupyterLab's settings overrides, jupyter/overrides.json)
install: $(VENV)/.installed $(LAB_OVERRIDES)

## lock: re-resolve pyproject.toml (dev extra included) into requirements.lock; UPGRADE=1 takes the newest
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/pip-compile || $(PY) -m pip install -q pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --extra dev --strip-extras \
	    --allow-unsafe --generate-hashes --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
	    --output-file $(LOCK) pyproject.toml

## study: run the whole study (PROFILE=demo by default: generated data, a few minutes on CPU)
study: install
	$(VENV)/bin/studylib run --profile $(PROFILE) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

## test: check the layers' import contract, then run the test suite (sets up .venv by itself) in
##       TEST_WORKERS processes (pytest-xdist; 2, as CI's cores; TEST_WORKERS=0 runs it in this process)
TEST_WORKERS ?= 2
test: install
	$(VENV)/bin/lint-imports
ifeq ($(TEST_WORKERS),0)
	$(PY) -m pytest -q
else
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not alone"
	$(PY) -m pytest -q -m alone
endif

## data-check: which datasets are present (DATA_DIR=../shared/data)
data-check: install
	$(VENV)/bin/studylib data check $(if $(DATA_DIR),--data-dir $(DATA_DIR))

## bench: speed benchmarks (prints figures; not a test)
bench: install
	$(PY) bench/bench_data.py
	$(PY) bench/bench_train.py
	$(PY) bench/bench_seeds.py
	$(PY) bench/bench_startup.py

## gpu-kit: build .gpukit/ (git-ignored) for the GPU check (bench/gpu_check.sh): the wheels a bare GPU image
##          lacks, the FER2013 images it trains on (read from DATA_DIR, default ../shared/data), and the kit's
##          size beside the working tree's (together under the device's limit, or it fails naming what to trim)
gpu-kit: install
	$(PY) bench/gpu_kit.py $(if $(DATA_DIR),--data-dir $(DATA_DIR))

## lab: open JupyterLab on the notebooks (as cloned, each runs the demo profile's settings on generated data)
# as root (a container) Jupyter refuses to start without --allow-root
LAB_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
lab: install
	$(VENV)/bin/jupyter lab notebooks/ $(LAB_ARGS)

## render-sync: copy what a render in a worktree has finished (WT=../wt-cpu OUT=reports/cpu-next) into this
##          checkout, to commit: each finished task's record, report, state and log, the index, the memoised
##          search trials; never a running task's log, checkpoints or locks
WT ?= ../wt-cpu
OUT ?= reports/cpu-next
render-sync:
	test -d $(WT)/$(OUT) || { echo "no render at $(WT)/$(OUT) (set WT and OUT)"; exit 2; }
	mkdir -p $(OUT)
	cd $(WT)/$(OUT) && tar cf - --exclude=./checkpoints --exclude='*.ck' --exclude='*.lock' --exclude='*.running' \
	    --exclude='*.part' --exclude='*.ipynb' --exclude=./data \
	    $$(for r in tasks/*.running; do [ -e "$$r" ] && echo "--exclude=./logs/$$(basename $$r .running).log"; done) . \
	  | (cd $(CURDIR)/$(OUT) && tar xpf -)
	git status --short $(OUT)

## clean: remove caches and demo reports (keeps .venv)
clean:
	rm -rf .pytest_cache reports/demo .cache
	find . -name __pycache__ -prune -exec rm -rf {} +

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

.PHONY: install lock study test data-check bench lab render-sync clean help
