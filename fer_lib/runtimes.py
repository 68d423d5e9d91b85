"""Where a classifier runs: Keras (the default), LiteRT or OpenVINO, from the same Keras model.

`compile_model(model, runtime)` gives something `inference.predict_proba` (and so `evaluate`, `robustness` and
`predict`) takes in place of the Keras model. LiteRT and OpenVINO run the model's float32 TensorFlow Lite export,
made on first use into fer_lib's cache (`loading.cache_dir()`, keyed by the model's architecture and weights) and
reused after; OpenVINO computes in bfloat16 where the CPU has it (AVX512-BF16 or AMX) and keeps its compiled form
in the cache.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .dataset import IMAGE_SIZE
from .loading import cache_dir

RUNTIMES = ("keras", "litert", "openvino")


class CompiledModel:
    """A Keras model as another runtime runs it: uint8 faces (N, 48, 48) -> probabilities (N, 7).

    `model`: the Keras model it came from; `runtime`: its name; `precision`: what the runtime computes in."""

    def __init__(self, model, runtime: str, forward, precision: str):
        self.model, self.runtime, self.precision, self._forward = model, runtime, precision, forward
        self.name = model.name

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        return self._forward((np.asarray(faces, np.float32) / 255.0)[..., np.newaxis])

    def __repr__(self) -> str:
        return f"CompiledModel({self.name!r}, runtime={self.runtime!r}, precision={self.precision!r})"


def compile_model(model, runtime: str = "keras", threads: int | None = None):
    """`model` (a Keras model) for `runtime` in RUNTIMES: "keras" gives it back as it is; "litert" and "openvino"
    give a CompiledModel. `threads`: how many CPU threads it may use (default: the runtime's choice, all cores)."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: choose from {', '.join(RUNTIMES)}")
    if runtime == "keras" or isinstance(model, CompiledModel):
        if isinstance(model, CompiledModel) and model.runtime != runtime:
            raise ValueError(f"{model!r} is already compiled for {model.runtime}; compile the Keras model instead")
        return model
    tflite = exported_tflite(model)
    if runtime == "litert":
        from .export import TFLiteModel

        return CompiledModel(model, runtime, TFLiteModel(tflite, num_threads=threads), "float32")
    return _openvino(model, tflite, threads)


def exported_tflite(model) -> Path:
    """The model's float32 TensorFlow Lite file in the cache, exported now if it is not there yet."""
    from .export import tflite_bytes, write_saved_model

    target = cache_dir() / "exports" / f"{model.name}-{model_digest(model)}.tflite"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            partial = Path(scratch) / target.name
            partial.write_bytes(tflite_bytes(write_saved_model(model, Path(scratch) / "saved_model")))
            os.replace(partial, target)  # whole or absent: other processes may be exporting the same model
    return target


def model_digest(model) -> str:
    """16 hex digits that change with the model's architecture or any of its weights."""
    digest = hashlib.sha256(model.to_json().encode())
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()[:16]


def _openvino(model, tflite: Path, threads: int | None) -> CompiledModel:
    try:
        import openvino
    except ImportError:
        raise ImportError("--runtime openvino needs OpenVINO: pip install openvino (or fer_lib[scale])") from None
    core = openvino.Core()
    precision = "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"
    network = core.read_model(str(tflite))
    network.reshape([-1, IMAGE_SIZE, IMAGE_SIZE, 1])  # any batch size
    config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY",
              "CACHE_DIR": str(cache_dir() / "openvino")}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = core.compile_model(network, "CPU", config)
    request, output = compiled.create_infer_request(), compiled.output(0)

    def forward(faces: np.ndarray) -> np.ndarray:
        return request.infer([faces])[output].copy()

    return CompiledModel(model, "openvino", forward, {"bf16": "bfloat16", "f32": "float32"}[precision])
