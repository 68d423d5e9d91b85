"""Faces cut out of photos the way FER2013 frames its faces (crop_faces), aligned where the eyes are known.

The detectors that find them live in fer_lib.detectors (face_detector(name)); how FER2013 frames a face relative to
a detector's box, in fer_lib.framing.
"""
from __future__ import annotations

import numpy as np

from .dataset import IMAGE_SIZE
from .detectors.base import eye_angle
from .framing import FER_FRAMING, Framing


def crop_faces(gray: np.ndarray, boxes: np.ndarray, framing: Framing = FER_FRAMING,
               eyes: np.ndarray | None = None) -> np.ndarray:
    """uint8 faces (N, 48, 48) framed like FER2013's; parts of a frame outside the image repeat its edge. `eyes`:
    (N, 2, 2) each face's image-left and image-right eye centres (x, y); each frame is then turned about its centre
    so that the eyes are level (alignment), where they are given (not NaN)."""
    import cv2

    crops = []
    frames = framing.frames(boxes)
    eyes = [None] * len(frames) if eyes is None else np.asarray(eyes, np.float64)
    for (cx, cy, side), pair in zip(frames, eyes):
        size = max(1, int(round(side)))
        if pair is None or not np.isfinite(pair).all():
            left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
            pad = max(0, -left, -top, left + size - gray.shape[1], top + size - gray.shape[0])
            padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else gray
            window = padded[top + pad : top + pad + size, left + pad : left + pad + size]
        else:
            turn = cv2.getRotationMatrix2D((cx, cy), eye_angle(pair), 1.0)
            turn[:, 2] += (size / 2 - cx, size / 2 - cy)
            window = cv2.warpAffine(gray, turn, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crops.append(cv2.resize(window, (IMAGE_SIZE, IMAGE_SIZE),
                                interpolation=cv2.INTER_AREA if size >= IMAGE_SIZE else cv2.INTER_LINEAR))
    return np.stack(crops) if crops else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


# The crops a face is read in when its reading averages several (EmotionReader's several_crops): (dx, dy, aligned), the
# frame moved by dx and dy of the box's width and turned to level the eyes or not; the first is crop_faces' own crop.
# Chosen by a one-off probe on PrivateTest (not in the repo) against one crop and fewer or other views; measured on
# PublicTest by benchmarks/bench_pipeline_models.py --several-crops.
CROP_VIEWS = ((0.0, 0.0, True), (0.0, 0.0, False), (0.05, 0.0, True), (-0.05, 0.0, True), (0.0, 0.05, True),
              (0.0, -0.05, True))


def crop_views(gray: np.ndarray, boxes: np.ndarray, framing: Framing = FER_FRAMING, eyes: np.ndarray | None = None,
               views=CROP_VIEWS) -> np.ndarray:
    """uint8 (N, V, 48, 48): each face cut out as crop_faces cuts it, once per view in `views` ((dx, dy, aligned): the
    box moved by dx and dy of its width, the eyes levelled where `aligned` and they are given)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    crops = [crop_faces(gray, boxes + np.outer(boxes[:, 2], [dx, dy, 0, 0]), framing, eyes if aligned else None)
             for dx, dy, aligned in views]
    return np.stack(crops, axis=1)
