# make demo: build .venv if needed, then classify data/sample.csv
# make test: build .venv if needed, then run the test suite
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# python3.7 on PATH when it runs (a pyenv shim may exist and fail), else the newest pyenv 3.7.x.
PY37  := $(shell python3.7 -c 'import sys' >/dev/null 2>&1 && echo python3.7 || \
           ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.7.*/bin/python3.7 2>/dev/null | sort -V | tail -n 1)

.PHONY: demo test env bench clean

env: $(STAMP)

$(STAMP): requirements.txt setup.py
	@if [ -z "$(PY37)" ]; then echo "error: Python 3.7 is needed: install it (pyenv install 3.7.16, or conda env create -f environment.yml) so that python3.7 is on PATH"; exit 1; fi
	rm -rf $(VENV)
	$(PY37) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip<24.1' 'setuptools<68' wheel
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) main.py --data_path data/sample.csv

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) bench/bench_inference.py --config small --seq_len 128

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
