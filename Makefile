# Two commands set everything up from nothing: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch that lies on this machine's disk; pyproject.toml keeps a normal range.
# Elsewhere, override: `make test TORCH_SPEC="torch"`.
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= all,dev
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $@

demo: $(STAMP)
	$(VENV)/bin/augment demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check augment fidelity tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/filter_throughput.py
	$(PY) benchmarks/image_throughput.py

clean:
	rm -rf $(VENV) build dist *.egg-info
