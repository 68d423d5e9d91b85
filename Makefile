# The verbs a user types. Each works on a fresh clone: the first one creates .venv and installs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where FER2013 is (a .csv/.csv.gz or an image-folder root); empty: $$FER2013_PATH, data/, else the demo dataset.
DATA ?=
EPOCHS ?= 20
RUN_DIR ?= runs/paper_cnn
TRAIN_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench reproduce clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

## run: train the paper's CNN with the paper's recipe and evaluate it on PublicTest
##      (make run DATA=... EPOCHS=... RUN_DIR=... TRAIN_ARGS="--overwrite --seed 1")
run: $(VENV)/.installed
	$(PY) -m fer_lib train $(if $(DATA),--data "$(DATA)") --epochs $(EPOCHS) --run-dir $(RUN_DIR) $(TRAIN_ARGS)

## test: every test; those that need FER2013 run when it is found (FER2013_PATH or data/), else skip
test: $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: the speed benchmarks (tables on stdout, JSON under benchmarks/results/)
bench: $(VENV)/.installed
	$(PY) benchmarks/bench_load.py $(if $(DATA),--data "$(DATA)")
	$(PY) benchmarks/bench_train.py $(if $(DATA),--data "$(DATA)")

## reproduce: the README's real run on the full FER2013 (about an hour on 2 CPU cores)
reproduce: $(VENV)/.installed
	$(PY) -m fer_lib train $(if $(DATA),--data "$(DATA)") --run-dir results/paper_cnn_fer2013

clean:
	rm -rf runs .pytest_cache
