"""The input's preprocessing as a measured choice (issue 40): the strong recipe trained on the original FER2013 pixels
behind each of four preprocessings, on the same short schedule, then read clean and under the special conditions.

    python benchmarks/bench_preprocessing.py --data fer2013_original.csv.gz [--epochs 6] [--variants ...]

    none       the pixels as they are (/255)
    contrast   a per-face contrast normalization inside the network (train --contrast-normalization: stock
               LayerNormalization over the face, so a .keras file carries it)
    equalize   each face histogram-equalized one by one (cv2.equalizeHist; what the old copy of FER2013 had)
    clahe      each face through CLAHE (cv2, clip limit 2, 8x8 tiles: 6-pixel tiles on a 48-pixel face)

Every variant trains StrongConfig with `--epochs` in bfloat16 from seed 0, sees its faces preprocessed the same way
in training and when read, and is read at its best epoch by PrivateTest without test-time options. Under a condition
the face is changed first and preprocessed after, as a camera's face would be. PrivateTest chooses; PublicTest and
the FER+ majority are reported beside it. Writes results/preprocessing_fer2013/preprocessing.json and each run's
history.csv there (the runs themselves go to --run-root), and preprocessing_summary.json (the table results/README.md
shows).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.conditions import CONDITIONS, HELD_OUT, apply  # noqa: E402
from fer_lib.dataset import Subset  # noqa: E402
from fer_lib.evaluation import label_sets, score_split  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY  # noqa: E402

VARIANTS = ("none", "contrast", "equalize", "clahe")
OUTPUT = Path(__file__).resolve().parents[1] / "results" / "preprocessing_fer2013"


def preprocess(variant: str, faces: np.ndarray) -> np.ndarray:
    """uint8 faces (N, 48, 48) as `variant` gives them to the network (contrast: unchanged, the network does it)."""
    import cv2

    if variant == "equalize":
        return np.stack([cv2.equalizeHist(face) for face in faces]) if len(faces) else faces
    if variant == "clahe":
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        return np.stack([clahe.apply(face) for face in faces]) if len(faces) else faces
    return faces


def read(model, variant: str, subset: Subset, condition: str | None = None) -> dict:
    """Accuracy against each label set `subset` has, its faces under `condition` at the middle severity first."""
    from fer_lib.inference import predict_proba

    faces = subset.x if condition is None else apply(condition, subset.x, MIDDLE_SEVERITY, 0)
    predicted = predict_proba(model, preprocess(variant, faces)).argmax(axis=1)
    return {label_set: score_split(subset, predicted, label_set).accuracy for label_set in label_sets(subset)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="FER2013 with its original pixels")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--run-root", default="runs/preprocessing")
    args = parser.parse_args()

    import keras

    from fer_lib.strong_cnn import StrongConfig, build_strong_cnn
    from fer_lib.training import BEST_FILE, read_history, set_seed, train

    dataset = load_fer2013(args.data, progress=False)
    if dataset.is_demo:
        print("bench_preprocessing: needs FER2013 (--data)", file=sys.stderr)
        return 2
    splits = dataset.split()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    results = json.loads((OUTPUT / "preprocessing.json").read_text()) if (OUTPUT / "preprocessing.json").is_file() else {}
    rows = {row["preprocessing"]: row for row in results.get("rows", [])}
    for variant in args.variants:
        run = Path(args.run_root) / variant
        ready = {name: Subset(preprocess(variant, subset.x), subset.y, subset.votes)
                 for name, subset in (("train", splits.train), ("validation", splits.validation))}
        config = StrongConfig(epochs=args.epochs, warmup_epochs=1, precision="bfloat16",
                              contrast_normalization=variant == "contrast")
        set_seed(0)
        start = time.perf_counter()
        train(build_strong_cnn(config, len(ready["train"])), ready["train"], ready["validation"], run, config,
              reuse=True, verbose=2)
        seconds = time.perf_counter() - start
        history = read_history(run)
        shutil.copy(run / "history.csv", OUTPUT / f"history_{variant}.csv")
        model = keras.models.load_model(run / BEST_FILE, compile=False)
        validation, test = read(model, variant, splits.validation), read(model, variant, splits.test)
        under = {name: read(model, variant, splits.test, name)["fer2013"] for name in (*CONDITIONS, *HELD_OUT)}
        rows[variant] = {
            "preprocessing": variant,
            "best_epoch": int(history["val_accuracy"].idxmax()) + 1,
            "privatetest": validation["fer2013"],
            "publictest": test["fer2013"],
            "publictest_ferplus": test.get("ferplus"),
            "privatetest_ferplus": validation.get("ferplus"),
            f"mean_severity_{MIDDLE_SEVERITY}": float(np.mean([under[name] for name in CONDITIONS])),
            f"drop_severity_{MIDDLE_SEVERITY}": {name: test["fer2013"] - accuracy for name, accuracy in under.items()},
            "seconds": round(seconds, 1),
        }
        print(json.dumps(rows[variant]), flush=True)
        results = {"rows": [rows[name] for name in VARIANTS if name in rows], "data": dataset.source,
                   "epochs": args.epochs, "recipe": "StrongConfig, bfloat16, warm-up 1 epoch, seed 0",
                   "read": "best epoch by PrivateTest, no test-time options; conditions at severity "
                           f"{MIDDLE_SEVERITY}, seed 0, applied before the preprocessing"}
        (OUTPUT / "preprocessing.json").write_text(json.dumps(results, indent=2) + "\n")
        (OUTPUT / "preprocessing_summary.json").write_text(json.dumps({"rows": summary(results)}, indent=2) + "\n")
    return 0


def summary(results: dict) -> list[dict]:
    """One row per preprocessing, in %: PrivateTest (which chooses), PublicTest with both label sets, the mean at the
    middle severity and the points lost in the dark conditions."""
    rows = []
    for row in results["rows"]:
        lost = row[f"drop_severity_{MIDDLE_SEVERITY}"]
        rows.append({"preprocessing": row["preprocessing"], "PrivateTest": round(100 * row["privatetest"], 1),
                     "PublicTest": round(100 * row["publictest"], 1),
                     "PublicTest, FER+ majority": round(100 * row["publictest_ferplus"], 1),
                     f"mean at severity {MIDDLE_SEVERITY}": round(100 * row[f"mean_severity_{MIDDLE_SEVERITY}"], 1),
                     **{f"{name}: points lost": round(100 * lost[name], 1)
                        for name in ("low_light", "dark+angle", "dim_camera", "glasses")}})
    return rows


if __name__ == "__main__":
    sys.exit(main())
