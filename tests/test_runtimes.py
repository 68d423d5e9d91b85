import json
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from fer_lib import loading  # noqa: E402
from fer_lib.cli import main  # noqa: E402
from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.pretrained import load_pretrained  # noqa: E402
from fer_lib.runtimes import RUNTIMES, compile_model, exported_tflite, model_digest  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained()


@pytest.mark.parametrize("runtime", [name for name in RUNTIMES if name != "keras"])
def test_each_runtime_agrees_with_keras_on_the_demo_test_faces(runtime, shipped, demo):
    if runtime == "openvino":
        pytest.importorskip("openvino")
    expected = predict_proba(shipped, demo.test.x)
    compiled = compile_model(shipped, runtime)
    found = predict_proba(compiled, demo.test.x)
    assert found.shape == expected.shape and np.allclose(found.sum(axis=1), 1, atol=1e-3)
    top_two = np.sort(expected, axis=1)[:, -2:]
    decided = top_two[:, 1] - top_two[:, 0] >= 0.05  # bfloat16 (OpenVINO here) may flip a near-tie, not a decision
    agreement = (found.argmax(axis=1) == expected.argmax(axis=1))[decided].mean()
    assert decided.mean() >= 0.8 and agreement >= 0.99, \
        f"{compiled!r} agrees with Keras on {agreement:.2%} of the demo's {decided.sum()} decided test faces"
    assert predict_proba(compiled, demo.test.x[:1]).shape == (1, 7)  # any batch size, one face too


def test_the_export_is_made_once_per_model_and_follows_its_weights(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv(loading.CACHE_VARIABLE, str(tmp_path))
    first = exported_tflite(shipped)
    assert first.parent == tmp_path / "exports" and first.is_file()
    made = first.stat().st_mtime_ns
    assert exported_tflite(shipped) == first and first.stat().st_mtime_ns == made
    weights = shipped.get_weights()
    try:
        shipped.set_weights([w + 1e-3 if w.ndim == 4 else w for w in weights])
        assert model_digest(shipped) not in first.name
    finally:
        shipped.set_weights(weights)
    assert model_digest(shipped) in first.name


def test_bad_runtimes_are_refused_with_their_name(shipped, monkeypatch):
    with pytest.raises(ValueError, match="runtime 'tensorrt': choose from keras, litert, openvino"):
        compile_model(shipped, "tensorrt")
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install openvino"):
        compile_model(shipped, "openvino")


def test_cli_runtime_is_used_and_recorded(tmp_path, capsys):
    out_file = tmp_path / "eval.json"
    assert main(["evaluate", "--runtime", "litert", "--output", str(out_file)]) == 0
    assert json.loads(out_file.read_text())["runtime"] == "litert (float32)"
    assert "runtime: litert (float32)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--runtime", "tensorrt"])
    assert exit_info.value.code == 2
    assert "argument --runtime: invalid choice: 'tensorrt'" in capsys.readouterr().err
