"""Video only: a face found in one frame is looked for in the next around where it was, by YuNet on that region alone
(a 95 px face's region is a fifth of a 640x480 frame, and YuNet reads it about 3.5 times faster). The whole frame is
searched again by the detector at least every FULL_SEARCH_SECONDS, so that new faces are found, and at once when a
followed face is lost. Seconds are the wall clock's (a camera), or a video file's own (`use_clock`): read once a
second, a video's every frame is searched whole."""
from __future__ import annotations

import time

import numpy as np

from .base import MIN_FACE_SIDE, Detections

REGION = 2.5  # the region searched: this many times the face's longer side, centred on it
FULL_SEARCH_SECONDS = 0.5  # the whole frame is searched at least this often (bench_video.py, bench_live.py)


class Tracking:
    """`detector` (its framing must be YuNet's: a chain that starts with YuNet) on a frame when there is nothing to
    follow, when a followed face is lost, and at least every `every` seconds; between those, each face of the last
    frame looked for by `follower` (YuNet) in a region around it. Faces under `min_side` pixels count as lost."""

    def __init__(self, detector, follower=None, every: float = FULL_SEARCH_SECONDS, min_side: int = MIN_FACE_SIDE):
        from .yunet import FRAMING, YuNet

        if detector.framing != FRAMING:
            raise ValueError("Tracking follows faces with YuNet: its detector must frame faces as YuNet does")
        self.detector, self.framing = detector, detector.framing
        self.follower = follower or YuNet()
        self.every, self.min_side = every, min_side
        self.last, self.last_full, self.clock = None, -np.inf, time.monotonic

    def use_clock(self, clock) -> None:
        """Time `every` by `clock` (seconds; a video file's own timestamps, as predict reads it), from a fresh start:
        nothing followed from an earlier video."""
        self.clock, self.last, self.last_full = clock, None, -np.inf
        if hasattr(self.detector, "use_clock"):
            self.detector.use_clock(clock)

    def detect(self, image: np.ndarray) -> Detections:
        now = self.clock()
        if self.last is not None and len(self.last) and now - self.last_full < self.every:
            followed = self.follow(image, self.last)
            if followed is not None:
                self.last = followed
                return followed
        self.last, self.last_full = self.detector.detect(image), now
        return self.last

    def follow(self, image: np.ndarray, last: Detections) -> Detections | None:
        """Each of `last`'s faces found again near where it was, or None if any is not."""
        height, width = image.shape[:2]
        boxes, scores, keypoints = [], [], []
        for x, y, w, h in last.boxes.astype(float):
            side = REGION * max(w, h)
            left, top = int(max(0, x + w / 2 - side / 2)), int(max(0, y + h / 2 - side / 2))
            right, bottom = int(min(width, x + w / 2 + side / 2)), int(min(height, y + h / 2 + side / 2))
            found = self.follower.detect(image[top:bottom, left:right])
            if not len(found):
                return None
            centre = np.array([x + w / 2 - left, y + h / 2 - top])
            nearest = int(np.argmin(np.hypot(*(found.boxes[:, :2] + found.boxes[:, 2:] / 2 - centre).T)))
            box = found.boxes[nearest] + np.array([left, top, 0, 0])
            if box[2:].min() < self.min_side:
                return None
            boxes.append(box)
            scores.append(found.scores[nearest])
            keypoints.append(found.keypoints[nearest] + np.array([left, top], np.float32))
        order = np.argsort([-b[2] * b[3] for b in boxes], kind="stable")
        return Detections(np.array(boxes, np.int64)[order], np.array(scores, np.float32)[order],
                          np.array(keypoints, np.float32)[order])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return self.detect(image).boxes
