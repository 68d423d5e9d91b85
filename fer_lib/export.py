"""Models for devices: a TensorFlow SavedModel and TensorFlow Lite files (float32, and int8-quantized weights and
activations calibrated on Training faces), each checked against the Keras model on the same faces.

All take float faces (N, 48, 48, 1) in [0, 1] and give the 7 probabilities, like the Keras model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .dataset import IMAGE_SIZE

SAVED_MODEL_DIR, FLOAT_FILE, INT8_FILE, REPORT_FILE = "saved_model", "model_float32.tflite", "model_int8.tflite", "export.json"
CALIBRATION_FACES = 500
MAX_ACCURACY_DROP = 0.005  # on FER2013: each export within 0.5 points of the Keras model's PublicTest accuracy
MIN_AGREEMENT = 0.99  # on the demo: the float32 exports give the Keras model's answer on 99% of the faces


def export(model, output_dir, calibration: np.ndarray) -> dict[str, Path]:
    """Write the SavedModel and both TFLite files into `output_dir`; `calibration`: uint8 faces (N, 48, 48)."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {"saved_model": write_saved_model(model, output_dir / SAVED_MODEL_DIR)}
    for name, file, faces in (("tflite_float32", FLOAT_FILE, None), ("tflite_int8", INT8_FILE, calibration)):
        (output_dir / file).write_bytes(tflite_bytes(paths["saved_model"], faces))
        paths[name] = output_dir / file
    return paths


def float32_compute(model):
    """`model` computing in float32 throughout: itself, or a copy with the same weights where some of its layers (at any
    depth) compute in bfloat16 or float16, as a model trained with `--precision bfloat16` does (TensorFlow Lite's
    converter has no bfloat16 convolution)."""
    import keras

    def float32(config):
        if isinstance(config, dict):
            if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and \
                    str(config.get("config", {}).get("name", "")).startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
            return {key: float32(value) for key, value in config.items()}
        if isinstance(config, list):
            return [float32(value) for value in config]
        return config

    serialized = keras.saving.serialize_keras_object(model)
    converted = float32(serialized)
    if converted == serialized:
        return model
    copy = keras.saving.deserialize_keras_object(converted)
    copy.set_weights(model.get_weights())
    return copy


def write_saved_model(model, target) -> Path:
    """The model's inference pass as a TensorFlow SavedModel folder: float faces (N, 48, 48, 1) -> probabilities
    (computed in float32: float32_compute)."""
    import keras

    model = float32_compute(model)

    archive = keras.export.ExportArchive()  # traced in inference mode: augmentation layers must not run
    archive.track(model)
    archive.add_endpoint("serve", lambda faces: model(faces, training=False),
                         input_signature=[keras.InputSpec(shape=(None, IMAGE_SIZE, IMAGE_SIZE, 1), dtype="float32")])
    archive.write_out(str(target), verbose=False)
    return Path(target)


def tflite_bytes(saved_model, calibration: np.ndarray | None = None) -> bytes:
    """A SavedModel as a TensorFlow Lite file: float32, or with `calibration` (uint8 faces (N, 48, 48)) int8 weights
    and activations calibrated on those faces."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if calibration is not None:
        faces = (np.asarray(calibration, np.float32) / 255.0)[..., np.newaxis]
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([face[np.newaxis]] for face in faces)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


class TFLiteModel:
    """A .tflite file as a callable: float faces (N, 48, 48, 1) -> probabilities (N, 7), N faces at once."""

    def __init__(self, path: str | Path, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter  # LiteRT: TensorFlow's own tf.lite.Interpreter is deprecated

        self.path = Path(path)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch = None

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        faces = np.asarray(faces, np.float32)
        if self.batch != len(faces):
            self.interpreter.resize_tensor_input(self.input, faces.shape)
            self.interpreter.allocate_tensors()
            self.batch = len(faces)
        self.interpreter.set_tensor(self.input, faces)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output).copy()


def saved_model_forward(path: str | Path):
    """The SavedModel's serving function as a callable: float faces -> probabilities (NumPy)."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda faces: next(iter(serve(tf.constant(np.asarray(faces, np.float32))).values())).numpy()


def compare(model, paths: dict[str, Path], subset, batch_size: int = 256) -> dict:
    """Accuracy of the Keras model and of each export on `subset`, their differences, agreement and file sizes."""
    from .evaluation import score
    from .inference import predict_proba

    faces = (subset.x.astype(np.float32) / 255.0)[..., np.newaxis]
    forwards = {"saved_model": saved_model_forward(paths["saved_model"])}
    forwards |= {name: TFLiteModel(path) for name, path in paths.items() if name.startswith("tflite")}
    keras_labels = predict_proba(model, subset.x).argmax(axis=1)
    keras_accuracy = score(subset.y, keras_labels).accuracy
    numbers = {"faces": len(subset), "keras": {"accuracy": keras_accuracy}}
    for name, forward in forwards.items():
        labels = np.concatenate([forward(faces[i : i + batch_size]).argmax(axis=1) for i in range(0, len(faces), batch_size)])
        accuracy = score(subset.y, labels).accuracy
        numbers[name] = {"accuracy": accuracy, "difference": accuracy - keras_accuracy,
                         "agreement_with_keras": float((labels == keras_labels).mean()),
                         "bytes": _size(paths[name])}
    return numbers


def checks(numbers: dict, is_demo: bool) -> list[dict]:
    """What `numbers` (from `compare`) must show, per export, and whether it does (None: nothing that means something
    can be checked). On FER2013: PublicTest accuracy within MAX_ACCURACY_DROP of the Keras model's. On the demo's
    synthetic faces accuracy says nothing about real ones: the float32 exports must agree with the Keras model on
    MIN_AGREEMENT of the faces; the int8 one, calibrated on those faces too, is reported and not checked."""
    rows = []
    for name in (key for key in numbers if isinstance(numbers[key], dict) and "agreement_with_keras" in numbers[key]):
        row = numbers[name]
        if not is_demo:
            rows.append({"export": name, "check": f"PublicTest accuracy within {MAX_ACCURACY_DROP * 100:.1f} points of "
                         "the Keras model's", "passed": -row["difference"] <= MAX_ACCURACY_DROP})
        elif name != "tflite_int8":
            rows.append({"export": name, "check": f"agrees with the Keras model on at least {MIN_AGREEMENT:.0%} of the "
                         "demo's faces", "passed": row["agreement_with_keras"] >= MIN_AGREEMENT})
        else:
            rows.append({"export": name, "check": "calibrated and scored on the demo's synthetic faces, which "
                         "say nothing of real ones", "passed": None})
    return rows


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def write_report(numbers: dict, output_dir) -> Path:
    path = Path(output_dir) / REPORT_FILE
    path.write_text(json.dumps(numbers, indent=2) + "\n")
    return path
