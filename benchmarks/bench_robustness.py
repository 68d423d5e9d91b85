"""The special-conditions benchmark for several models side by side: PublicTest accuracy per condition and
severity, each model's drop against its own clean accuracy, and its mean over all conditions and severities.

    python benchmarks/bench_robustness.py --model NAME=PATH [--model NAME=PATH ...] [--data PATH] [--rows N]

Writes results/robustness.json. (One model alone: python -m fer_lib robustness --model PATH.)
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.robustness import benchmark, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH", help="a .keras model, named")
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, help="only the first N PublicTest faces")
    args = parser.parse_args()
    import keras

    models = dict(item.split("=", 1) for item in args.model)
    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").head(args.rows)
    tables = {name: benchmark(keras.models.load_model(path, compile=False), test) for name, path in models.items()}
    first = next(iter(tables.values()))
    rows = []
    for i, (condition, severity) in enumerate(zip(first["condition"], first["severity"])):
        row = {"condition": condition, "severity": severity}
        for name, table in tables.items():
            row[f"{name} accuracy"] = round(float(table["accuracy"][i]), 4)
            row[f"{name} drop"] = round(float(table["drop"][i]), 4)
        rows.append(row)
    summaries = {name: summary(table) for name, table in tables.items()}
    report("robustness", rows, {
        "mean_accuracy": {name: round(s["mean_accuracy"], 4) for name, s in summaries.items()},
        "summaries": summaries, "models": models, "source": dataset.source, "is_demo": dataset.is_demo,
        "faces": len(test),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
