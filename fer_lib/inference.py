"""Inference, one home: `predict_proba` (uint8 faces -> the seven probabilities; `predict_proba_averaged` for several
crops of each face), the test-time options as a model of stock Keras layers (`inference_model`: blur, corner
windows, flip averaging) and CPU latency.
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from .dataset import EMOTIONS, IMAGE_SIZE

PREDICT_BATCH = 64
LATENCY_REPEATS = 50


def predict_proba(model, faces: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class probabilities (N, 7) for uint8 faces (N, 48, 48), normalized in-graph batch by batch. `model`: a Keras
    model, or one compiled for another runtime (runtimes.compile_model)."""
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (48, 48) or faces.dtype != np.uint8:
        raise ValueError(f"predict_proba: expected uint8 faces shaped (N, 48, 48), got {faces.dtype} {faces.shape}")
    compiled = hasattr(model, "probabilities")  # a runtimes.CompiledModel (LiteRT, OpenVINO); Keras models have none
    forward = model.probabilities if compiled else _keras_forward(model)
    batches = [forward(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)]
    return np.concatenate(batches) if batches else np.zeros((0, len(EMOTIONS)), np.float32)


def predict_proba_averaged(model, views: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class probabilities (N, 7) for several crops of each face, uint8 (N, V, 48, 48) as faces.crop_views cuts them:
    the mean of each face's V readings."""
    views = np.asarray(views)
    if views.ndim != 4:
        raise ValueError(f"predict_proba_averaged: expected uint8 crops shaped (N, V, 48, 48), got {views.shape}")
    readings = predict_proba(model, views.reshape(-1, *views.shape[2:]), batch_size)
    return readings.reshape(*views.shape[:2], len(EMOTIONS)).mean(axis=1)


_FORWARD = weakref.WeakKeyDictionary()


def _keras_forward(model):
    """The Keras model's inference pass on uint8 faces as one traced graph (built once per model), NumPy out."""
    import tensorflow as tf

    if model not in _FORWARD:
        @tf.function(input_signature=[tf.TensorSpec([None, 48, 48], tf.uint8)])
        def forward(faces):
            return model(tf.cast(faces, tf.float32)[..., tf.newaxis] / 255.0, training=False)

        _FORWARD[model] = lambda faces: forward(faces).numpy()
    return _FORWARD[model]


def smoothing_matrix(sigma: float, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, size) matrix M: `x @ M` blurs each row of x with a Gaussian of `sigma` pixels, the row mirrored at its
    ends (OpenCV's BORDER_REFLECT_101). sigma 0 gives the identity."""
    if not sigma >= 0:
        raise ValueError(f"smoothing_matrix: sigma must be >= 0 pixels, got {sigma}")
    if sigma == 0:
        return np.eye(size, dtype=np.float32)
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    matrix = np.zeros((size, size))
    for column in range(size):
        sources = np.abs(column + offsets)  # mirrored at 0 ...
        sources = np.where(sources > size - 1, 2 * (size - 1) - sources, sources)  # ... and at size - 1
        np.add.at(matrix[:, column], sources, taps / taps.sum())
    return matrix.astype(np.float32)


def inference_model(model, flip: bool = False, sigma: float = 0.0, corners: int = 0):
    """`model` in inference mode behind the test-time options: `sigma` > 0 first blurs each face with a Gaussian of
    that many pixels; `corners` > 0 averages the prediction with those on the face moved `corners` pixels towards each
    of its four corners (for a network that looks at a centre window, `crop_margin` pixels give the four corner
    windows); `flip` averages each with the prediction on the mirrored face.

    All are fixed matrix products, crops and paddings, so the result is built from stock Keras layers only and its
    .keras file loads without fer_lib. `model` is called with training=False, so a direct call (`wrapped(faces)`,
    training unset) does not run its augmentation layers, which Keras runs by default otherwise.
    """
    import keras
    from keras import layers

    if not (isinstance(corners, (int, np.integer)) and 0 <= corners < IMAGE_SIZE // 2):
        raise ValueError(f"inference_model: corners must be a whole number of pixels in [0, {IMAGE_SIZE // 2}), got {corners}")
    face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = face
    if sigma:
        blur = smoothing_matrix(sigma)
        rows = _times(layers.Reshape((IMAGE_SIZE, IMAGE_SIZE), name="rows")(x), blur, "blur_width")
        columns = _times(layers.Permute((2, 1), name="transpose")(rows), blur, "blur_height")
        x = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="blurred")(layers.Permute((2, 1), name="untranspose")(columns))
    views = [x]
    if corners:
        views += [_moved(x, down, right) for down in (-corners, corners) for right in (-corners, corners)]
    if flip:
        mirror = np.eye(IMAGE_SIZE, dtype=np.float32)[::-1]
        views += [layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name=f"mirrored{i or ''}")(
                  _times(layers.Reshape((IMAGE_SIZE, IMAGE_SIZE), name=f"to_mirror{i or ''}")(view), mirror, f"mirror{i or ''}"))
                  for i, view in enumerate(views)]
    predictions = [model(view, training=False) for view in views]
    probabilities = layers.Average(name="emotion")(predictions) if len(views) > 1 else predictions[0]
    return keras.Model(face, probabilities, name=model.name)


def averaged(models, name: str = "ensemble"):
    """One model whose probabilities are the mean of `models`' (an ensemble; each member called in inference mode),
    built from stock Keras layers, so its .keras file loads without fer_lib. A single model is returned as it is."""
    import keras
    from keras import layers

    models = list(models)
    if not models:
        raise ValueError("averaged: no model to average")
    if len(models) == 1:
        return models[0]

    def member(i, model):  # each in a model of its own: members may share a name
        face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name=f"face{i}")
        return keras.Model(face, model(face, training=False), name=f"member{i}")

    face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    readings = [member(i, model)(face) for i, model in enumerate(models)]
    return keras.Model(face, layers.Average(name="emotion")(readings), name=name)


def inference_label(flip: bool, sigma: float, corners: int = 0) -> str:
    """How cards name a test-time option: "plain", "flip", "blur 0.6", "blur 0.6 + corners 4 + flip"."""
    return " + ".join([f"blur {sigma:g}"] * bool(sigma) + [f"corners {corners}"] * bool(corners) + ["flip"] * flip) or "plain"


def crop_margin(model) -> int:
    """How far the centre window a network looks at (a CenterCrop layer, e.g. StrongConfig.crop) lies inside its
    input faces, in pixels: the `corners` that reach the corner windows. 0 for a network that sees whole faces."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.CenterCrop):
            return (IMAGE_SIZE - min(layer.height, layer.width)) // 2
        margin = crop_margin(layer) if isinstance(layer, keras.Model) else 0
        if margin:
            return margin
    return 0


def _moved(x, down: int, right: int):
    """Faces (N, 48, 48, 1) moved by whole pixels (negative: up, left); the uncovered edge is zero."""
    from keras import layers

    name = f"moved_{'down' if down > 0 else 'up'}_{'right' if right > 0 else 'left'}"
    cut = layers.Cropping2D(((max(-down, 0), max(down, 0)), (max(-right, 0), max(right, 0))), name=f"{name}_cut")(x)
    return layers.ZeroPadding2D(((max(down, 0), max(-down, 0)), (max(right, 0), max(-right, 0))), name=name)(cut)


def _times(x, matrix: np.ndarray, name: str):
    """x (N, 48, 48) times a fixed matrix along its last axis: a frozen, bias-free Dense layer."""
    from keras import layers

    dense = layers.Dense(matrix.shape[1], use_bias=False, trainable=False, name=name)
    out = dense(x)
    dense.set_weights([matrix])
    return out


def unwrap(model):
    """The network inside an inference_model; any other model as it is."""
    import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if len(inner) == 1 else model


def cpu_latency(model, faces: np.ndarray, repeats: int = LATENCY_REPEATS) -> dict:
    """Median milliseconds per face: one face at a time, and in batches of 64."""
    def median_seconds(batch):
        predict_proba(model, batch)  # traced once, outside the timing
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict_proba(model, batch)
            times.append(time.perf_counter() - started)
        return float(np.median(times))

    return {"one_face_ms": median_seconds(faces[:1]) * 1e3,
            "batch_64_ms_per_face": median_seconds(faces[:PREDICT_BATCH]) / len(faces[:PREDICT_BATCH]) * 1e3}
