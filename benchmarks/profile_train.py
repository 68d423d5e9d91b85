"""Where a training step of the strong recipe goes: oneDNN's kernels by kind, against the step's wall time.

    python benchmarks/profile_train.py [--steps 12] [--precision float32 bfloat16]

For each precision, a child process trains the strong recipe (StrongConfig's defaults, random faces, batch 64)
for two epochs of `--steps` steps with ONEDNN_VERBOSE=1, which makes oneDNN print every kernel it runs with its
implementation and milliseconds. The second epoch, but for its first step (the pipeline's start-up), is summed per
step by kind (convolution forward, backward data, backward weights, weight reorders, pooling, matrix products);
"outside oneDNN" is the mean step's wall time less oneDNN's share of it: TensorFlow's own ops (augmentation,
BatchNorm, casts, the optimizer) and the dispatch between them. The logging slows the steps a little, so the shares
matter more than the milliseconds; where TensorFlow runs two kernels at once, oneDNN's sum can exceed the wall time
and "outside oneDNN" comes out negative.
Then a 2048x2048 matrix product in float32 and bfloat16 gives what the CPU's units can do (GFLOP/s).
Writes results/profile_train.json; its rows also name each kind's implementation (e.g. avx512_core_bf16, or
avx512_core_amx where the CPU has AMX).
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import report  # noqa: E402

CHILD = "--child"
KINDS = {("convolution", "forward_training"): "convolution forward", ("convolution", "backward_data"):
         "convolution backward (data)", ("convolution", "backward_weights"): "convolution backward (weights)",
         ("reorder", "undef"): "reorders (weight layouts)", ("pooling", "forward_training"): "pooling",
         ("pooling", "backward_data"): "pooling"}


def mark(line: str) -> None:
    """Write `line` to stdout after everything oneDNN (C's stdio) and Python have buffered."""
    ctypes.CDLL(None).fflush(None)
    sys.stdout.flush()
    os.write(1, (line + "\n").encode())


def child(steps: int, precision: str) -> None:
    """Train two epochs and print one JSON line of the second epoch's step times (oneDNN prints the rest)."""
    import keras
    import numpy as np

    from fer_lib.dataset import Subset
    from fer_lib.strong_cnn import StrongConfig, build_strong_cnn
    from fer_lib.training import make_dataset, set_seed

    set_seed(0)
    rng = np.random.default_rng(0)
    faces = Subset(rng.integers(0, 256, (64 * steps, 48, 48), dtype=np.uint8), rng.integers(0, 7, 64 * steps))
    model = build_strong_cnn(StrongConfig(precision=precision), 28_709)

    class Steps(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            mark(f"EPOCH {epoch}")
            self.times = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())
            if batch == 0:
                mark("FIRST STEP DONE")

    timer = Steps()
    model.fit(make_dataset(faces, 64, shuffle_seed=0), epochs=2, verbose=0, callbacks=[timer])
    mark("STEPS " + json.dumps(np.diff(timer.times).tolist()))


def profile(steps: int, precision: str) -> list[dict]:
    env = os.environ | {"ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, __file__, CHILD, str(steps), precision], env=env, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    second = out[out.index("EPOCH 1"):]
    timed = second[second.index("FIRST STEP DONE"):]
    step_seconds = json.loads(next(line for line in second if line.startswith("STEPS "))[6:])
    step_ms = 1000 * sum(step_seconds[1:]) / (steps - 1)
    milliseconds, implementations = defaultdict(float), defaultdict(set)
    for line in timed:
        fields = line.split(",")
        if line.startswith("onednn_verbose") and len(fields) > 8 and fields[3] == "exec":
            kind = KINDS.get((fields[5], fields[7]), "matrix products" if fields[5] in ("matmul", "inner_product",
                                                                                          "gemm_api") else "other oneDNN")
            milliseconds[kind] += float(fields[-1]) / (steps - 1)
            implementations[kind].add(fields[6].strip())
    rows = [{"precision": precision, "part of a step": kind, "ms_per_step": ms, "share": ms / step_ms,
             "implementation": " ".join(sorted(implementations[kind]))}
            for kind, ms in sorted(milliseconds.items(), key=lambda item: -item[1])]
    outside = step_ms - sum(milliseconds.values())
    rows.append({"precision": precision, "part of a step": "outside oneDNN", "ms_per_step": outside,
                 "share": outside / step_ms, "implementation": "TensorFlow"})
    rows.append({"precision": precision, "part of a step": "mean step (wall time)", "ms_per_step": step_ms,
                 "share": 1.0, "implementation": ""})
    return rows


def matrix_product_gflops(side: int = 2048, repeats: int = 10) -> dict:
    """GFLOP/s of a side x side matrix product in TensorFlow, float32 and bfloat16: what the CPU's units give."""
    import tensorflow as tf

    speeds = {}
    for dtype in (tf.float32, tf.bfloat16):
        a = tf.cast(tf.random.stateless_normal((side, side), seed=(0, 0)), dtype)
        product = tf.function(lambda a: tf.matmul(a, a))
        product(a).numpy()
        start = time.perf_counter()
        for _ in range(repeats):
            result = product(a)
        result.numpy()
        speeds[dtype.name] = 2 * side**3 * repeats / (time.perf_counter() - start) / 1e9
    return speeds


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == CHILD:
        child(int(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--precision", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    rows = [row for precision in args.precision for row in profile(args.steps, precision)]
    report("profile_train", rows, {"steps": args.steps, "model": "strong_cnn (StrongConfig defaults), batch 64",
                                   "matrix_product_2048_gflops": matrix_product_gflops()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
