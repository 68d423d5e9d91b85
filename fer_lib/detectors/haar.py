"""OpenCV's frontal-face Haar cascade (shipped inside opencv-python-headless 4.x; OpenCV 5 dropped it), with its
eyes from OpenCV's eye cascade where it finds a pair (`find_eyes`)."""
from __future__ import annotations

from itertools import permutations

import numpy as np

from ..dataset import IMAGE_SIZE
from ..framing import FER_EYES, FER_FRAMING, Eyes
from .base import KEYPOINTS, Detections

CASCADE_FILE = "haarcascade_frontalface_default.xml"
EYE_CASCADE_FILE = "haarcascade_eye.xml"
EYE_SEARCH_WIDTH = 96  # a face's box is searched for its eyes at this width (the eye cascade's window is 20 px)
# Images are searched on a copy scaled down to this longest side: photos keep detail for small faces; video
# frames trade it for speed (a 640x480 frame is searched at 320x240: faces from 48 px, about 45 frames/s here).
PHOTO_MAX_SIDE, VIDEO_MAX_SIDE = 1280, 320
MIN_FACE_FRACTION = 0.05  # faces smaller than this share of the image's shorter side are ignored (and >= 24 px)


class HaarCascade:
    """Frontal faces in a grayscale image as (N, 4) int boxes x, y, width, height, largest first.

    For video frames use HaarCascade.for_video(): a smaller search size and coarser scale steps.
    """

    framing = FER_FRAMING

    def __init__(self, max_side: int = PHOTO_MAX_SIDE, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_fraction: float = MIN_FACE_FRACTION, eyes: bool = True):
        self.cascade = load_cascade(CASCADE_FILE)
        self.eye_cascade = load_cascade(EYE_CASCADE_FILE) if eyes else None
        self.max_side, self.scale_factor = max_side, scale_factor
        self.min_neighbors, self.min_fraction = min_neighbors, min_fraction

    @classmethod
    def for_video(cls, max_side: int = VIDEO_MAX_SIDE) -> HaarCascade:
        return cls(max_side=max_side, scale_factor=1.2)

    def detect(self, gray: np.ndarray) -> Detections:
        """The boxes, each scored 1; the keypoints are NaN but for the eyes where the eye cascade finds a pair."""
        boxes = self(gray)
        keypoints = np.full((len(boxes), len(KEYPOINTS), 2), np.nan, np.float32)
        for face, box in zip(keypoints, boxes if self.eye_cascade is not None else []):
            face[:2] = find_eyes(gray, box, self.eye_cascade)
        return Detections(boxes, np.ones(len(boxes), np.float32), keypoints)

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        import cv2

        shrink = min(1.0, self.max_side / max(gray.shape))
        small = gray if shrink == 1.0 else cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        side = max(24, int(self.min_fraction * min(small.shape)))
        boxes = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(side, side))
        boxes = np.round(np.asarray(boxes, np.float64).reshape(-1, 4) / shrink).astype(np.int64)
        return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


def load_cascade(file: str):
    """One of the cascades opencv-python-headless ships, by file name; a clear error where it does not."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + file)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {file} did not load: install opencv-python-headless 4.x "
                           "(OpenCV 5 no longer ships Haar cascades)")
    return cascade


def find_eyes(gray: np.ndarray, box, cascade) -> np.ndarray:
    """The image-left and image-right eye centres (2, 2) x, y in a face's `box` (x, y, width, height), from OpenCV's
    eye `cascade`; NaN unless it finds a pair: one eye in each half of the box's upper 60%, 25-70% of the box's
    width apart, tilted at most 30 degrees and of like size. Of several pairs, the one whose midpoint lies nearest
    to where FER2013's eyes sit (FER_EYES)."""
    import cv2

    x, y, width, height = (int(v) for v in box)
    top = gray[max(0, y) : y + int(height * 0.6), max(0, x) : x + width]
    pair = np.full((2, 2), np.nan)
    if min(top.shape) < 8:
        return pair
    shrink = EYE_SEARCH_WIDTH / top.shape[1]
    small = cv2.resize(top, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA if shrink < 1 else cv2.INTER_LINEAR)
    found = cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=3, minSize=(12, 12),
                                     maxSize=(EYE_SEARCH_WIDTH * 2 // 5,) * 2)
    eyes = np.asarray(found, np.float64).reshape(-1, 4)
    centres, sizes = eyes[:, :2] + eyes[:, 2:] / 2, eyes[:, 2]
    half = EYE_SEARCH_WIDTH / 2
    expected = np.array([(FER_EYES.left[0] + FER_EYES.right[0]) / 2, (FER_EYES.left[1] + FER_EYES.right[1]) / 2])
    expected *= EYE_SEARCH_WIDTH / IMAGE_SIZE
    best = np.inf
    for a, b in permutations(range(len(eyes)), 2):
        apart, rise = centres[b] - centres[a]
        alike = max(sizes[a], sizes[b]) <= 1.6 * min(sizes[a], sizes[b])
        if (centres[a, 0] < half <= centres[b, 0] and 0.25 <= apart / EYE_SEARCH_WIDTH <= 0.7
                and abs(rise) <= apart * np.tan(np.radians(30)) and alike):
            distance = np.hypot(*((centres[a] + centres[b]) / 2 - expected))
            if distance < best:
                best, pair = distance, centres[[a, b]] / shrink + [max(0, x), max(0, y)]
    return pair


def measure_eyes(faces: np.ndarray, upscale: int = 4) -> Eyes:
    """Median eye centres and size in FER2013 faces (uint8 (N, 48, 48)), from OpenCV's eye cascade.

    Only faces where exactly two eyes are found in the upper 60% of the face, level (centres within 6 px) and
    apart (more than 10 px), count.
    """
    import cv2

    cascade = load_cascade(EYE_CASCADE_FILE)
    left, right = [], []
    for face in np.asarray(faces):
        big = cv2.resize(face, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        boxes = cascade.detectMultiScale(big[: big.shape[0] * 6 // 10], scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        if len(boxes) == 2:
            a, b = sorted(((x + w / 2) / upscale, (y + h / 2) / upscale, w / upscale) for x, y, w, h in boxes)
            if abs(a[1] - b[1]) < 6 and b[0] - a[0] > 10:
                left.append(a)
                right.append(b)
    if not left:
        raise ValueError(f"measure_eyes: no pair of eyes found in any of the {len(faces)} faces")
    (lx, ly, lw), (rx, ry, rw) = np.median(left, axis=0), np.median(right, axis=0)
    return Eyes((float(lx), float(ly)), (float(rx), float(ry)), float((lw + rw) / 2), len(left), len(faces))
