"""How far a gentler check could take the default's recall in the dark: every candidate its detectors give (YuNet at
its bar, BlazeFace, the Haar cascade, the SSD: faces of MIN_FACE_SIDE and up) on bench_detection's frames under the
darkest conditions at the middle severity, and on real face-free frames; then the faces found and the frames with a
false face if a candidate whose box is darker than a bar (its mean grey level) needed a lower face-mesh presence
than CHECK_PRESENCE, down to none at all (every dark candidate kept: the candidates' ceiling).

    python benchmarks/bench_check.py [--data PATH] [--rows 200] [--skip 0] [--background rocket] [--seed 0]
        [--free-frames 480]

A face counts as found as bench_detection counts it (robustness.finds), by the default or by a kept candidate.
Writes results/<--name>.json (default: check_ceiling), one row per darkness bar and presence.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import faces_and_background, frames_options, report  # noqa: E402

from fer_lib.conditions import apply  # noqa: E402
from fer_lib.detectors import face_detector  # noqa: E402
from fer_lib.detectors.base import MIN_FACE_SIDE  # noqa: E402
from fer_lib.detectors.chain import CHECK_PRESENCE, Checked, _large  # noqa: E402
from fer_lib.detectors.yunet import box_greys  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, face_free_frames, finds, scenes  # noqa: E402

CONDITIONS = ("low_light", "dark+angle")  # where the default finds fewest faces (benchmarks/README.md)
DARK_BARS = (40, 60, 80)  # a candidate's box darker than this mean grey level gets the lower presence bar
PRESENCES = (CHECK_PRESENCE, 0.6, 0.5, 0.3, 0.0)  # 0: no check for dark candidates


def candidates(detectors, check, frame):
    """[(implied FER2013 frame (3,), face-mesh presence, mean grey of the box)] for every face of `detectors`."""
    found = []
    for detector in detectors:
        faces = _large(detector.detect(frame), MIN_FACE_SIDE)
        for box, points, grey in zip(faces.boxes, faces.keypoints, box_greys(frame, faces.boxes)):
            found.append((detector.framing.frames(box[None])[0], check.face_presence(frame, box, points), float(grey)))
    return found


def kept(candidate, bar: float, presence: float) -> bool:
    _, seen, grey = candidate
    return seen >= CHECK_PRESENCE or (grey < bar and seen >= presence)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    frames_options(parser, "check_ceiling")
    parser.add_argument("--size", type=int, default=96, help="face side in pixels (default: %(default)s)")
    args = parser.parse_args()

    from fer_lib.detectors.blazeface import BlazeFace
    from fer_lib.detectors.haar import HaarCascade
    from fer_lib.detectors.ssd import SSD
    from fer_lib.detectors.yunet import YuNet

    dataset, test, background = faces_and_background(args)
    default, detectors = face_detector(), (YuNet(), BlazeFace(), HaarCascade(), SSD())
    check = Checked(detectors[0])
    rules = [(bar, presence) for bar in DARK_BARS for presence in PRESENCES]
    found = {name: np.zeros(len(rules)) for name in CONDITIONS}
    by_default = {}
    for name in CONDITIONS:
        frames, squares = scenes(apply(name, test.x, MIDDLE_SEVERITY, 0), args.size, background, 0)
        hits = 0
        for frame, square in zip(frames, squares):
            faces = default.detect(frame)
            hit = bool(len(faces) and finds(default.framing.frames(faces.boxes), square)[0].any())
            hits += hit
            near = [c for c in candidates(detectors, check, frame) if finds(c[0][None], square)[0][0]]
            found[name] += [hit or any(kept(c, *rule) for c in near) for rule in rules]
        by_default[name] = hits / len(frames)
        print(f"{name}: the default finds {by_default[name]:.1%}", file=sys.stderr, flush=True)
    free = face_free_frames(args.free_frames, args.seed)
    false = np.zeros(len(rules))
    for frame in free:
        reported = len(default.detect(frame)) > 0
        found_here = candidates(detectors, check, frame)
        false += [reported or any(kept(c, *rule) for c in found_here) for rule in rules]
    rows = [{"dark_below": bar, "dark_presence": presence,
             **{f"found_{name}": round(100 * found[name][i] / len(test), 1) for name in CONDITIONS},
             "false_face_frames": round(100 * false[i] / len(free), 2)} for i, (bar, presence) in enumerate(rules)]
    report(args.name, rows, {"faces": len(test), "first_face": args.skip, "face_size": args.size,
                             "background": f"skimage.data.{args.background}", "face_free_frames": len(free),
                             "face_free_seed": args.seed, "severity": MIDDLE_SEVERITY, "source": dataset.source,
                             "is_demo": dataset.is_demo,
                             "default_found": {name: round(100 * share, 1) for name, share in by_default.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
