import json

import pandas as pd
import pytest

from fer_lib.cli import main

from .conftest import csv_text, random_rows


def test_info_on_the_demo_dataset(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr()
    assert "DEMO dataset, not FER2013" in out.out and "FER2013 not found" in out.err
    assert "PrivateTest" in out.out and "disgust" in out.out


def test_train_then_evaluate(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--epochs", "1", "--train-limit", "128"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"]["is_demo"] is True and metrics["dataset"]["rows"]["train"] == 128
    assert metrics["config"] == {"epochs": 1, "batch_size": 64, "learning_rate": 0.001, "precision": "float32",
                                 "targets": "fer2013", "seed": 0, "model": "paper_cnn"}
    assert metrics["final"]["test"]["n"] == metrics["dataset"]["rows"]["test"]
    history = pd.read_csv(run / "history.csv")
    assert metrics["best"]["validation_accuracy"] == pytest.approx(history["val_accuracy"].max())
    assert "PublicTest accuracy" in capsys.readouterr().out

    out_file = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(run / "model.keras"), "--output", str(out_file)]) == 0
    evaluated = json.loads(out_file.read_text())
    assert evaluated["usage"] == "PublicTest"
    assert evaluated["accuracy"] == pytest.approx(metrics["final"]["test"]["accuracy"])
    assert main(["evaluate", "--model", str(run / "model.keras"), "--split", "validation", "--blur", "0.6", "--flip",
                 "--output", str(out_file)]) == 0
    assert json.loads(out_file.read_text())["test_time"] == "blur 0.6 + flip"
    assert "test time: blur 0.6 + flip" in capsys.readouterr().out

    assert main(["evaluate", "--model", str(run / "model.keras"), "strong_cnn", "--output", str(out_file)]) == 0
    assert json.loads(out_file.read_text())["model"] == f"{run / 'model.keras'} + strong_cnn"

    assert main(["train", "--run-dir", str(run), "--epochs", "1"]) == 2
    assert "already holds a finished run" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "--model", "missing.keras"],
     "missing.keras: neither a shipped model (ferplus_cnn, robust_cnn, strong_cnn, strong_ensemble) nor a .keras file"),
    (["info", "--data", "nowhere.csv"], "nowhere.csv: no such file or folder"),
])
def test_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_bad_rows_stop_or_are_skipped(tmp_path, capsys):
    rows = random_rows(6)
    rows[2] = (0, "1 2", "Training")
    source = tmp_path / "fer.csv"
    source.write_text(csv_text(rows))
    assert main(["info", "--data", str(source)]) == 2
    assert "line 4: pixels has 2 values" in capsys.readouterr().err
    assert main(["info", "--data", str(source), "--skip-bad-rows"]) == 0
    assert "skipped 1 bad row(s) of " in capsys.readouterr().err


def test_argument_errors_exit_2():
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "0"])
    assert exit_info.value.code == 2
