"""Special conditions end to end: PublicTest faces under each condition, placed into whole frames at several sizes
on a real photograph's background, found by each face detector, aligned, cropped and classified. For each
detector, condition, severity and face size: the share of faces found, the end-to-end accuracy (a face not found
counts as wrong) and the crop-level accuracy of the same faces (the robustness benchmark's), in one run; and, on
the same frames without the faces and on 240 real 640x480 frames without any (robustness.face_free_frames), how
often each detector reports a face that is not there.

    python benchmarks/bench_detection.py [--data PATH] [--rows N] [--severities 0 3] [--sizes 48 96 192]

Writes results/detection.json (every row), results/detection_summary.json (per detector and face size: found and
accuracy clean, and at the middle severity the mean and the worst condition), results/detection_alignment.json (the
middle rotation's end-to-end accuracy with and without alignment, per detector),
results/figures/detection.png (the share found against severity, per detector), and results/detection_placed.json (the
faces cut out of the frames exactly where they were placed and read, no detector: what the frames themselves cost).
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import RESULTS, report  # noqa: E402

from fer_lib import load_fer2013, plots  # noqa: E402
from fer_lib.conditions import CONDITIONS, HELD_OUT, SEVERITIES  # noqa: E402
from fer_lib.detectors import DETECTORS, face_detector  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402
from fer_lib.pretrained import load_model  # noqa: E402
from fer_lib.robustness import (FACE_SIZES, MIDDLE_SEVERITY, end_to_end, false_faces,  # noqa: E402
                                false_faces_in_photos, placed_accuracy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, help="only the first N PublicTest faces (default: all)")
    parser.add_argument("--skip", type=int, default=0, help="start at PublicTest face SKIP (a held-out check: faces "
                        "no setting was chosen on; default: 0)")
    parser.add_argument("--background", default="rocket", help="the scikit-image photograph the faces are placed "
                        "into (default: %(default)s, a launch pad; held out: e.g. coffee)")
    parser.add_argument("--name", default="detection", help="the results' file names (default: %(default)s)")
    parser.add_argument("--model", default="robust_cnn", help="a shipped model's name or a .keras file (default: "
                        "%(default)s, the one shipped for special conditions)")
    parser.add_argument("--severities", type=int, nargs="+", default=[0, *SEVERITIES], help="0 is clean")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(FACE_SIZES), help="face sides in pixels")
    parser.add_argument("--detectors", nargs="+", choices=DETECTORS, default=list(DETECTORS))
    parser.add_argument("--placed-only", action="store_true", help="only results/detection_placed.json: the faces cut "
                        "out of the frames where they were placed, no detector (minutes instead of an hour)")
    args = parser.parse_args()
    from skimage import data as photos  # scikit-image's sample photographs (the notebooks' and tests' extra)

    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").rows(args.skip, args.rows)
    detectors = {name: face_detector(name) for name in args.detectors}
    model = load_model(args.model)
    background = to_gray(getattr(photos, args.background)())  # a real scene without faces
    about = {"model": args.model, "source": dataset.source, "is_demo": dataset.is_demo, "faces": len(test),
             "first_face": args.skip, "background": f"skimage.data.{args.background}"}
    placed = placed_accuracy(model, test, background, (*CONDITIONS, *HELD_OUT), tuple(args.severities), tuple(args.sizes))
    report(f"{args.name}_placed", rounded(placed), about)
    if args.placed_only:
        return 0
    table = end_to_end(model, test, detectors, background, (*CONDITIONS, *HELD_OUT),
                       tuple(args.severities), tuple(args.sizes))
    false = false_faces(detectors, background, len(test), tuple(args.sizes))
    table = table.merge(false, on=["detector", "face_size"])
    in_photos = false_faces_in_photos(detectors)
    table["false_faces_photos"] = table["detector"].map(in_photos)
    report(args.name, rounded(table), about)
    if {0, MIDDLE_SEVERITY} <= set(args.severities):
        report(f"{args.name}_summary", summary(table), about)
    if MIDDLE_SEVERITY in args.severities:
        unaligned = end_to_end(model, test, detectors, background, ("rotation",), (MIDDLE_SEVERITY,), tuple(args.sizes),
                               align=False)
        report(f"{args.name}_alignment", alignment(table, unaligned), about)
    plots.save_figure(plots.faces_found(table), RESULTS, args.name)
    return 0


def rounded(table) -> list[dict]:
    """A table's rows, floats to 4 places."""
    return [{key: (round(value, 4) if isinstance(value, float) else value) for key, value in row.items()}
            for row in table.to_dict(orient="records")]


def summary(table) -> list[dict]:
    """Per detector and face size: % found (and found with the stricter IoU match) and end-to-end accuracy clean; at
    the middle severity, % found averaged over the conditions and at the worst one, and the end-to-end and
    crop-level accuracy averaged."""
    rows = []
    for (detector, size), group in table.groupby(["detector", "face_size"], sort=False):
        clean, middle = group[group["severity"] == 0].iloc[0], group[group["severity"] == MIDDLE_SEVERITY]
        worst = middle.loc[middle["found"].idxmin()]
        rows.append({"detector": detector, "face px": int(size), "found clean %": round(clean["found"] * 100, 1),
                     "found clean, IoU >= 0.5 %": round(clean["found_iou"] * 100, 1),
                     "false faces %": round(clean["false_faces"] * 100, 1),
                     "false faces, real frames %": round(clean["false_faces_photos"] * 100, 1),
                     f"found sev {MIDDLE_SEVERITY} mean %": round(middle["found"].mean() * 100, 1),
                     f"found sev {MIDDLE_SEVERITY} worst %": f"{worst['found'] * 100:.1f} ({worst['condition']})",
                     "accuracy clean %": round(clean["accuracy"] * 100, 1),
                     "crop accuracy clean %": round(clean["crop_accuracy"] * 100, 1),
                     f"accuracy sev {MIDDLE_SEVERITY} mean %": round(middle["accuracy"].mean() * 100, 1),
                     f"crop accuracy sev {MIDDLE_SEVERITY} mean %": round(middle["crop_accuracy"].mean() * 100, 1)})
    return rows


def alignment(table, unaligned) -> list[dict]:
    """Per detector and face size, at the middle rotation: end-to-end accuracy aligned (the benchmark's) and not."""
    aligned = table[(table["condition"] == "rotation") & (table["severity"] == MIDDLE_SEVERITY)]
    both = aligned.merge(unaligned, on=["detector", "face_size"], suffixes=("", "_unaligned"))
    return [{"detector": row.detector, "face px": int(row.face_size), "crop accuracy %": round(row.crop_accuracy * 100, 1),
             "accuracy aligned %": round(row.accuracy * 100, 1),
             "accuracy not aligned %": round(row.accuracy_unaligned * 100, 1)} for row in both.itertuples()]


if __name__ == "__main__":
    sys.exit(main())
