"""Training and prediction throughput of the paper's and the strong recipe, float32 against bfloat16, in one run.

    python benchmarks/bench_train.py [--data PATH] [--images 4096] [--rounds 3]

Baselines (the first row of each task): for the paper's CNN, Keras' model.fit(float32 array, one-hot array,
batch_size=64); for the strong recipe, its float32 training as `train --model strong` ran it before `--precision`
(fer_lib's tf.data pipeline, augmentation inside the model); for prediction, model.predict(float32 array).
fer_lib's rows use its tf.data pipeline (uint8 faces gathered per batch, normalized in-graph) and
inference.predict_proba, with the network computing in float32 or bfloat16 (`train --precision`). Training speed is
the median step time over every round's epoch, leaving out each epoch's first step (the pipeline's start-up, which
now and then takes seconds); prediction times whole passes. Each round measures every method once, one after
another, after a warm-up; the table gives images/s, its ratio to the task's baseline and the spread over rounds.
Writes results/train.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import report  # noqa: E402

from fer_lib import load_fer2013, normalize, one_hot  # noqa: E402
from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn  # noqa: E402
from fer_lib.training import make_dataset, set_seed  # noqa: E402

BATCH = 64


def step_images_per_second(fit) -> float:
    """Images/s of one epoch of `fit(callbacks)`: the median step, leaving out the first."""
    import keras

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    steps = Steps()
    fit([steps])
    return BATCH / float(np.median(np.diff(steps.times)[1:]))


def pass_images_per_second(call, n: int) -> float:
    start = time.perf_counter()
    call()
    return n / (time.perf_counter() - start)


def bfloat16_units() -> str:
    """The CPU's bfloat16 instructions, as /proc/cpuinfo names them (empty where it has none or cannot tell)."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    return " ".join(flag for flag in ("avx512_bf16", "amx_bf16", "amx_tile") if flag in flags)


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
    pipeline = make_dataset(subset, BATCH, shuffle_seed=0)

    set_seed(0)
    paper = {"numpy": build_paper_cnn(), "float32": build_paper_cnn(), "bfloat16": build_paper_cnn(precision="bfloat16")}
    strong = {precision: build_strong_cnn(StrongConfig(precision=precision), n) for precision in ("float32", "bfloat16")}

    def fit(model, **inputs):
        return lambda callbacks: model.fit(**inputs, epochs=1, verbose=0, callbacks=callbacks)

    # (task, method, measure): the first method of each task is its baseline.
    methods = [
        ("fit paper_cnn", "model.fit on NumPy, float32 (baseline)",
         lambda: step_images_per_second(fit(paper["numpy"], x=x, y=y, batch_size=BATCH))),
        *((("fit paper_cnn", f"fer_lib pipeline, {precision}",
            lambda model=model: step_images_per_second(fit(model, x=pipeline)))) for precision, model in
          (("float32", paper["float32"]), ("bfloat16", paper["bfloat16"]))),
        *((("fit strong_cnn", f"fer_lib pipeline, {precision}{' (baseline)' * (precision == 'float32')}",
            lambda model=model: step_images_per_second(fit(model, x=pipeline)))) for precision, model in strong.items()),
        ("predict strong_cnn", "model.predict on NumPy, float32 (baseline)",
         lambda: pass_images_per_second(lambda: strong["float32"].predict(x, verbose=0), n)),
        *((("predict strong_cnn", f"fer_lib predict_proba, {precision}",
            lambda model=model: pass_images_per_second(lambda: predict_proba(model, subset.x), n)))
          for precision, model in strong.items()),
    ]
    for _, _, measure in methods:  # warm-up: tracing and graph building
        measure()
    samples = [[] for _ in methods]
    for _ in range(args.rounds):
        for values, (_, _, measure) in zip(samples, methods):
            values.append(measure())

    rows, baselines = [], {}
    for values, (task, method, _) in zip(samples, methods):
        speed = median(values)
        baselines.setdefault(task, speed)
        rows.append({"method": f"{task}: {method}", "images_per_s": speed, "ratio": speed / baselines[task],
                     "spread": f"{min(values):.0f}-{max(values):.0f}"})
    report("train", rows, {"data": dataset.source, "is_demo": dataset.is_demo, "images": n, "rounds": args.rounds,
                           "bfloat16_units": bfloat16_units()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
