# adrec: two commands do all set-up on a fresh machine.
#   make reproduce   create .venv if missing, run every notebook (PROFILE=quick|full), write results, figures, paper
#   make test        same environment; unit tests, Keras parity on three backends, nbval, papermill smoke run
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    := .venv
PY      := $(VENV)/bin/python
PROFILE ?= quick
DEVICE  ?= auto
BUILD   := build
LOCK    := requirements-lock.txt
# The offline dataset mirror: ../shared/data when it exists (CI, this project's machines).
MIRROR  ?= $(wildcard $(abspath ../shared/data))
ifneq ($(strip $(MIRROR)),)
export ADREC_DATA_MIRROR ?= $(MIRROR)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONWARNINGS ?= ignore::DeprecationWarning

ENV_HASH  := $(shell cat $(LOCK) pyproject.toml | sha256sum | cut -c1-16)
ENV_STAMP := $(VENV)/.adrec-env-$(ENV_HASH)
# pytest exits 5 when a selection holds no test: not a failure here.
PYTEST    := $(PY) -m pytest -p no:cacheprovider
ok5       := || { rc=$$?; [ $$rc -eq 5 ] || exit $$rc; }

.PHONY: help env reproduce test unit keras-parity nbval smoke notebooks lock clean
help:
	@echo "make reproduce [PROFILE=quick|full] [DEVICE=auto|cuda|cpu]  run every notebook, write results/ figures/ paper/"
	@echo "make test                                                 unit tests + Keras parity + nbval + papermill smoke"
	@echo "make notebooks NB=NN_topic                                rebuild a committed notebook from its .py twin"

env: $(ENV_STAMP)
$(ENV_STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(LOCK) -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name adrec --display-name "adrec (Python 3.11)" >/dev/null
	@rm -f $(VENV)/.adrec-env-*; touch $@
	@echo "environment ready: $(VENV) (pins: $(LOCK); Jupyter kernel: adrec)"

reproduce: env
	$(PY) -m adrec.reproduce --profile $(PROFILE) --device $(DEVICE)

test: env unit keras-parity nbval smoke
	@echo "make test: all passes green"

unit: env
	$(PYTEST) tests -q $(ok5)

keras-parity: env
	KERAS_BACKEND=tensorflow $(PYTEST) -m keras tests -q $(ok5)
	KERAS_BACKEND=torch $(PYTEST) -m keras tests -q $(ok5)
	KERAS_BACKEND=jax $(PYTEST) -m keras tests -q $(ok5)

# nbval re-executes each committed notebook (quick profile) and compares the cells marked
# NBVAL_CHECK_OUTPUT (lax mode; see README "Testing"); outputs go to build/, never over committed files.
nbval: env
	rm -rf $(BUILD)/nbval
	ADREC_RESULTS_DIR=$(abspath $(BUILD)/nbval/results) ADREC_FIGURES_DIR=$(abspath $(BUILD)/nbval/figures) \
	ADREC_PAPER_DIR=$(abspath $(BUILD)/nbval/paper) \
	$(PYTEST) --nbval-lax --nbval-kernel-name adrec --sanitize-with tests/nbval_sanitize.cfg notebooks/*.ipynb

# papermill smoke run of the real executor on the overview notebook, into build/.
smoke: env
	rm -rf $(BUILD)/smoke
	ADREC_RESULTS_DIR=$(abspath $(BUILD)/smoke/results) ADREC_FIGURES_DIR=$(abspath $(BUILD)/smoke/figures) \
	ADREC_PAPER_DIR=$(abspath $(BUILD)/smoke/paper) \
	$(PY) -m adrec.reproduce --only 00 --profile quick --device cpu
	test -s $(BUILD)/smoke/results/quick/00_overview/metrics.json

notebooks: env
	$(PY) -m adrec.notebooks build $(NB)

# Re-pin: resolve pyproject's ranges in a scratch venv and write exact versions to the lock.
lock:
	rm -rf $(BUILD)/lockenv && $(PYTHON) -m venv $(BUILD)/lockenv
	$(BUILD)/lockenv/bin/pip install --quiet -e ".[dev]" "torch==2.13.0"
	$(BUILD)/lockenv/bin/pip freeze --exclude-editable | sed -E 's/^(torch==[0-9.]+)\+cpu$$/\1/' > $(LOCK)

clean:
	rm -rf $(BUILD)
