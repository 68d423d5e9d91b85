"""Training throughput of candidate stronger-model recipes against the shipped one (strong_cnn), in one run: what
fits issue 4's CPU budget (2.5 h) before spending it.

    python benchmarks/bench_recipes.py [--data PATH] [--images 2048] [--rounds 2] [--epochs 36]

Each recipe is StrongConfig with a few fields changed, trained with fer_lib's pipeline (model.fit on make_dataset,
its augmentation layers active). Each round trains every recipe for one pass over the same images, one after
another, after a warm-up pass; the table gives the median images/s, the ratio to the shipped recipe, and the hours
`--epochs` passes over the 28,709 Training faces would take at that speed. Writes results/recipes.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn  # noqa: E402
from fer_lib.training import make_dataset, set_seed  # noqa: E402

TRAINING_FACES = 28_709
RECIPES = {  # the first is the baseline: the recipe strong_cnn was trained with
    "shipped: 32-256, convs 1,1,2,2, SGD": {},
    "2 convs per stage (the issue's calibration net)": {"convs_per_stage": (2, 2, 2, 2)},
    "2 convs per stage, AdamW, dropout/erasing 0.25": {"convs_per_stage": (2, 2, 2, 2), "optimizer": "adamw",
                                                        "learning_rate": 1e-3, "dropout": 0.25, "erasing": 0.25},
    "64-512, 2 convs per stage (Khaireddin & Chen)": {"widths": (64, 128, 256, 512), "convs_per_stage": (2, 2, 2, 2)},
    "shipped on 40x40 windows, whole-pixel shift and zoom (--crop 40 --interpolation nearest)":
        {"crop": 40, "interpolation": "nearest"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=StrongConfig.epochs, help="for the projected hours")
    args = parser.parse_args()
    dataset = load_fer2013(args.data, progress=False)
    subset = dataset.split().train.head(args.images)
    pipeline = make_dataset(subset, 64, shuffle_seed=0)

    models = {}
    for name, change in RECIPES.items():
        set_seed(0)
        models[name] = build_strong_cnn(StrongConfig(**change), TRAINING_FACES)
        models[name].fit(pipeline, epochs=1, verbose=0)  # warm-up: tracing and graph building
    samples = {name: [] for name in RECIPES}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(pipeline, epochs=1, verbose=0)
            samples[name].append(len(subset) / (time.perf_counter() - start))

    baseline = median(samples[next(iter(RECIPES))])
    rows = [{"recipe": name, "parameters": models[name].count_params(), "images_per_s": median(values),
             "ratio": median(values) / baseline, f"hours_for_{args.epochs}_epochs":
             args.epochs * TRAINING_FACES / median(values) / 3600, "spread": f"{min(values):.0f}-{max(values):.0f}"}
            for name, values in samples.items()]
    report("recipes", rows, {"data": dataset.source, "is_demo": dataset.is_demo, "images": len(subset),
                             "rounds": args.rounds, "changes": {name: repr(change) for name, change in RECIPES.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
