"""Inference, one home: `predict_proba` (uint8 faces -> the seven probabilities; `predict_proba_averaged` for several
crops of each face), the test-time options as a model of stock Keras layers (`inference_model`: denoising of dark
faces, blur, corner windows, flip averaging) and CPU latency.
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from .dataset import EMOTIONS, IMAGE_SIZE

PREDICT_BATCH = 64
LATENCY_REPEATS = 50
# Denoising a dark face (inference_model's `denoise`): non-local means whose filter strength h is `denoise` times the
# face's own noise level; chosen on PrivateTest under the conditions (benchmarks/bench_denoise.py)
DENOISE_STRENGTH = 0.8
DENOISE_SEARCH = 4  # pixels: similar 3x3 patches are looked for within a 9x9 window around each pixel
DENOISE_DARK_BELOW = 0.35  # mean brightness (0-1) under which a face is denoised: a soft gate, ...
DENOISE_GATE_STEEPNESS = 40.0  # ... half-open at that brightness, 2% open 0.1 brighter and 98% 0.1 darker
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # Immerkaer's: smooth shading gives 0
_NOISE_SCALE = np.sqrt(np.pi / 2) / 6  # its mean absolute response to Gaussian noise, per unit of noise


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


def inference_model(model, flip: bool = False, sigma: float = 0.0, corners: int = 0, denoise: float = 0.0):
    """`model` in inference mode behind the test-time options: `denoise` > 0 first takes a dim camera's noise out of
    each dark face (`denoised`, with that strength); `sigma` > 0 then blurs each face with a Gaussian of
    that many pixels; `corners` > 0 averages the prediction with those on the face moved `corners` pixels towards each
    of its four corners (for a network that looks at a centre window, `crop_margin` pixels give the four corner
    windows); `flip` averages each with the prediction on the mirrored face.

    All are fixed matrix products, crops, paddings and pointwise operations, so the result is built from stock Keras
    layers only and its .keras file loads without fer_lib. `model` is called with training=False, so a direct call (`wrapped(faces)`,
    training unset) does not run its augmentation layers, which Keras runs by default otherwise.
    """
    import keras
    from keras import layers

    if not (isinstance(corners, (int, np.integer)) and 0 <= corners < IMAGE_SIZE // 2):
        raise ValueError(f"inference_model: corners must be a whole number of pixels in [0, {IMAGE_SIZE // 2}), got {corners}")
    if not denoise >= 0:
        raise ValueError(f"inference_model: denoise must be a strength >= 0, got {denoise}")
    face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = denoised(face, denoise) if denoise else face
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


def inference_label(flip: bool, sigma: float, corners: int = 0, denoise: float = 0.0) -> str:
    """How cards name a test-time option: "plain", "flip", "blur 0.6", "denoise 0.8 + blur 0.6 + corners 4 + flip"."""
    parts = [f"denoise {denoise:g}"] * bool(denoise) + [f"blur {sigma:g}"] * bool(sigma)
    return " + ".join(parts + [f"corners {corners}"] * bool(corners) + ["flip"] * flip) or "plain"


def noise_level(face: np.ndarray) -> float:
    """A face's noise, as the standard deviation of Gaussian noise in its own units (Immerkaer 1996: the mean
    absolute response to a mask that cancels smooth shading, on the pixels that have all eight neighbours).
    A clean FER2013 face measures about 4 grey levels (its fine texture), one darkened by low_light at
    severity 3 about 5, of a far smaller contrast."""
    face = np.asarray(face, np.float64)
    rows, columns = face.shape
    response = sum(_NOISE_MASK[i, j] * face[i : rows - 2 + i, j : columns - 2 + j] for i in range(3) for j in range(3))
    return float(_NOISE_SCALE * np.abs(response).mean())


def denoised(x, strength: float = DENOISE_STRENGTH, search: int = DENOISE_SEARCH,
             dark_below: float = DENOISE_DARK_BELOW, name: str = "denoise"):
    """Faces (N, 48, 48, 1) in [0, 1], dark ones denoised, from stock Keras layers (so a .keras file loads without
    fer_lib). Non-local means (Buades et al. 2005, as OpenCV's fastNlMeansDenoising with 3x3 patches): each pixel
    becomes the mean of the pixels within `search` of it, weighted by exp(-d / h^2), d the mean squared difference
    of their 3x3 patches, h = `strength` x the face's `noise_level`, the face mirrored at its edges. A dim camera's
    noise, stretched with the face by the contrast normalization, is what costs the models most in low light; a
    Gaussian blur takes it out only with the face's edges. Only dark faces are changed: the result is blended in
    by a soft gate on the face's mean brightness (`dark_below`), since a well-lit face's measured "noise" is its
    texture."""
    from keras import layers

    size, pad = IMAGE_SIZE, search + 1
    response = _fixed(layers.Conv2D(1, 3, use_bias=False, name=f"{name}_mask"), x, [_NOISE_MASK[..., None, None]])
    magnitude = layers.Add(name=f"{name}_magnitude")([
        layers.ReLU(name=f"{name}_positive")(response),
        layers.ReLU(name=f"{name}_negative")(layers.Rescaling(-1.0, name=f"{name}_negated")(response))])
    noise = layers.GlobalAveragePooling2D(name=f"{name}_noise")(magnitude)
    knots, values = _inverse_square_knots(strength)
    rising, falling = _tents(knots)
    tents = layers.ReLU(name=f"{name}_tents")(layers.Minimum(name=f"{name}_tent_tops")([
        _fixed(layers.Dense(len(knots), name=f"{name}_rising"), noise, rising),
        _fixed(layers.Dense(len(knots), name=f"{name}_falling"), noise, falling)]))
    inverse_h2 = _fixed(layers.Dense(1, use_bias=False, name=f"{name}_inverse_h2"), tents, [values[:, None]])
    padding = _mirror_padding(size, pad)
    rows = _times(layers.Reshape((size, size), name=f"{name}_rows")(x), padding, f"{name}_pad_width")
    columns = _times(layers.Permute((2, 1), name=f"{name}_transpose")(rows), padding, f"{name}_pad_height")
    padded = layers.Reshape((size + 2 * pad, size + 2 * pad, 1), name=f"{name}_padded")(
        layers.Permute((2, 1), name=f"{name}_untranspose")(columns))

    def window(down: int, right: int, label: str):  # the face and a 1-pixel rim, moved by (down, right)
        top, left = search + down, search + right
        return layers.Cropping2D(((top, 2 * search - top), (left, 2 * search - left)), name=f"{name}_{label}")(padded)

    centre = window(0, 0, "centre")
    moved = layers.Concatenate(name=f"{name}_moved")(
        [window(down, right, f"moved_{down + search}_{right + search}")
         for down in range(-search, search + 1) for right in range(-search, search + 1)])
    difference = layers.Subtract(name=f"{name}_difference")([moved, centre])
    patch_distance = layers.AveragePooling2D(3, strides=1, name=f"{name}_patch_distance")(
        layers.Multiply(name=f"{name}_squared")([difference, difference]))
    inverse_h2 = layers.Reshape((1, 1, 1), name=f"{name}_h2")(inverse_h2)
    scaled = layers.Multiply(name=f"{name}_scaled")([patch_distance, inverse_h2])
    weights = layers.Softmax(axis=-1, name=f"{name}_weights")(layers.Rescaling(-1.0, name=f"{name}_closeness")(scaled))
    values = layers.Cropping2D(1, name=f"{name}_values")(moved)
    taps = (2 * search + 1) ** 2
    smooth = _fixed(layers.Conv2D(1, 1, use_bias=False, name=f"{name}_sum"),
                    layers.Multiply(name=f"{name}_weighted")([weights, values]), [np.ones((1, 1, taps, 1), np.float32)])
    gate = _fixed(layers.Dense(1, activation="sigmoid", name=f"{name}_gate"),
                  layers.GlobalAveragePooling2D(name=f"{name}_brightness")(x),
                  [np.float32([[-DENOISE_GATE_STEEPNESS]]), np.float32([DENOISE_GATE_STEEPNESS * dark_below])])
    change = layers.Multiply(name=f"{name}_gated")([layers.Subtract(name=f"{name}_change")([smooth, x]),
                                                     layers.Reshape((1, 1, 1), name=f"{name}_gate_map")(gate)])
    return layers.Add(name=f"{name}d")([x, change])


def _inverse_square_knots(strength: float, ratio: float = 1.12):
    """Knots in the mean absolute mask response u, spaced by `ratio` for h from 0.5 to 60 grey levels, and 1 / h^2
    at each (h = strength x noise_level(face), in [0, 1] units)."""
    low, high = 0.5 / 255 / strength / _NOISE_SCALE, 60 / 255 / strength / _NOISE_SCALE
    knots = low * ratio ** np.arange(int(np.ceil(np.log(high / low) / np.log(ratio))) + 1)
    return knots.astype(np.float32), (1.0 / (strength * _NOISE_SCALE * knots) ** 2).astype(np.float32)


def _tents(knots: np.ndarray):
    """Weights of two frozen Dense layers whose outputs' minimum, clipped at 0, is the tent of each knot: 1 there, 0
    at its neighbours, linear between (flat beyond the first and the last). Their weighted sum interpolates between
    the knots with at most two positive terms, so no large terms cancel (OpenVINO computes in bfloat16)."""
    width_before = np.diff(knots, prepend=np.nan)
    width_after = np.diff(knots, append=np.nan)
    rising = [np.where(np.isnan(width_before), 0.0, 1 / width_before)[None],
              np.where(np.isnan(width_before), 1.0, -np.roll(knots, 1) / width_before)]
    falling = [np.where(np.isnan(width_after), 0.0, -1 / width_after)[None],
               np.where(np.isnan(width_after), 1.0, np.roll(knots, -1) / width_after)]
    return [w.astype(np.float32) for w in rising], [w.astype(np.float32) for w in falling]


def _mirror_padding(size: int, pad: int) -> np.ndarray:
    """(size, size + 2 pad) matrix M: `x @ M` pads each row of x by `pad` on both sides, mirrored at its ends
    (OpenCV's BORDER_REFLECT_101)."""
    sources = np.abs(np.arange(-pad, size + pad))
    sources = np.where(sources > size - 1, 2 * (size - 1) - sources, sources)
    matrix = np.zeros((size, size + 2 * pad), np.float32)
    matrix[sources, np.arange(size + 2 * pad)] = 1.0
    return matrix


def _fixed(layer, x, weights):
    """`layer` applied to x with frozen `weights`."""
    layer.trainable = False
    out = layer(x)
    layer.set_weights(weights)
    return out


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
