"""YuNet (Wu, Peng, Yu 2023): a 232 KB face detector run by OpenCV's own cv2.FaceDetectorYN (issue 42).

The ONNX file is vendored in fer_lib/models/yunet/ with its two licenses (Apache-2.0, MIT) and its provenance. It
finds faces from about 10 pixels up, gives five landmarks (eyes, nose tip, mouth corners) and a score; it is fast
enough to search every video frame at full size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..framing import Framing
from ..images import to_gray
from .base import KEYPOINTS, Detections, overlaps

MODEL_FILE = Path(__file__).resolve().parents[1] / "models" / "yunet" / "face_detection_yunet_2023mar.onnx"
MIN_SCORE = 0.8  # the bar of a face's score (see benchmarks/bench_detection.py and bench_false_faces.py)
SUPPRESSION_IOU = 0.3
MAX_SIDE = 640  # images are searched scaled down to this longest side at most (YuNet's own input size)
# enhance=True: the image blurred (a Gaussian of this many pixels) against a dim sensor's noise, then equalized
# locally (CLAHE: clip limit, tiles a side), so that a dark, noisy face shows; of the faces found there, only those
# darker than ENHANCE_DARKER_THAN (the box's mean grey level in the image as it is) are kept: the rest are lit faces
# that the other detectors frame better (benchmarks/bench_enhanced.py)
ENHANCE_SIGMA, ENHANCE_CLAHE, ENHANCE_DARKER_THAN = 2.0, (2.0, 8), 60
# ...searched there at a lower score bar, each face kept only where YuNet finds it in the mirrored copy too (a box
# overlapping it by IoU >= MIRROR_IOU, scored MIRROR_SCORE or more): noise rarely looks like a face both ways round
ENHANCE_SCORE, MIRROR_SCORE, MIRROR_IOU = 0.7, 0.3, 0.5
# FER2013's frame relative to YuNet's box (python -m fer_lib framing --detector yunet; results/face_framing_yunet.json)
FRAMING = Framing(scale=1.297, dx=0.003, dy=0.025, measured_on=1801, sample=2000)


class YuNet:
    """Faces in an image (gray (H, W) or RGB (H, W, 3) uint8) as Detections, largest first; `min_score`: the bar of a
    face's score; `max_side`: the longest side the image is searched at (smaller is faster, misses small faces);
    `enhance`: search the image denoised and equalized locally instead (`enhanced`), where a dark face shows, and
    keep only the dark faces found there (ENHANCE_DARKER_THAN), at a bar of ENHANCE_SCORE, each confirmed in the
    mirrored copy (MIRROR_SCORE); `mirror_score`: keep a face only where the mirrored image has one at that score or
    more in the same place (None: no such check, the default without `enhance`)."""

    framing = FRAMING

    def __init__(self, min_score: float | None = None, max_side: int = MAX_SIDE, enhance: bool = False,
                 mirror_score: float | None = None):
        import cv2

        if not MODEL_FILE.is_file():
            raise FileNotFoundError(f"{MODEL_FILE}: YuNet's model file is missing (it ships inside fer_lib)")
        if min_score is None:
            min_score = ENHANCE_SCORE if enhance else MIN_SCORE
        if mirror_score is None and enhance:
            mirror_score = MIRROR_SCORE
        self.min_score, self.max_side, self.mirror_score = min_score, max_side, mirror_score
        self.enhance = enhance
        bar = min_score if mirror_score is None else min(min_score, mirror_score)
        self.network = cv2.FaceDetectorYN.create(str(MODEL_FILE), "", (320, 320), bar, SUPPRESSION_IOU, 100)
        self.size = (320, 320)

    def detect(self, image: np.ndarray) -> Detections:
        import cv2

        image = np.asarray(image)
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else np.ascontiguousarray(image[..., 2::-1])
        shrink = min(1.0, self.max_side / max(bgr.shape[:2]))
        if shrink < 1.0:
            bgr = cv2.resize(bgr, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        if self.enhance:
            bgr = cv2.cvtColor(enhanced(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)), cv2.COLOR_GRAY2BGR)
        size = (bgr.shape[1], bgr.shape[0])
        if size != self.size:
            self.network.setInputSize(size)
            self.size = size
        rows = self._rows(bgr)
        rows = rows[rows[:, 14] >= self.min_score]
        if self.mirror_score is not None and len(rows):
            mirrored = self._rows(np.ascontiguousarray(bgr[:, ::-1]))
            rows = rows[mirror_confirmed(rows[:, :4], mirrored[:, :4], mirrored[:, 14], bgr.shape[1], self.mirror_score)]
        rows = rows / np.r_[[shrink] * 14, 1.0]
        corners = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)
        points = rows[:, 4:14].reshape(-1, 5, 2)
        keypoints = np.full((len(rows), len(KEYPOINTS), 2), np.nan, np.float32)
        keypoints[:, 0], keypoints[:, 1], keypoints[:, 2] = points[:, 0], points[:, 1], points[:, 2]  # image-left eye first
        keypoints[:, 3] = points[:, 3:5].mean(axis=1)  # the mouth: between its corners
        found = Detections.from_corners(corners, rows[:, 14], keypoints, image.shape[:2])
        return _dark_only(image, found) if self.enhance else found

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.detect(image).boxes

    def _rows(self, bgr: np.ndarray) -> np.ndarray:
        """YuNet's rows for an image at its search size: box (x, y, w, h), five landmarks, score."""
        _, rows = self.network.detect(bgr)
        return np.zeros((0, 15), np.float32) if rows is None else rows.reshape(-1, 15)


def mirror_confirmed(boxes: np.ndarray, mirrored_boxes: np.ndarray, mirrored_scores: np.ndarray, width: int,
                     bar: float) -> np.ndarray:
    """Which `boxes` (x, y, w, h in an image `width` pixels wide) a search of the mirrored image confirms: one of its
    boxes, scored `bar` or more, lies in the same place once mirrored back (IoU >= MIRROR_IOU)."""
    x, y, w, h = np.asarray(mirrored_boxes, np.float64).reshape(-1, 4)[np.asarray(mirrored_scores) >= bar].T
    back = np.stack([width - x - w, y, width - x, y + h], axis=1)  # corners, mirrored back
    corners = np.asarray(boxes, np.float64).reshape(-1, 4)
    corners = np.concatenate([corners[:, :2], corners[:, :2] + corners[:, 2:]], axis=1)
    return np.array([bool((overlaps(box, back) >= MIRROR_IOU).any()) for box in corners], bool)


def enhanced(gray: np.ndarray, sigma: float = ENHANCE_SIGMA, clip: float = ENHANCE_CLAHE[0],
             tiles: int = ENHANCE_CLAHE[1]) -> np.ndarray:
    """A gray uint8 image blurred by a Gaussian of `sigma` pixels (0: not blurred), then equalized by CLAHE (`clip`
    limit, `tiles` a side): a dim sensor's noise smoothed before the contrast is stretched, not stretched with it."""
    import cv2

    if sigma:
        gray = cv2.GaussianBlur(gray, (0, 0), sigma)
    return cv2.createCLAHE(clip, (tiles, tiles)).apply(gray)


def box_greys(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The mean grey level of `image` (gray or RGB) inside each box (x, y, width, height)."""
    gray = to_gray(image)
    return np.array([gray[max(y, 0) : y + h, max(x, 0) : x + w].mean() if w > 0 and h > 0 else 255.0
                     for x, y, w, h in np.asarray(boxes, int).reshape(-1, 4)])


def _dark_only(image: np.ndarray, found: Detections) -> Detections:
    keep = box_greys(image, found.boxes) < ENHANCE_DARKER_THAN
    return found if keep.all() else Detections(found.boxes[keep], found.scores[keep], found.keypoints[keep])
