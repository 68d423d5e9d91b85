"""Smaller tiles as a last stage: what finds the small faces the default detector misses, and at what price.

    python benchmarks/bench_tiles.py [--data PATH] [--rows N] [--size PX]

At 48 px the default finds fewer than 93% of the faces at the middle severity under four conditions (the ones of
bench_fallbacks.py; bench_detection.py). BlazeFace sees a 256 px frame at 128 px, so such a face is 24 px to it; its
own tiles (2 x 2, 60% of the sides) are looked at only where the whole frame shows no candidate. Each candidate here
runs on the frames where the default does not find the face — those where it found nothing and the fewer where it
reports a face elsewhere or mis-sized, on which a last stage would not run (bench_detection.py measures the default
with its last stage): BlazeFace on n x n overlapping tiles, each a share of the frame's sides, every candidate then
looked at close up and kept from the second views' score (SECOND_VIEW_SCORE), on the frame alone or, until one shows
a face, on it and on other views of it in turn (CANDIDATES: brightened with gamma 0.5 or 0.35, turned 20 degrees
either way); one candidate keeps only the faces MediaPipe's face mesh scores present (as fer_lib.detectors.ssd checks). Rows:
the misses each finds (robustness.finds, as bench_detection counts them) and the share found with it, per condition;
the face-free frames (the rocket's, as bench_detection's false-face column, and windows of other photographs without
a person, as bench_fallbacks.py) in which the default, then the candidate, reports a face; and the milliseconds the
candidate adds to a frame without a face, next to the default's own milliseconds for such a frame, measured in the
same run. Writes results/tiles.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from bench_fallbacks import CONDITIONS, _finds, face_free_windows, misses  # noqa: E402
from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.detectors.blazeface import BRIGHTER, BRIGHTEST, SECOND_VIEW_SCORE, BlazeFace, FaceMesh, map_back, views  # noqa: E402
from fer_lib.detectors import DEFAULT_DETECTOR, face_detector  # noqa: E402
from fer_lib.detectors.base import eye_angle  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, scenes  # noqa: E402

BRIGHTER_THEN_TURNED = ((BRIGHTER, False), (BRIGHTER, True))
CANDIDATES = {  # name: tiles per side, each tile's share of the frame's sides, the views searched after the frame
    # itself, in turn (a lookup table, None for none; turned by TURN degrees either way or not), the face mesh's bar
    "3 x 3 tiles of 45%": (3, 0.45, (), 0.0),
    "3 x 3 tiles of 45%, then brighter, then brighter and turned": (3, 0.45, BRIGHTER_THEN_TURNED, 0.0),
    "4 x 4 tiles of 35%, then brighter, then brighter and turned": (4, 0.35, BRIGHTER_THEN_TURNED, 0.0),
    "4 x 4 tiles of 35%, then brighter, then brighter and turned, face mesh >= 0.5": (4, 0.35, BRIGHTER_THEN_TURNED, 0.5),
    "3 x 3 tiles of 45%, then turned, brighter, brighter and turned, gamma 0.35 and turned":
        (3, 0.45, ((None, True), *BRIGHTER_THEN_TURNED, (BRIGHTEST, True)), 0.0),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, default=3589, help="the first N PublicTest faces (default: %(default)s)")
    parser.add_argument("--size", type=int, default=48, help="the face's side in the frame (default: %(default)s)")
    args = parser.parse_args()
    from skimage import data as photos

    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").head(args.rows)
    background = to_gray(photos.rocket())
    default = face_detector(DEFAULT_DETECTOR)
    missed, found = misses(default, test.x, args.size, background)
    empty, _ = scenes(np.zeros((len(test), 48, 48), np.uint8), args.size, background, place=False)
    other = face_free_windows()
    start = time.perf_counter()
    empty_default = np.array([len(default.detect(frame)) > 0 for frame in empty])
    default_seconds = (time.perf_counter() - start) / len(empty)
    other_default = np.array([len(default.detect(frame)) > 0 for frame in other])
    rows = [{"last stage": f"none ({DEFAULT_DETECTOR}, the default)",
             **{f"{c} found": "-" for c in CONDITIONS},
             **{f"{c} found %": round(100 * found[c] / len(test), 1) for c in CONDITIONS},
             "face-free frames with a face %": f"{100 * empty_default.mean():.2f}",
             "other photos' windows with a face %": f"{100 * other_default.mean():.1f}",
             "ms per face-free frame": round(1000 * default_seconds)}]
    blazeface, mesh = BlazeFace(), FaceMesh()
    for name, (per_side, share, steps, presence) in CANDIDATES.items():
        detect = tile_search(blazeface, per_side, share, steps, mesh, presence)
        row = {"last stage": name}
        extra = {condition: sum(_finds(detect(frame), default.framing, square) for frame, square in frames)
                 for condition, frames in missed.items()}
        row |= {f"{condition} found": f"{extra[condition]} of {len(frames)}" for condition, frames in missed.items()}
        row |= {f"{condition} found %": round(100 * (found[condition] + extra[condition]) / len(test), 1)
                for condition in missed}
        start = time.perf_counter()
        empty_any = empty_default | np.array([not seen and len(detect(f)) > 0 for f, seen in zip(empty, empty_default)])
        seconds = (time.perf_counter() - start) / max(1, (~empty_default).sum())
        other_any = other_default | np.array([not seen and len(detect(f)) > 0 for f, seen in zip(other, other_default)])
        row["face-free frames with a face %"] = f"{100 * empty_any.mean():.2f}"
        row["other photos' windows with a face %"] = f"{100 * other_any.mean():.1f}"
        row["ms per face-free frame"] = round(1000 * seconds)
        rows.append(row)
        print(row, flush=True)
    report("tiles", rows, {"faces": len(test), "face px": args.size, "severity": MIDDLE_SEVERITY,
                           "detector": DEFAULT_DETECTOR, "source": dataset.source, "is_demo": dataset.is_demo})
    return 0


def tile_search(blazeface: BlazeFace, per_side: int, share: float, steps: tuple, mesh: FaceMesh, presence: float):
    """gray -> boxes (x, y, width, height): BlazeFace.search_tiles on the frame, then, until one shows a face, on each
    view of `steps` (blazeface.views: lookup table or None, turned by TURN degrees either way or not), mapped back;
    with a `presence` bar, only the faces the face mesh scores present at that or more, its square turned to level the
    eyes."""

    def detect(gray):
        for view, back in views(np.repeat(gray[..., None], 3, axis=2), ((None, False), *steps)):
            boxes, keypoints, scores = blazeface.search_tiles(view, per_side, share, SECOND_VIEW_SCORE)
            if len(scores):
                boxes, keypoints = map_back(boxes, keypoints, back)
                boxes = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
                if presence:
                    boxes = boxes[[mesh.presence(gray, box, eye_angle(points[:2])) >= presence
                                   for box, points in zip(boxes, keypoints)]]
                return boxes
        return np.zeros((0, 4))
    return detect


if __name__ == "__main__":
    sys.exit(main())
