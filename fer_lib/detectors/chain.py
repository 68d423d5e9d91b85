"""Detectors joined with "+" (FirstFound: the first that finds a face), and the check that keeps a fallback's faces
only where MediaPipe's face mesh sees a face too (Checked)."""
from __future__ import annotations

import time

import numpy as np

from ..framing import around, reframe
from ..images import to_gray
from .base import MIN_FACE_SIDE, Detections, eye_angle

CHECK_PRESENCE = 0.8  # the face mesh's presence a checked face needs (benchmarks/bench_false_faces.py, bench_detection.py)
CHECK_SIDE, CHECK_CONTEXT = 160, 2.0  # the close-up the check looks at: pixels, and its side over the box's
CHECK_CLAHE = (2.0, 4)  # the close-up's local equalization (CLAHE): clip limit, tiles a side
FALLBACK_SECONDS = 1.0  # in video, the later detectors of a chain run at most once per this many seconds


class FirstFound:
    """The first detector's faces; in an image where it finds none, the next one's, and so on, their boxes
    re-expressed in the first one's framing. Faces a detector finds doubtful (its `doubtful`, where it has one) are
    kept only where no later detector finds a face, or where its faces are only larger ones around them.
    `min_side`: smaller faces are dropped (the classifier cannot read them); `every`: seconds, the later detectors
    run at most once per this long (0: on every image; video: FALLBACK_SECONDS)."""

    def __init__(self, *detectors, min_side: int = MIN_FACE_SIDE, every: float = 0.0):
        self.detectors, self.framing = detectors, detectors[0].framing
        self.min_side, self.every, self.last_fallback = min_side, every, -np.inf
        self.clock = time.monotonic

    def use_clock(self, clock) -> None:
        """Time `every` by `clock` (seconds; a video file's own timestamps, as predict reads it), from a fresh start."""
        self.clock, self.last_fallback = clock, -np.inf
        for detector in self.detectors:
            if hasattr(detector, "use_clock"):
                detector.use_clock(clock)

    def detect(self, gray: np.ndarray) -> Detections:
        detector, found = self._search(gray)
        if detector.framing == self.framing or not len(found):
            return found
        return Detections(reframe(found.boxes, detector.framing, self.framing), found.scores, found.keypoints)

    def _search(self, gray: np.ndarray):
        """(the detector whose faces are kept, its faces)."""
        doubted, first = None, None
        for position, detector in enumerate(self.detectors):
            if position == 1 and self.every and self.clock() - self.last_fallback < self.every:
                break
            if position == 1 and self.every:
                self.last_fallback = self.clock()
            found = _large(detector.detect(gray), self.min_side)
            first = first or (detector, found)
            if not len(found):
                continue
            if doubted and around(detector.framing.frames(found.boxes), doubted[0].framing.frames(doubted[1].boxes)):
                return doubted
            if not (hasattr(detector, "doubtful") and detector.doubtful(gray, found)):
                return detector, found
            doubted = doubted or (detector, found)
        return doubted or first

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        return self.detect(gray).boxes


def _large(found: Detections, min_side: int) -> Detections:
    """`found` without the faces whose box is under `min_side` pixels wide or high."""
    keep = found.boxes[:, 2:].min(axis=1) >= min_side if len(found) else np.zeros(0, bool)
    return found if keep.all() else Detections(found.boxes[keep], found.scores[keep], found.keypoints[keep])


class Checked:
    """`detector`'s faces, each kept only where MediaPipe's face mesh sees a face (presence >= `presence`) in a
    close-up of it, blurred a little and equalized locally (CLAHE) first, so that a dark face is judged as a lit one
    would be.
    The detectors whose every guess would otherwise count (Haar, BlazeFace on textures) become precise."""

    def __init__(self, detector, presence: float = CHECK_PRESENCE, mesh=None):
        from .blazeface import FaceMesh

        import cv2

        self.detector, self.framing, self.presence = detector, detector.framing, presence
        self.mesh = mesh or FaceMesh()
        self.clahe = cv2.createCLAHE(clipLimit=CHECK_CLAHE[0], tileGridSize=(CHECK_CLAHE[1],) * 2)

    def detect(self, image: np.ndarray) -> Detections:
        found = self.detector.detect(image)
        if not len(found):
            return found
        gray = to_gray(image)
        keep = np.array([self.face_presence(gray, box, points) >= self.presence
                         for box, points in zip(found.boxes, found.keypoints)])
        return Detections(found.boxes[keep], found.scores[keep], found.keypoints[keep])

    def face_presence(self, gray: np.ndarray, box, points) -> float:
        """The face mesh's presence score for the face in `box`, its close-up denoised and locally equalized, its eyes
        levelled where `points` give them."""
        import cv2

        x, y, width, height = (float(v) for v in box)
        scale = CHECK_SIDE / (CHECK_CONTEXT * max(width, height, 1.0))
        shift = [CHECK_SIDE / 2 - (x + width / 2) * scale, CHECK_SIDE / 2 - (y + height / 2) * scale]
        close = cv2.warpAffine(gray, np.float32([[scale, 0, shift[0]], [0, scale, shift[1]]]), (CHECK_SIDE, CHECK_SIDE),
                               borderMode=cv2.BORDER_REPLICATE)
        close = self.clahe.apply(cv2.GaussianBlur(close, (5, 5), 1.0))
        angle = eye_angle(points[:2]) if np.isfinite(points[:2]).all() else 0.0
        side = CHECK_SIDE / CHECK_CONTEXT
        return self.mesh.presence(close, ((CHECK_SIDE - side) / 2, (CHECK_SIDE - side) / 2, side, side), angle)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.detect(image).boxes


def checked_fallbacks(video: bool = False, video_side: int | None = None) -> FirstFound:
    """The default's fallbacks, for images where YuNet finds no face: BlazeFace, then the Haar cascade, then the
    SSD, each face kept only where the face mesh confirms it (Checked, one mesh shared); the first that keeps one."""
    from .blazeface import BlazeFace, FaceMesh
    from .haar import VIDEO_MAX_SIDE, HaarCascade
    from .ssd import SSD

    mesh = FaceMesh()
    haar = HaarCascade.for_video(video_side or VIDEO_MAX_SIDE) if video else HaarCascade()
    return FirstFound(*(Checked(detector, mesh=mesh) for detector in (BlazeFace(), haar, SSD())))
