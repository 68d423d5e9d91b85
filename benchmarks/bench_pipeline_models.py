"""Models end to end on the same detections: does a model trained on the pipeline's own crops (`train --model robust
--pipeline-share`) close the gap between crop-level and end-to-end accuracy? PublicTest faces, clean and under each
condition (the held-out ones too) at the middle severity, are placed into frames as bench_detection places them; the
default detector finds, aligns and cuts them out once; then each model reads the same crops, the faces cut out
exactly where they were placed (what the frames themselves cost), and the faces as FER2013 has them (crop level).

    python benchmarks/bench_pipeline_models.py --models robust_cnn runs/pipeline_models/robust_cnn.keras [--data PATH]
        [--rows N] [--sizes 48 96]

Writes results/pipeline_models.json (per model, condition and face size: found, crop-level, placed and end-to-end
accuracy and the gap between crop level and end to end) and results/pipeline_models_summary.json (per model and size:
the clean and mean gaps, the largest, and how many of the rows are within 2 points).
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.conditions import CONDITIONS, HELD_OUT, apply  # noqa: E402
from fer_lib.faces import DEFAULT_DETECTOR, face_detector, to_gray  # noqa: E402
from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.pretrained import load_model  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, detected_crops, placed_crops, scenes  # noqa: E402

GOAL_POINTS = 2.0  # issue 18: end to end within 2 points of crop level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", required=True, help="shipped models' names or .keras files")
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, help="only the first N PublicTest faces (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[48, 96], help="face sides in pixels")
    args = parser.parse_args()
    from skimage import data as photos

    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").head(args.rows)
    models = {name: load_model(name) for name in args.models}
    detector, background = face_detector(), to_gray(photos.rocket())
    rows = []
    for condition, severity in [("clean", 0), *((name, MIDDLE_SEVERITY) for name in (*CONDITIONS, *HELD_OUT))]:
        faces = apply(condition, test.x, severity, 0) if severity else test.x
        crop_level = {name: _accuracy(model, faces, test.y) for name, model in models.items()}
        for size in args.sizes:
            frames, squares = scenes(faces, size, background)
            placed = placed_crops(frames, squares)
            found, _, crops = detected_crops(detector, frames, squares)
            for name, model in models.items():
                read = np.full(len(test), -1)
                if found.any():
                    read[found] = predict_proba(model, crops).argmax(axis=1)
                end_to_end = float((read == test.y).mean())
                rows.append({"model": name, "condition": condition, "severity": severity, "face_size": size,
                             "found": round(float(found.mean()), 4), "crop_accuracy": round(crop_level[name], 4),
                             "placed_accuracy": round(_accuracy(model, placed, test.y), 4),
                             "accuracy": round(end_to_end, 4), "gap_points": round(100 * (crop_level[name] - end_to_end), 2)})
    about = {"detector": DEFAULT_DETECTOR, "source": dataset.source, "is_demo": dataset.is_demo, "faces": len(test),
             "background": "skimage.data.rocket"}
    report("pipeline_models", rows, about)
    report("pipeline_models_summary", summary(rows), about)
    return 0


def _accuracy(model, faces, labels) -> float:
    return float((predict_proba(model, faces).argmax(axis=1) == labels).mean())


def _mean_percent(rows: list[dict], key: str) -> float:
    return round(100 * float(np.mean([row[key] for row in rows])), 1)


def summary(rows: list[dict]) -> list[dict]:
    """Per model and face size: crop-level and end-to-end accuracy clean and averaged over the conditions, the gap
    clean and averaged over the conditions, the largest gap, and the rows (clean and each condition) within
    GOAL_POINTS."""
    out = []
    for name in dict.fromkeys(row["model"] for row in rows):
        for size in dict.fromkeys(row["face_size"] for row in rows):
            group = [row for row in rows if row["model"] == name and row["face_size"] == size]
            clean, worst = group[0], max(group, key=lambda row: row["gap_points"])
            out.append({"model": name, "face px": size, "crop accuracy clean %": round(100 * clean["crop_accuracy"], 1),
                        "accuracy clean %": round(100 * clean["accuracy"], 1),
                        f"crop accuracy sev {MIDDLE_SEVERITY} mean %": _mean_percent(group[1:], "crop_accuracy"),
                        f"accuracy sev {MIDDLE_SEVERITY} mean %": _mean_percent(group[1:], "accuracy"),
                        "gap clean": clean["gap_points"],
                        "gap mean": round(float(np.mean([row["gap_points"] for row in group[1:]])), 2),
                        "gap worst": f"{worst['gap_points']:.2f} ({worst['condition']})",
                        f"within {GOAL_POINTS:g} points": f"{sum(row['gap_points'] <= GOAL_POINTS for row in group)} of {len(group)}"})
    return out


if __name__ == "__main__":
    sys.exit(main())
