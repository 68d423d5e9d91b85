"""How FER2013 frames a face, so that a face found in a photo is cut out as FER2013's were.

FER2013's faces were cut out by a detector too: run on FER2013's own faces, a detector's box matches the 48x48 frame
to within a few percent (`measure_framing`, `python -m fer_lib framing`), so a face is cropped as its detected box
scaled by the detector's Framing.scale around its centre, shifted by (dx, dy); each detector has its framing,
measured the same way. FER_EYES says where FER2013's eyes sit (the glasses condition draws lenses there).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dataset import IMAGE_SIZE


@dataclass(frozen=True)
class Framing:
    """FER2013's frame relative to a detected box: side = scale x box width, centre moved by (dx, dy) box widths."""

    scale: float
    dx: float
    dy: float
    measured_on: int = 0  # faces with exactly one detection
    sample: int = 0  # faces tried

    def frames(self, boxes: np.ndarray) -> np.ndarray:
        """The FER2013 frames detected boxes (N, 4) x, y, width, height imply: (N, 3) centre x, centre y, side."""
        x, y, w, h = np.asarray(boxes, np.float64).reshape(-1, 4).T
        return np.stack([x + w / 2 + self.dx * w, y + h / 2 + self.dy * w, self.scale * w], axis=1)


# Measured on the first 2,000 Training faces of Kaggle's FER2013, original pixels (python -m fer_lib framing --data
# fer2013_original.csv.gz; results/face_framing.json).
FER_FRAMING = Framing(scale=1.016, dx=-0.003, dy=0.0, measured_on=1506, sample=2000)


@dataclass(frozen=True)
class Eyes:
    """Where the eyes sit in a 48x48 FER2013 face: centres (x, y) in pixels (image-left eye first), eye box side."""

    left: tuple[float, float]
    right: tuple[float, float]
    size: float
    measured_on: int = 0
    sample: int = 0


# Measured on the same 2,000 faces with OpenCV's eye cascade (python -m fer_lib framing; results/face_framing.json).
FER_EYES = Eyes(left=(14.375, 18.375), right=(32.75, 18.25), size=11.625, measured_on=1136, sample=2000)


def around(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether each of the FER2013 frames `outer` (N, 3: centre x, centre y, side) is larger than one of `inner`'s and
    holds its centre."""
    holds = np.abs(outer[:, None, :2] - inner[None, :, :2]).max(axis=2) <= outer[:, None, 2] / 2
    return bool((holds & (outer[:, None, 2] > inner[None, :, 2])).any(axis=1).all())


def reframe(boxes: np.ndarray, source: Framing, target: Framing) -> np.ndarray:
    """Boxes found by a detector framed by `source`, as the boxes that give the same FER2013 frames under `target`."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centre_x, centre_y, side = source.frames(boxes).T
    width = side / target.scale
    height = boxes[:, 3] * width / np.maximum(boxes[:, 2], 1)
    x, y = centre_x - target.dx * width - width / 2, centre_y - target.dy * width - height / 2
    return np.round(np.stack([x, y, width, height], axis=1)).astype(np.int64)


def framing_relations(faces: np.ndarray, detector, upscale: int = 4, border: float = 0.5) -> np.ndarray:
    """Run `detector` (one of fer_lib.detectors, or any callable giving boxes) on FER2013 faces (uint8 (N, 48, 48)): for each face with exactly
    one detection, the 48x48 frame's relation to the box (scale, dx, dy, as Framing has them); (M, 3).

    Each face is enlarged `upscale` times and given a replicated border of `border` x its side, so that a box
    reaching the frame's edge can still be found; faces with no or several detections are left out.
    """
    import cv2

    relations = []
    for face in np.asarray(faces):
        big = cv2.resize(face, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        pad = int(border * big.shape[0])
        boxes = detector(cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        if len(boxes) == 1:
            x, y, w, h = (boxes[0] - [pad, pad, 0, 0]) / upscale
            half = IMAGE_SIZE / 2
            relations.append((IMAGE_SIZE / w, (half - (x + w / 2)) / w, (half - (y + h / 2)) / w))
    return np.array(relations, np.float64).reshape(-1, 3)


def measure_framing(faces: np.ndarray, relations: np.ndarray) -> Framing:
    """The median frame-to-box relation of FER2013 faces (uint8 (N, 48, 48)), from their framing_relations."""
    if not len(relations):
        raise ValueError(f"measure_framing: no face found in any of the {len(faces)} faces")
    scale, dx, dy = np.median(relations, axis=0)
    return Framing(round(float(scale), 3), round(float(dx), 3), round(float(dy), 3), len(relations), len(faces))


def framing_spread(relations: np.ndarray, framing: Framing) -> dict:
    """How far single faces' frames stray from the median framing in size: percentiles of each frame's side over the
    side `framing` implies, and the shares more than sqrt(2) off (no IoU of 0.5 even centred) and more than 2x off."""
    ratio = relations[:, 0] / framing.scale
    off = np.maximum(ratio, 1 / ratio)
    return {"side_over_median_percentiles": {str(q): round(float(np.percentile(ratio, q)), 3) for q in (1, 5, 95, 99)},
            "share_off_by_more_than_sqrt2": round(float(np.mean(off > np.sqrt(2))), 4),
            "share_off_by_more_than_2": round(float(np.mean(off > 2)), 4)}
