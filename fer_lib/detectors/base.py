"""What every face detector gives: Detections (boxes, scores, keypoints), and the Protocol a backend follows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..framing import Framing

KEYPOINTS = ("eye_left", "eye_right", "nose", "mouth", "ear_left", "ear_right")  # as seen in the image
# faces narrower than this many pixels are not reported by the default detector: the classifier reads 48x48 faces,
# and a box under half that is mostly guesswork (the face-free frames' false faces were 5-30 px)
MIN_FACE_SIDE = 24


@dataclass(frozen=True)
class Detections:
    """Faces in one image, largest first: `boxes` (N, 4) int x, y, width, height; `scores` (N,); `keypoints`
    (N, 6, 2) float pixel (x, y) in the order of KEYPOINTS, NaN where the detector does not give them."""

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def from_corners(cls, corners: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, shape) -> Detections:
        """Detections from boxes as x_min, y_min, x_max, y_max in an image of `shape` (height, width, ...): clipped to
        the image, those over a pixel wide and high kept, largest first."""
        height, width = shape[:2]
        xy = np.clip(corners[:, :2], 0, [width, height])
        wh = np.clip(corners[:, 2:], 0, [width, height]) - xy
        kept = (wh > 1).all(axis=1)
        boxes = np.round(np.concatenate([xy, wh], axis=1)[kept]).astype(np.int64)
        order = np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")
        return cls(boxes[order], scores[kept][order].astype(np.float32), keypoints[kept][order].astype(np.float32))


class Detector(Protocol):
    """A face detector: `detect(image)` -> Detections, largest first, for a gray (H, W) or RGB (H, W, 3) uint8
    image; `framing`: how FER2013 frames a face relative to its boxes; calling it gives the boxes alone."""

    framing: Framing

    def detect(self, image: np.ndarray) -> Detections: ...

    def __call__(self, image: np.ndarray) -> np.ndarray: ...


def eye_angle(eyes: np.ndarray) -> float:
    """The degrees by which a pair of eyes (2, 2), image-left first, rises to the image's right: turning the image
    by it about any point levels them."""
    (left_x, left_y), (right_x, right_y) = eyes
    return float(np.degrees(np.arctan2(right_y - left_y, right_x - left_x)))


def overlaps(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of `box` with each of `boxes` (x_min, y_min, x_max, y_max)."""
    low, high = np.maximum(box[:2], boxes[:, :2]), np.minimum(box[2:], boxes[:, 2:])
    overlap = np.prod(np.clip(high - low, 0, None), axis=1)
    areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1) + np.prod(np.clip(box[2:] - box[:2], 0, None))
    return overlap / np.maximum(areas - overlap, 1e-12)
