import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from fer_lib.cli import main  # noqa: E402
from fer_lib.conditions import CONDITIONS  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.robustness import accuracy_grid, benchmark, summary  # noqa: E402
from fer_lib.training import set_seed  # noqa: E402


@pytest.fixture(scope="module")
def model(demo):
    set_seed(0)
    model = build_paper_cnn()
    model.fit(demo.train.x[:1024, ..., None] / 255.0, keras.utils.to_categorical(demo.train.y[:1024], 7),
              batch_size=64, epochs=2, verbose=0)
    return model


def test_benchmark_covers_every_condition_and_severity(model, demo):
    test = demo.test.head(64)
    table = benchmark(model, test)
    assert len(table) == 1 + 5 * len(CONDITIONS)
    clean = table.loc[0, "accuracy"]
    np.testing.assert_allclose(table["drop"], clean - table["accuracy"])
    numbers = summary(table)
    assert numbers["mean_accuracy"] == pytest.approx(table["accuracy"][1:].mean())
    assert set(numbers["drop_at_severity_3"]) == set(CONDITIONS)
    grid = accuracy_grid(table)
    assert list(grid.index) == list(CONDITIONS) and list(grid.columns) == [0, 1, 2, 3, 4, 5, "mean"]


def test_cli_robustness_on_the_demo(model, tmp_path, capsys):
    saved = tmp_path / "model.keras"
    model.save(saved)
    out = tmp_path / "robustness.json"
    assert main(["robustness", "--model", str(saved), "--rows", "32", "--conditions", "low_light", "visor",
                 "--output", str(out)]) == 0
    numbers = json.loads(out.read_text())
    assert numbers["is_demo"] is True and numbers["faces"] == 32 and len(numbers["rows"]) == 11
    assert numbers["test_time"] == "plain"
    assert list(numbers["summary"]["per_condition_mean"]) == ["low_light", "visor"]  # a held-out one too
    assert "mean over all conditions and severities" in capsys.readouterr().out
    assert main(["robustness", "--model", str(saved), "--rows", "32", "--conditions", "visor", "--blur", "0.6",
                 "--flip", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["test_time"] == "blur 0.6 + flip"
    assert main(["robustness", "--model", str(saved), "strong_cnn", "--rows", "32", "--conditions", "visor",
                 "--output", str(out)]) == 0
    assert json.loads(out.read_text())["model"] == f"{saved} + strong_cnn"  # an ensemble
    assert main(["robustness", "--model", str(saved), "--conditions", "fog"]) == 2
    assert "unknown condition(s) fog" in capsys.readouterr().err
    assert main(["robustness", "--model", str(saved), "--rows", "8", "--labels", "ferplus"]) == 2
    assert "this dataset has no FER+ votes" in capsys.readouterr().err


@pytest.mark.fer2013
def test_cli_robustness_against_the_ferplus_majority(fer2013_path, tmp_path):
    out = tmp_path / "robustness.json"
    assert main(["robustness", "--model", "robust_cnn", "--data", str(fer2013_path), "--rows", "40", "--conditions",
                 "low_light", "--severities", "3", "--labels", "ferplus", "--output", str(out)]) == 0
    numbers = json.loads(out.read_text())
    assert numbers["labels"] == "ferplus" and 30 <= numbers["faces"] < 40  # the faces with a majority among the seven


def test_cli_robustness_end_to_end(model, tmp_path, capsys):
    pytest.importorskip("skimage")
    saved, out = tmp_path / "model.keras", tmp_path / "robustness.json"
    model.save(saved)
    assert main(["robustness", "--model", str(saved), "--rows", "12", "--conditions", "rotation", "--severities", "3",
                 "--detectors", "haar", "blazeface+haar", "--sizes", "48", "96", "--face-free-frames", "3",
                 "--output", str(out)]) == 0
    numbers = json.loads(out.read_text())
    assert [(row["condition"], row["severity"]) for row in numbers["rows"]] == [("clean", 0), ("rotation", 3)]
    rows = numbers["end_to_end"]["rows"]
    assert len(rows) == 2 * 2 * 2 and {row["detector"] for row in rows} == {"haar", "blazeface+haar"}
    assert all(row["accuracy"] <= row["found"] and row["found_iou"] <= row["found"] for row in rows)
    assert len(numbers["end_to_end"]["false_faces"]) == 4 and "end to end" in capsys.readouterr().out
    assert set(numbers["end_to_end"]["false_faces_photos"]) == {"haar", "blazeface+haar"}
    (tmp_path / "notes.txt").write_text("not a photograph")
    assert main(["robustness", "--model", str(saved), "--rows", "4", "--detectors", "haar", "--face-free-frames", "3",
                 "--background", str(tmp_path / "notes.txt")]) == 2
    assert f"--background {tmp_path / 'notes.txt'}: not an image" in capsys.readouterr().err
