import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from fer_lib.cli import main  # noqa: E402
from fer_lib.conditions import apply  # noqa: E402
from fer_lib.export import FLOAT_FILE, INT8_FILE, TFLiteModel, checks, export, saved_model_forward  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.inference import inference_model  # noqa: E402
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn  # noqa: E402
from fer_lib.training import set_seed  # noqa: E402


@pytest.fixture(scope="module")
def trained(demo, tmp_path_factory):
    """The paper's CNN after one epoch on 1,024 demo faces, saved, and its exports."""
    set_seed(0)
    model = build_paper_cnn()
    model.fit(demo.train.x[:1024, ..., None] / 255.0, keras.utils.to_categorical(demo.train.y[:1024], 7),
              batch_size=64, epochs=1, verbose=0)
    folder = tmp_path_factory.mktemp("export")
    model.save(folder / "model.keras")
    return model, folder, export(model, folder / "out", demo.train.x[:200])


def test_exports_compute_what_keras_computes(trained, demo):
    model, _, paths = trained
    faces = demo.test.x[:64, ..., None].astype(np.float32) / 255.0
    expected = model.predict(faces, verbose=0)
    np.testing.assert_allclose(saved_model_forward(paths["saved_model"])(faces), expected, atol=1e-5)
    np.testing.assert_allclose(TFLiteModel(paths["tflite_float32"])(faces), expected, atol=1e-5)
    int8 = TFLiteModel(paths["tflite_int8"])(faces)
    assert np.abs(int8 - expected).max() < 0.1 and (int8.argmax(1) == expected.argmax(1)).mean() >= 0.9
    one = TFLiteModel(paths["tflite_float32"])(faces[:1])  # the batch size may change between calls
    np.testing.assert_allclose(one, expected[:1], atol=1e-5)
    assert paths["tflite_int8"].stat().st_size < paths["tflite_float32"].stat().st_size / 3


def test_cli_export_on_the_demo_checks_agreement_and_says_why(trained, tmp_path, capsys):
    _, folder, _ = trained
    assert main(["export", "--model", str(folder / "model.keras"), "--output", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "export.json").read_text())
    assert report["is_demo"] is True and report["usage"] == "PublicTest" and report["faces"] == 430
    for name in ("saved_model", "tflite_float32"):
        assert report[name]["difference"] == 0 and report[name]["agreement_with_keras"] == 1
    assert [(check["export"], check["passed"]) for check in report["checks"]] == [
        ("saved_model", True), ("tflite_float32", True), ("tflite_int8", None)]
    assert "agrees with the Keras model on at least 99%" in report["checks"][0]["check"]
    assert (tmp_path / FLOAT_FILE).is_file() and (tmp_path / INT8_FILE).is_file()
    out = capsys.readouterr()
    assert "int8 is calibrated on the DEMO dataset's synthetic faces" in out.err
    assert "tflite_int8     not checked: calibrated and scored on the demo's synthetic faces" in out.out


def test_on_fer2013_each_export_must_keep_its_accuracy():
    numbers = {"faces": 3589, "keras": {"accuracy": 0.65},
               "saved_model": {"accuracy": 0.65, "difference": 0.0, "agreement_with_keras": 1.0},
               "tflite_int8": {"accuracy": 0.64, "difference": -0.01, "agreement_with_keras": 0.97}}
    assert [check["passed"] for check in checks(numbers, is_demo=False)] == [True, False]
    assert "within 0.5 points" in checks(numbers, is_demo=False)[1]["check"]
    numbers["saved_model"]["agreement_with_keras"] = 0.98
    assert [check["passed"] for check in checks(numbers, is_demo=True)] == [False, None]


@pytest.mark.parametrize("shipped", [False, True], ids=["network", "behind denoising, blur and flip, as shipped"])
def test_a_model_with_augmentation_layers_exports_in_inference_mode(shipped, demo, tmp_path):
    """The stronger models carry their training augmentation; the exports must leave it out (and TFLite has no
    kernels for its random ops). Shipped, they sit behind the test-time denoising, blur and flip averaging."""
    set_seed(0)
    model = build_strong_cnn(StrongConfig(epochs=2, warmup_epochs=1, widths=(8,), convs_per_stage=(1,), dense_units=8), 64)
    if shipped:
        model = inference_model(model, flip=True, sigma=0.6, denoise=0.8)
    paths = export(model, tmp_path, demo.train.x[:50])
    faces = np.concatenate([demo.test.x[:16], apply("low_light", demo.test.x[:16], 3)])  # dark ones are denoised
    faces = faces[..., None].astype(np.float32) / 255.0
    expected = model.predict(faces, verbose=0)
    np.testing.assert_allclose(saved_model_forward(paths["saved_model"])(faces), expected, atol=1e-5)
    np.testing.assert_allclose(TFLiteModel(paths["tflite_float32"])(faces), expected, atol=1e-5)
