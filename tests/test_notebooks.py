"""The notebook series: sources in sync, one parameters cell, the Colab setup, and the two executed copies.

notebooks/NN_name.py (jupytext py:percent) is the source; notebooks/NN_name.ipynb is its pair, executed on the
real FER2013 (what GitHub shows); tests/notebooks/NN_name.ipynb is executed on the demo profile and re-run by
nbval in `make test`. `make notebooks` refreshes both pairs' inputs and the demo copies; `make reproduce` the real ones.
"""
import json
import re

import jupytext
import nbformat
import pytest

from fer_lib.notebook import REPOSITORY
from fer_lib.series import NOTEBOOK_DIR, REFERENCE_DIR

SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
NAMES = [source.stem for source in SOURCES]
README = (NOTEBOOK_DIR.parent / "README.md").read_text()


def cells(notebook):
    """(type, source) of each cell, papermill's injected parameters left out."""
    return [(c.cell_type, c.source.strip()) for c in notebook.cells if "injected-parameters" not in c.metadata.get("tags", [])]


def test_the_series():
    assert NAMES == ["01_data_exploration", "02_normalization", "03_model_build", "04_training", "05_testing",
                     "06_photos_and_video", "07_special_conditions",
                     "08_paper_vs_strong", "09_special_conditions_end_to_end"]
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) == NAMES
    assert sorted(p.stem for p in REFERENCE_DIR.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_paired_notebooks_match_their_source(name):
    source = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    assert source.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    for copy in (NOTEBOOK_DIR / f"{name}.ipynb", REFERENCE_DIR / f"{name}.ipynb"):
        assert cells(nbformat.read(copy, 4)) == cells(source), f"{copy} differs from {name}.py: run `make notebooks`"


@pytest.mark.parametrize("name", NAMES)
def test_parameters_colab_setup_and_badge(name):
    notebook = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "RUN_DIR" in tagged[0].source
    setup = next(c for c in notebook.cells if c.cell_type == "code")
    assert 'if "google.colab" in sys.modules' in setup.source and f"git clone -q --depth 1 {REPOSITORY} " in setup.source
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "RUN_DIR = notebook.setup(RUN_DIR)" in code, f"{name}: the preamble is notebook.setup(RUN_DIR)"
    assert ("DATA" not in tagged[0].source) or "dataset = notebook.load(DATA)" in code
    badge = f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}/blob/main/notebooks/{name}.ipynb"
    assert badge in notebook.cells[0].source and badge in README
    checked = [c for c in notebook.cells if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, f"{name}: no cell is checked by nbval"


@pytest.mark.parametrize("name", NAMES)
def test_nbval_references_are_the_demo_profile(name):
    notebook = nbformat.read(REFERENCE_DIR / f"{name}.ipynb", 4)
    parameters = notebook.metadata["papermill"]["parameters"]
    assert parameters.get("DATA", "demo") == "demo" and parameters["RUN_DIR"] == "runs/nbval"
    if "OVERWRITE" in parameters:
        assert parameters["OVERWRITE"] is True and parameters["EPOCHS"] == 20
    assert all(c.outputs for c in notebook.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT"))


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebooks_show_the_real_fer2013(name):
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", 4)
    parameters = notebook.metadata["papermill"]["parameters"]
    assert parameters["RUN_DIR"] == "results/paper_cnn_fer2013"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), f"{name}.ipynb has unexecuted cells: run `make reproduce`"
    text = json.dumps([c.outputs for c in code])
    assert "DEMO DATASET" not in text and all(o.output_type != "error" for c in code for o in c.outputs)
    if "DATA" in parameters:
        assert re.search(r"FER2013 from \S*fer2013\S*: 35887 rows", text)
    if "SHOW_FACES" in parameters:  # FER2013 may not be redistributed: no faces and no pixel values
        assert parameters["SHOW_FACES"] is False
