# SARSense: `make demo` and `make test` work first thing on a fresh Debian 12.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SYS_PYTHON   ?= /usr/bin/python3
VENV         ?= .venv
PY           := $(VENV)/bin/python
QGIS_PROFILE ?= $(HOME)/.local/share/QGIS/QGIS3/profiles/default
PLUGIN_NAME  := sarsense
PLUGIN_LINK  := $(QGIS_PROFILE)/python/plugins/$(PLUGIN_NAME)
export QT_QPA_PLATFORM ?= offscreen
APT_PACKAGES := qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-pyqt5 python3-scipy python3-matplotlib python3-venv python3-pip xvfb
STAMP        := $(VENV)/.sarsense-setup
TRAIN_VENV   ?= .venv-train
TRAIN_PY     := $(TRAIN_VENV)/bin/python
TRAIN_STAMP  := $(TRAIN_VENV)/.sarsense-train
BENCH_VENV   ?= .venv-bench
NUMPY_PIN     = <($(SYS_PYTHON) -c 'import numpy; print("numpy==" + numpy.__version__)')
# The packages QGIS's Python lacks (onnxruntime, scikit-learn) go into this folder for everything make runs (tests,
# demo, bench, training): `make test` never writes into the user's QGIS profile. `make install-plugin` also
# installs them into the profile's own folder, where QGIS desktop looks (setup_tools.deps_dir).
DEPS_DIR     ?= $(abspath $(VENV))/sarsense-deps
export SARSENSE_DEPS_DIR := $(DEPS_DIR)

.PHONY: help help-pages screenshots setup setup-train link-checkout system install-plugin lint test test-fast \
        test-training test-dask demo bench bench-sarsen models package clean

help:
	@echo "make demo     install what is missing, then run the SAR chain on the bundled scene"
	@echo "make test     install what is missing, then run the whole test suite in real QGIS"
	@echo "make setup | setup-train | install-plugin | lint | test-fast | test-training | test-dask | bench | bench-sarsen | models | help-pages | screenshots | package | clean"

help-pages:
	@# one HTML help page per algorithm, from the pages in docs/ (the algorithms' Help button opens them)
	$(SYS_PYTHON) sarsense_qgis/help.py

screenshots: install-plugin
	@# the desktop as a person sees it: menu, toolbox, every dialog, the workflows in the modeler (PNG + facts.json)
	@command -v xvfb-run >/dev/null || { echo "screenshots need xvfb-run (Debian: apt install xvfb)"; exit 1; }
	mkdir -p demo_output/desktop
	env -u QT_QPA_PLATFORM SARSENSE_LOOK_DIR=$(CURDIR)/demo_output/desktop xvfb-run -a -s "-screen 0 1600x1000x24" \
	  qgis --nologo --noversioncheck --code tests/desktop/look.py
	@echo "screenshots in demo_output/desktop"

# --- setup -----------------------------------------------------------------------------
system:
	@if [ -x /usr/bin/qgis_process.bin ] && $(SYS_PYTHON) -c 'import qgis.core, osgeo.gdal, scipy, PyQt5, matplotlib' 2>/dev/null \
	    && $(SYS_PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  echo "QGIS $$($(SYS_PYTHON) -c 'from qgis.core import Qgis; print(Qgis.QGIS_VERSION)') and GDAL found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing QGIS and GDAL from Debian packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else \
	  echo "QGIS >= 3.22 with Python, GDAL, scipy or matplotlib is missing. Install them, e.g. on Debian/Ubuntu:"; \
	  echo "  sudo apt-get install $(APT_PACKAGES)"; exit 1; \
	fi
	@$(SYS_PYTHON) -c 'from qgis.core import Qgis; import sys; v=Qgis.QGIS_VERSION_INT; sys.exit(0 if v >= 32200 else "QGIS >= 3.22 needed, found " + Qgis.QGIS_VERSION)'

$(STAMP): resources/requirements-runtime.txt tests/requirements-test.txt sarsense_qgis/setup_tools.py
	@$(MAKE) --no-print-directory system
	@[ -x $(PY) ] || $(SYS_PYTHON) -m venv --system-site-packages $(VENV)
	@deps=$$($(PY) sarsense_qgis/setup_tools.py deps-dir); mkdir -p "$$deps"; \
	  echo "$$deps" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sarsense_deps.pth
	@$(MAKE) --no-print-directory link-checkout LINK_VENV=$(VENV)
	@# runtime packages first, into the folder QGIS's Python sees (numpy/scipy pinned to QGIS's)
	@# resolved against what QGIS's own Python sees (a .venv may hold test-only packages QGIS lacks)
	if $(SYS_PYTHON) -m pip --version >/dev/null 2>&1; then $(SYS_PYTHON) sarsense_qgis/setup_tools.py install-deps; \
	else $(PY) sarsense_qgis/setup_tools.py install-deps; fi
	@$(PY) -c 'import numpy, sys; sys.exit(0 if numpy.__file__.startswith("/usr/") else "numpy was replaced: " + numpy.__file__)'
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(NUMPY_PIN) -r tests/requirements-test.txt
	@touch $@

# Offline training (torch, CPU): its own venv of QGIS's Python, so GDAL and QGIS's numpy are shared.
$(TRAIN_STAMP): models/training/requirements.txt $(STAMP)
	@[ -x $(TRAIN_PY) ] || $(SYS_PYTHON) -m venv --system-site-packages $(TRAIN_VENV)
	@$(PY) sarsense_qgis/setup_tools.py deps-dir > $$($(TRAIN_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sarsense_deps.pth
	@$(MAKE) --no-print-directory link-checkout LINK_VENV=$(TRAIN_VENV)
	$(TRAIN_PY) -m pip install --quiet --disable-pip-version-check -c $(NUMPY_PIN) -r models/training/requirements.txt
	@$(TRAIN_PY) -c 'import numpy, sys; sys.exit(0 if numpy.__file__.startswith("/usr/") else "numpy was replaced: " + numpy.__file__)'
	@touch $@

setup-train: $(TRAIN_STAMP)

# The checkout is the package `sarsense` (QGIS imports the plugin folder under that name): a venv sees it through
# <venv>/sarsense-src/sarsense -> this folder, named by a .pth file, as an editable install would.
link-checkout:
	@mkdir -p $(LINK_VENV)/sarsense-src && ln -sfn $(CURDIR) $(LINK_VENV)/sarsense-src/sarsense
	@echo $(abspath $(LINK_VENV))/sarsense-src > \
	  $$($(LINK_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/sarsense_checkout.pth

setup: $(STAMP)
	@$(SYS_PYTHON) sarsense_qgis/setup_tools.py check-deps

install-plugin: setup
	@mkdir -p $(dir $(PLUGIN_LINK))
	@if [ -L $(PLUGIN_LINK) ] || [ ! -e $(PLUGIN_LINK) ]; then ln -sfn $(CURDIR) $(PLUGIN_LINK); \
	  else echo "$(PLUGIN_LINK) exists and is not a link; remove it first"; exit 1; fi
	@$(SYS_PYTHON) sarsense_qgis/setup_tools.py enable-plugin --profile $(QGIS_PROFILE) >/dev/null
	@# the packages QGIS lacks, also where QGIS desktop finds them: the profile's private folder
	@if $(SYS_PYTHON) -m pip --version >/dev/null 2>&1; then SARSENSE_DEPS_DIR= $(SYS_PYTHON) sarsense_qgis/setup_tools.py \
	  install-deps; else SARSENSE_DEPS_DIR= $(PY) sarsense_qgis/setup_tools.py install-deps; fi
	@echo "plugin linked at $(PLUGIN_LINK) and enabled in $(QGIS_PROFILE)/QGIS/QGIS3.ini"

# --- use -------------------------------------------------------------------------------
# Tests never touch the user's QGIS profile: pytest-qgis keeps its settings in tests/.qgis-settings and the
# qgis_process tests run with a fresh HOME (`make install-plugin` links the plugin into the real profile, on purpose).
test: lint setup setup-train
	@# pytest exit 5 means no test was collected: say so and fail.
	@$(PY) -m pytest -p no:cacheprovider tests/core tests/qgis tests/process || { rc=$$?; \
	  [ $$rc -eq 5 ] && echo "no tests were collected: failing"; exit $$rc; }
	@$(TRAIN_PY) -m pytest -p no:cacheprovider tests/training || { rc=$$?; \
	  [ $$rc -eq 5 ] && echo "no training tests were collected: failing"; exit $$rc; }

test-training: setup-train
	$(TRAIN_PY) -m pytest -p no:cacheprovider tests/training

# The fast loop while editing: the core's tests only (no QGIS application, no qgis_process).
test-fast: lint
	$(PY) -m pytest -p no:cacheprovider -q tests/core

# The core and in-QGIS suites with every engine call on a two-process Dask LocalCluster (tests/conftest.py): the
# blocks must give the local engine's results there (docs/distributed.md). Not in `make test` (it doubles the time).
test-dask: setup
	SARSENSE_TEST_EXECUTOR=local:2 $(PY) -m pytest -p no:cacheprovider -q tests/core tests/qgis

# The gate, first in `make test`: every tracked .py compiles with QGIS's Python and passes ruff (pyproject.toml).
lint: setup
	@git ls-files -z '*.py' | xargs -0 $(PY) -m py_compile
	$(PY) -m ruff check --no-cache .

demo: install-plugin
	$(PY) tests/demo/run.py --out $(CURDIR)/demo_output

bench: install-plugin setup-train
	@command -v otbcli_Despeckle >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq otb-bin >/dev/null; } \
	  || { echo "bench needs OTB (Debian: apt install otb-bin)"; exit 1; }
	$(PY) tests/bench/run.py
	$(TRAIN_PY) tests/bench/neural_networks.py

# Optional peer of bench section 9: sarsen (terrain correction) with its xarray/rasterio/dask stack, in a venv of
# its own (not --system-site-packages: its numpy 2 never meets QGIS's); `make bench` compares with it when present.
bench-sarsen:
	@[ -x $(BENCH_VENV)/bin/python ] || $(SYS_PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/bench/requirements-sarsen.txt
	@$(BENCH_VENV)/bin/python -c 'import sarsen; print("sarsen", sarsen.__version__, "in $(BENCH_VENV)")'

models: setup-train
	@# retrains every bundled model from the data named in its card, rewrites models/*.onnx and *.md
	$(TRAIN_PY) -m models.training.build

package:
	@mkdir -p dist
	git archive --format=zip --prefix=$(PLUGIN_NAME)/ -o dist/$(PLUGIN_NAME).zip HEAD
	@echo "dist/$(PLUGIN_NAME).zip"

clean:
	rm -rf $(VENV) $(TRAIN_VENV) $(BENCH_VENV) dist demo_output .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
