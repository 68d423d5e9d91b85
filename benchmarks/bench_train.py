"""Training and prediction throughput of the paper's CNN: plain Keras on NumPy arrays against fer_lib, in one run.

    python benchmarks/bench_train.py [--data PATH] [--images 4096] [--rounds 3]

Baseline: model.fit(float32 array, one-hot array, batch_size=64) and model.predict(float32 array) with
Keras' defaults. fer_lib: its tf.data pipeline (uint8 faces gathered per batch, normalized in-graph)
for fit, and evaluation.predict_proba. Each round measures every method once, one after another, after a
warm-up; the table gives the median images/s and its ratio to the baseline. Writes results/train.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import report  # noqa: E402

from fer_lib import load_fer2013, normalize, one_hot  # noqa: E402
from fer_lib.evaluation import predict_proba  # noqa: E402
from fer_lib.model import build_paper_cnn  # noqa: E402
from fer_lib.training import make_dataset, set_seed  # noqa: E402


def images_per_second(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    dataset = load_fer2013(args.data, progress=False)
    subset = dataset.split().train.head(args.images)
    n = len(subset)
    x, y = normalize(subset.x), one_hot(subset.y)

    set_seed(0)
    plain, ours = build_paper_cnn(), build_paper_cnn()
    pipeline = make_dataset(subset, 64, shuffle_seed=0)
    # (task, method, call): the first method of each task is its baseline.
    methods = [
        ("fit", "model.fit on NumPy (baseline)", lambda: plain.fit(x, y, batch_size=64, epochs=1, verbose=0)),
        ("fit", "fer_lib tf.data pipeline", lambda: ours.fit(pipeline, epochs=1, verbose=0)),
        ("predict", "model.predict on NumPy (baseline)", lambda: plain.predict(x, verbose=0)),
        ("predict", "fer_lib predict_proba", lambda: predict_proba(ours, subset.x)),
    ]
    for _, _, call in methods:  # warm-up: tracing and graph building
        call()
    samples = [[] for _ in methods]
    for _ in range(args.rounds):
        for values, (_, _, call) in zip(samples, methods):
            values.append(images_per_second(call, n))

    rows, baselines = [], {}
    for values, (task, method, _) in zip(samples, methods):
        speed = median(values)
        baselines.setdefault(task, speed)
        rows.append({"method": f"{task}: {method}", "images_per_s": speed, "ratio": speed / baselines[task],
                     "spread": f"{min(values):.0f}-{max(values):.0f}"})
    report("train", rows, {"data": dataset.source, "is_demo": dataset.is_demo, "images": n, "rounds": args.rounds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
