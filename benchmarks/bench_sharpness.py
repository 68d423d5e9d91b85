"""How sharp the strong recipe's training faces are next to the test faces it is scored on (issue 4).

    python benchmarks/bench_sharpness.py [--data PATH] [--faces 2000]

Every bilinear resampling (the training rotation, shift and zoom) softens a face a little; three in a row leave
training faces softer than any test face, which is why a slight test-time blur helps the shipped model.
Sharpness: the mean absolute difference between neighbouring pixels, as a share of the untouched Training faces';
"like a blur of": the Gaussian (sigma, pixels; fer_lib.pretrained.smoothing_matrix) that leaves faces as sharp.
Writes results/sharpness.json.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.inference import smoothing_matrix  # noqa: E402
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn  # noqa: E402
from fer_lib.training import set_seed  # noqa: E402

SIGMAS = np.round(np.arange(0.05, 1.55, 0.05), 2)
GEOMETRY = ("rotate", "shift", "zoom")  # the resampling augmentation layers, in the recipe's order


def sharpness(faces: np.ndarray) -> float:
    """Mean absolute difference between horizontally and vertically neighbouring pixels of faces (N, 48, 48)."""
    return float(np.abs(np.diff(faces, axis=1)).mean() + np.abs(np.diff(faces, axis=2)).mean())


def blurred(faces: np.ndarray, sigma: float) -> np.ndarray:
    blur = smoothing_matrix(sigma)
    return blur.T @ faces @ blur  # along the width, then the height


def augmented(faces: np.ndarray, layers: tuple[str, ...], **recipe) -> np.ndarray:
    """Faces through the named augmentation layers of the strong recipe (with `recipe`'s changes), training mode."""
    set_seed(0)
    model = build_strong_cnn(StrongConfig(**recipe))
    x = faces[..., None]
    for name in layers:
        x = model.get_layer(name)(x, training=True)
    return np.asarray(x)[..., 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--faces", type=int, default=2000, help="the first N Training faces")
    args = parser.parse_args()
    dataset = load_fer2013(args.data, progress=False)
    faces = dataset.split().train.x[: args.faces].astype(np.float32) / 255.0
    reference = sharpness(faces)
    blur_sharpness = np.array([sharpness(blurred(faces, sigma)) for sigma in SIGMAS])

    def row(what: str, result: np.ndarray) -> dict:
        value = sharpness(result)
        like = "none" if value >= reference * 0.995 else f"{SIGMAS[np.abs(blur_sharpness - value).argmin()]:g} px"
        return {"faces": what, "sharpness": value / reference, "like a blur of": like}

    rows = [row("untouched, as the network meets them at test time", faces)]
    rows += [row(f"blurred, sigma {sigma:g} px (a test-time option)", blurred(faces, sigma)) for sigma in (0.5, 0.6, 0.7)]
    rows += [row(f"training: {name} alone (bilinear)", augmented(faces, (name,))) for name in GEOMETRY]
    rows.append(row("training: rotate, shift, zoom (shipped strong_cnn's recipe)", augmented(faces, GEOMETRY)))
    rows.append(row("training: rotate (bilinear), shift and zoom by whole pixels (--interpolation nearest)",
                    augmented(faces, GEOMETRY, interpolation="nearest")))
    report("sharpness", rows, {"data": dataset.source, "is_demo": dataset.is_demo, "faces": len(faces)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
