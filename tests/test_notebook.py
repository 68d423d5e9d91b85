import sys
import types

import pytest

from fer_lib import load_demo, loading, notebook


def test_project_path():
    assert notebook.project_path("runs/x") == loading.PROJECT_ROOT / "runs/x"
    assert str(notebook.project_path("/abs/run")) == "/abs/run"


def test_outside_colab_data_is_left_to_load_fer2013():
    assert not notebook.in_colab()
    assert notebook.locate_data(None) is None and notebook.locate_data("x.csv") == "x.csv"


@pytest.fixture
def colab(tmp_path, monkeypatch):
    """A stand-in for google.colab: a Drive that mounts into tmp_path, and no Kaggle CLI."""
    mounted = []
    drive = types.SimpleNamespace(mount=lambda where: mounted.append(where) or (tmp_path / "drive/MyDrive").mkdir(parents=True))
    google = types.ModuleType("google")
    google.colab = types.SimpleNamespace(drive=drive)
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    monkeypatch.setattr(notebook, "COLAB_DRIVE", tmp_path / "drive")
    monkeypatch.setattr(notebook, "COLAB_DATA", tmp_path / "data")
    monkeypatch.setattr(notebook, "KAGGLE_CREDENTIALS", tmp_path / "kaggle.json")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    return types.SimpleNamespace(root=tmp_path, mounted=mounted)


def test_colab_finds_fer2013_on_google_drive(colab):
    (colab.root / "drive/MyDrive").mkdir(parents=True)
    (colab.root / "drive/MyDrive/fer2013.csv.gz").write_bytes(b"")
    assert notebook.in_colab()
    assert notebook.locate_data(None) == str(colab.root / "drive/MyDrive/fer2013.csv.gz")
    assert colab.mounted == []  # already mounted
    assert notebook.locate_data("/given.csv") == "/given.csv"


def test_colab_downloads_with_kaggle_credentials(colab):
    (colab.root / "kaggle.json").write_text("{}")
    kaggle = colab.root / "bin/kaggle"
    kaggle.parent.mkdir()
    kaggle.write_text(f'#!/bin/sh\necho "$@" > {colab.root / "bin/args"}\n')
    kaggle.chmod(0o755)
    assert notebook.locate_data(None) == str(colab.root / "data/fer2013.csv")
    assert colab.mounted == [str(colab.root / "drive")]
    assert (colab.root / "bin/args").read_text().split() == [
        "datasets", "download", "-d", notebook.KAGGLE_DATASET, "-p", str(colab.root / "data"), "--unzip"]


def test_colab_without_data_explains_and_falls_back_to_the_demo(colab, capsys):
    assert notebook.locate_data(None) is None
    assert "upload_fer2013()" in capsys.readouterr().out


def test_describe_is_loud_about_the_demo():
    assert notebook.describe(load_demo(progress=False)).startswith("*** DEMO DATASET, NOT FER2013")


def test_environment_names_versions_and_device():
    pytest.importorskip("tensorflow")
    line = notebook.environment()
    assert line.startswith("fer_lib ") and "TensorFlow 2." in line and ("CPU only" in line or "GPU:" in line)


def test_setup_prints_the_environment_and_resolves_the_run_folder(capsys):
    pytest.importorskip("tensorflow")
    assert notebook.setup("runs/x") == loading.PROJECT_ROOT / "runs/x"
    assert capsys.readouterr().out.startswith("fer_lib ")


def test_load_finds_the_data_and_says_what_it_is(capsys, monkeypatch):
    monkeypatch.setattr(loading, "find_fer2013", lambda path=None: None)  # as on a clone without FER2013
    dataset = notebook.load(None)
    assert dataset.is_demo and "*** DEMO DATASET, NOT FER2013" in capsys.readouterr().out
