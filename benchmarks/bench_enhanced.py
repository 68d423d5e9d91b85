"""What YuNet finds on a denoised, locally equalized copy of the frame, as the default's second stage: between
YuNet on the frame as it is and the checked fallbacks (yunet+yunet-enhanced+checked). For each blur (a Gaussian of
`sigma` pixels; 0: none), CLAHE clip limit and YuNet score bar on that copy, a darkness bar (a face kept
only where its box is darker than it in the frame as it is) and a mirror bar (a face kept only where YuNet finds it
in the mirrored copy too, at that score): the faces the chain finds in
bench_detection's frames at 96 px, clean and under the three hardest conditions at the middle severity, and the
face-free real frames in which it reports a face. The first row is the chain without the stage (yunet+checked); the
default's stage is sigma ENHANCE_SIGMA, clip ENHANCE_CLAHE, ENHANCE_SCORE, ENHANCE_DARKER_THAN and MIRROR_SCORE.

    python benchmarks/bench_enhanced.py [--data PATH] [--rows 200] [--skip 0] [--background rocket] [--seed 0]
        [--free-frames 480] [--name enhanced]

A face counts as found as bench_detection counts it (robustness.finds). Writes results/<--name>.json.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import faces_and_background, frames_options, report  # noqa: E402

from fer_lib.conditions import apply  # noqa: E402
from fer_lib.detectors.base import MIN_FACE_SIDE  # noqa: E402
from fer_lib.detectors.chain import _large, checked_fallbacks  # noqa: E402
from fer_lib.detectors.yunet import (ENHANCE_CLAHE, ENHANCE_DARKER_THAN, ENHANCE_SIGMA, MIN_SCORE,  # noqa: E402
                                     MIRROR_SCORE, YuNet, box_greys, enhanced, mirror_confirmed)  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, face_free_frames, finds, scenes  # noqa: E402

CONDITIONS = ("clean", "low_light", "dark+angle", "glasses+angle")  # the last three: the default's weakest
# (blur sigma, CLAHE clip limit, score bar, darkness bar: a face is kept only where its box's mean grey level in the
# frame as it is lies below this, None: any face; mirror bar: a face is kept only where YuNet finds it in the mirrored
# copy too at this score, None: no such check)
SETTINGS = [*((sigma, clip, MIN_SCORE, None, None) for sigma in (0.0, 1.0, 2.0, 3.0) for clip in (ENHANCE_CLAHE[0], 3.0)),
            *((ENHANCE_SIGMA, ENHANCE_CLAHE[0], MIN_SCORE, dark, None) for dark in (ENHANCE_DARKER_THAN, 100)),
            *((ENHANCE_SIGMA, ENHANCE_CLAHE[0], 0.7, dark, None) for dark in (ENHANCE_DARKER_THAN, 100, None)),
            *((ENHANCE_SIGMA, ENHANCE_CLAHE[0], bar, ENHANCE_DARKER_THAN, mirror)
              for bar, mirror in ((0.7, MIRROR_SCORE), (0.6, MIRROR_SCORE), (0.5, 0.5), (0.4, 0.5)))]


def outcomes(frame, plain, second, fallbacks):
    """(YuNet's faces on `frame`, [the enhanced stage's faces per setting], the fallbacks' faces or None where YuNet
    found a face), each as FER2013 frames (N, 3), and the seconds each setting's stage took."""
    first = _large(plain.detect(frame), MIN_FACE_SIDE)
    if len(first):
        return plain.framing.frames(first.boxes), None, None, None
    staged, seconds, copies = [], [], {}
    for sigma, clip, bar, dark, mirror in SETTINGS:
        if (sigma, clip) not in copies:  # one search per copy (and its mirror image), its faces kept at each bar
            start = time.perf_counter()
            copy = enhanced(frame, sigma, clip)
            found = _large(second.detect(copy), MIN_FACE_SIDE)
            mirrored = second.detect(np.ascontiguousarray(copy[:, ::-1])) if len(found) else None
            copies[sigma, clip] = found, time.perf_counter() - start, box_greys(frame, found.boxes), mirrored
        found, took, greys, mirrored = copies[sigma, clip]
        keep = (found.scores >= bar) & (greys < (dark if dark is not None else np.inf))
        if mirror is not None and len(found):
            keep &= mirror_confirmed(found.boxes, mirrored.boxes, mirrored.scores, frame.shape[1], mirror)
        staged.append(second.framing.frames(found.boxes[keep]))
        seconds.append(took)
    last = fallbacks.detect(frame)
    return None, staged, (fallbacks.framing.frames(last.boxes) if len(last) else np.zeros((0, 3))), seconds


def chain(first, staged, last, setting: int | None):
    """The chain's faces: YuNet's where it found any, else the stage's (setting; None: no stage), else the fallbacks'."""
    if first is not None:
        return first
    if setting is not None and len(staged[setting]):
        return staged[setting]
    return last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    frames_options(parser, "enhanced")
    args = parser.parse_args()
    dataset, test, background = faces_and_background(args)
    bar = min(min(setting[2], setting[4] or 1.0) for setting in SETTINGS)
    plain, second, fallbacks = YuNet(), YuNet(min_score=bar, mirror_score=None), checked_fallbacks()
    choices = [None, *range(len(SETTINGS))]
    found = {name: np.zeros(len(choices)) for name in CONDITIONS}
    for name in CONDITIONS:
        faces = test.x if name == "clean" else apply(name, test.x, MIDDLE_SEVERITY, 0)
        frames, squares = scenes(faces, 96, background, 0)
        for frame, square in zip(frames, squares):
            first, staged, last, _ = outcomes(frame, plain, second, fallbacks)
            found[name] += [bool(len(got := chain(first, staged, last, c)) and finds(got, square)[0].any())
                            for c in choices]
    free = face_free_frames(args.free_frames, args.seed)
    false, seconds, searched = np.zeros(len(choices)), np.zeros(len(SETTINGS)), 0
    for frame in free:
        first, staged, last, took = outcomes(frame, plain, second, fallbacks)
        false += [len(chain(first, staged, last, c)) > 0 for c in choices]
        if took is not None:
            seconds, searched = seconds + took, searched + 1
    rows = []
    for i, c in enumerate(choices):
        sigma, clip, bar, dark, mirror = SETTINGS[c] if c is not None else (None,) * 5
        rows.append({"stage": "none (yunet+checked)" if c is None else "enhanced", "sigma": sigma, "clip": clip,
                     "score_bar": bar, "darker_than": dark, "mirror_bar": mirror, **{f"found_{name} %": round(100 * found[name][i] / len(test), 1)
                                          for name in CONDITIONS},
                     "false_face_frames %": round(100 * false[i] / len(free), 2),
                     "stage ms": None if c is None else round(1000 * seconds[c] / max(searched, 1), 1)})
    report(args.name, rows, {"faces": len(test), "first_face": args.skip, "face_size": 96,
                             "background": f"skimage.data.{args.background}", "face_free_frames": len(free),
                             "face_free_seed": args.seed, "severity": MIDDLE_SEVERITY, "source": dataset.source,
                             "is_demo": dataset.is_demo})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
