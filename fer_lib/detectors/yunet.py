"""YuNet (Wu, Peng, Yu 2023): a 232 KB face detector run by OpenCV's own cv2.FaceDetectorYN (issue 42).

The ONNX file is vendored in fer_lib/models/yunet/ with its two licenses (Apache-2.0, MIT) and its provenance. It
finds faces from about 10 pixels up, gives five landmarks (eyes, nose tip, mouth corners) and a score; it is fast
enough to search every video frame at full size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..framing import Framing
from .base import KEYPOINTS, Detections

MODEL_FILE = Path(__file__).resolve().parents[1] / "models" / "yunet" / "face_detection_yunet_2023mar.onnx"
MIN_SCORE = 0.8  # the bar of a face's score (see benchmarks/bench_detection.py and bench_false_faces.py)
SUPPRESSION_IOU = 0.3
MAX_SIDE = 640  # images are searched scaled down to this longest side at most (YuNet's own input size)
# FER2013's frame relative to YuNet's box (python -m fer_lib framing --detector yunet; results/face_framing_yunet.json)
FRAMING = Framing(scale=1.297, dx=0.003, dy=0.025, measured_on=1801, sample=2000)


class YuNet:
    """Faces in an image (gray (H, W) or RGB (H, W, 3) uint8) as Detections, largest first; `min_score`: the bar of a
    face's score; `max_side`: the longest side the image is searched at (smaller is faster, misses small faces)."""

    framing = FRAMING

    def __init__(self, min_score: float = MIN_SCORE, max_side: int = MAX_SIDE):
        import cv2

        if not MODEL_FILE.is_file():
            raise FileNotFoundError(f"{MODEL_FILE}: YuNet's model file is missing (it ships inside fer_lib)")
        self.min_score, self.max_side = min_score, max_side
        self.network = cv2.FaceDetectorYN.create(str(MODEL_FILE), "", (320, 320), min_score, SUPPRESSION_IOU, 100)
        self.size = (320, 320)

    def detect(self, image: np.ndarray) -> Detections:
        import cv2

        image = np.asarray(image)
        bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else np.ascontiguousarray(image[..., 2::-1])
        shrink = min(1.0, self.max_side / max(bgr.shape[:2]))
        if shrink < 1.0:
            bgr = cv2.resize(bgr, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        size = (bgr.shape[1], bgr.shape[0])
        if size != self.size:
            self.network.setInputSize(size)
            self.size = size
        _, rows = self.network.detect(bgr)
        rows = np.zeros((0, 15), np.float32) if rows is None else rows.reshape(-1, 15) / np.r_[[shrink] * 14, 1.0]
        corners = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)
        points = rows[:, 4:14].reshape(-1, 5, 2)
        keypoints = np.full((len(rows), len(KEYPOINTS), 2), np.nan, np.float32)
        keypoints[:, 0], keypoints[:, 1], keypoints[:, 2] = points[:, 0], points[:, 1], points[:, 2]  # image-left eye first
        keypoints[:, 3] = points[:, 3:5].mean(axis=1)  # the mouth: between its corners
        return Detections.from_corners(corners, rows[:, 14], keypoints, image.shape[:2])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.detect(image).boxes
