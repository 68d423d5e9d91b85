# The verbs a user types. Each works on a fresh clone: the first one creates .venv and installs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Where FER2013 is (a .csv/.csv.gz or an image-folder root); empty: $$FER2013_PATH, data/, else the demo dataset.
DATA ?=
EPOCHS ?= 20
RUN_DIR ?= runs/paper_cnn
OVERWRITE ?=
TRAIN_ARGS ?=
PYTEST_ARGS ?=
SERIES = $(PY) -m fer_lib notebooks $(if $(DATA),--data "$(DATA)") $(if $(OVERWRITE),--overwrite)

.PHONY: run train test browser notebooks bench reproduce clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

## run: the notebook series, executed in order by papermill into RUN_DIR/notebooks (figures, numbers, model in RUN_DIR)
##      (make run DATA=... EPOCHS=... RUN_DIR=... OVERWRITE=1; a finished run with the same settings is reused)
run: $(VENV)/.installed
	$(SERIES) --epochs $(EPOCHS) --run-dir $(RUN_DIR)

## train: the same training and evaluation from the command line, without the notebooks
##        (make train DATA=... EPOCHS=... RUN_DIR=... TRAIN_ARGS="--overwrite --seed 1")
train: $(VENV)/.installed
	$(PY) -m fer_lib train $(if $(DATA),--data "$(DATA)") --epochs $(EPOCHS) --run-dir $(RUN_DIR) $(TRAIN_ARGS)

## test: every test; those that need FER2013 run when it is found (FER2013_PATH or data/), else skip; the live page's
##       browser test needs Debian's chromium and chromium-driver, installed here when root (else it skips)
test: $(VENV)/.installed browser
	$(PY) -m pytest $(PYTEST_ARGS)

browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: no chromium and chromium-driver: the live page's browser test will skip" \
	  "(sudo apt-get install chromium chromium-driver)"; fi

## bench: the speed benchmarks (tables on stdout, JSON under benchmarks/results/)
bench: $(VENV)/.installed
	$(PY) benchmarks/bench_load.py $(if $(DATA),--data "$(DATA)")
	$(PY) benchmarks/bench_train.py $(if $(DATA),--data "$(DATA)")
	$(PY) benchmarks/bench_video.py
	$(PY) benchmarks/bench_scale.py $(if $(DATA),--data "$(DATA)")

## notebooks: after editing notebooks/NN_name.py, re-execute nbval's demo references (tests/notebooks/) from it;
##            the paired notebooks/NN_name.ipynb are re-executed on FER2013 by `make reproduce`
notebooks: $(VENV)/.installed
	$(PY) -m fer_lib notebooks --data demo --run-dir runs/nbval --overwrite --output tests/notebooks

## reproduce: the README's real run: the series on the full FER2013, executed into notebooks/ (what GitHub shows)
##            without FER2013's pixels, run folder results/paper_cnn_fer2013, whose committed models are reused unless
##            OVERWRITE=1 (notebooks 4-8 took 24 min on 2 CPU cores shared with a benchmark; training adds 25 min)
reproduce: $(VENV)/.installed
	$(SERIES) --run-dir results/paper_cnn_fer2013 --output notebooks --hide-faces

clean:
	rm -rf runs .pytest_cache
