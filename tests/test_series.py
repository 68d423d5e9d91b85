import json
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from fer_lib import loading, series
from fer_lib.cli import main


def write_notebook(path, *cells, parameters="X = 1"):
    """A jupytext py:percent source with a parameters cell, then `cells`."""
    params = new_code_cell(parameters, metadata={"tags": ["parameters"]})
    notebook = new_notebook(cells=[params, *(new_code_cell(c) for c in cells)],
                            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    jupytext.write(notebook, path, fmt="py:percent")


@pytest.fixture
def tiny_series(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_first.py", "print('first', X)")
    write_notebook(folder / "02_second.py", "print('second', X, Y)", "raise ValueError(f'boom {Y}')",
                   parameters="X = 1\nY = 2")
    write_notebook(folder / "03_third.py", "print('third')")
    (folder / "helpers.py").write_text("# not part of the series")
    (folder / "01_first.ipynb").write_text("an executed copy, not a source")
    return folder


def outputs(path):
    return ["".join(o.get("text", "")) for cell in nbformat.read(path, 4).cells for o in cell.get("outputs", [])]


def test_series_is_ordered(tiny_series):
    assert [p.name for p in series.series(tiny_series)] == ["01_first.py", "02_second.py", "03_third.py"]


def test_the_first_failure_stops_the_series_and_names_the_cell(tiny_series, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(series.NotebookFailed, match=r"02_second.ipynb: cell In \[4\] raised ValueError: boom 20"):
        series.run_series(out, {"X": 10, "Y": 20, "UNUSED": 0}, notebook_dir=tiny_series, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["01_first.ipynb", "02_second.failed.ipynb"]
    assert "first 10\n" in outputs(out / "01_first.ipynb")  # X injected; UNUSED not declared, not passed
    assert "second 10 20\n" in outputs(out / "02_second.failed.ipynb")


def test_only_some_notebooks(tiny_series, tmp_path):
    done = series.run_series(tmp_path / "out", {"X": 3}, notebook_dir=tiny_series, only=["03"], progress=False)
    assert [p.name for p in done] == ["03_third.ipynb"]
    with pytest.raises(FileNotFoundError, match="no notebook numbered 07"):
        series.run_series(tmp_path / "out", {}, notebook_dir=tiny_series, only=["07"])


def test_executed_copies_are_clean(tiny_series, tmp_path):
    (tiny_series / "02_second.py").unlink()
    done = series.run_series(tmp_path / "out", {"X": 3}, notebook_dir=tiny_series, progress=False)
    assert [p.name for p in done] == ["01_first.ipynb", "03_third.ipynb"]
    raw = json.loads(done[0].read_text())
    assert raw["metadata"]["papermill"] == {"parameters": {"X": 3}}
    assert all("papermill" not in cell["metadata"] and "execution" not in cell["metadata"] for cell in raw["cells"])
    assert [cell["id"] for cell in raw["cells"]] == [f"cell-{i}" for i in range(len(raw["cells"]))]
    assert str(tmp_path) not in done[0].read_text()


def test_the_demo_may_not_overwrite_the_fer2013_notebooks():
    with pytest.raises(ValueError, match="the demo dataset may not overwrite them"):
        series.run_series(series.NOTEBOOK_DIR, {"DATA": None})
    with pytest.raises(ValueError, match="the demo dataset may not overwrite them"):
        series.run_series(series.NOTEBOOK_DIR, {"DATA": "demo"})


def test_cli_hands_the_kernels_absolute_data_and_project_relative_run_dir(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(series, "run_series", lambda output, parameters, only: calls.append((output, parameters, only)) or [tmp_path / "01.ipynb"])
    Path("fer.csv").write_text("")  # in the working directory
    project = loading.PROJECT_ROOT
    assert main(["notebooks", "--data", "fer.csv", "--epochs", "3", "--run-dir", str(project / "runs/x"),
                 "--hide-faces", "--only", "05"]) == 0
    output, parameters, only = calls[0]
    assert parameters == {"DATA": str(Path.cwd() / "fer.csv"), "RUN_DIR": "runs/x", "EPOCHS": 3, "SEED": 0,
                          "ROW_LIMIT": None, "OVERWRITE": False, "SHOW_FACES": False}
    assert only == ["05"]
    assert "FER2013 not found" not in capsys.readouterr().err

    assert main(["notebooks"]) == 0  # no FER2013 anywhere: the demo, said before and after
    assert capsys.readouterr().err.count(loading.DEMO_NOTICE) == 2
    assert output == project.resolve() / "runs/x/notebooks"

    monkeypatch.setattr(series, "run_series", lambda output, parameters, only: (_ for _ in ()).throw(series.NotebookFailed("04_training.ipynb: cell In [7] raised X")))
    assert main(["notebooks", "--data", "demo"]) == 1
    err = capsys.readouterr().err
    assert "--data demo -> the synthetic DEMO dataset" in err and "error: 04_training.ipynb: cell In [7] raised X" in err
