"""`python -m fer_lib {info,train,evaluate,report}`: the paper's pipeline from the command line."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .dataset import DataError, FERDataset, Splits
from .loading import load_fer2013

SPLIT_NAMES = {"train": "Training", "validation": "PrivateTest", "test": "PublicTest"}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (DataError, FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fer_lib", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def data_options(command):
        command.add_argument("--data", metavar="PATH", help="FER2013 CSV (.csv/.csv.gz) or image-folder root "
                             "(default: $FER2013_PATH, then data/; the demo dataset when none is found)")
        command.add_argument("--skip-bad-rows", action="store_true", help="skip malformed rows instead of stopping")

    info = commands.add_parser("info", help="where the data comes from, split sizes and class counts")
    data_options(info)
    info.set_defaults(command=_info)

    train = commands.add_parser("train", help="train the paper's CNN, then evaluate it on PublicTest")
    data_options(train)
    train.add_argument("--run-dir", default="runs/paper_cnn", help="run folder (default: %(default)s)")
    train.add_argument("--epochs", type=_positive, default=20, help="default: %(default)s (the paper)")
    train.add_argument("--batch-size", type=_positive, default=64, help="default: %(default)s (the paper)")
    train.add_argument("--learning-rate", type=float, default=1e-3, help="Adam; default: %(default)s (the paper)")
    train.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    train.add_argument("--train-limit", type=_positive, metavar="N", help="train on the first N Training rows only")
    train.add_argument("--overwrite", action="store_true", help="replace a finished run in --run-dir")
    train.set_defaults(command=_train)

    evaluate = commands.add_parser("evaluate", help="score a saved .keras model on one split")
    data_options(evaluate)
    evaluate.add_argument("--model", required=True, help="a .keras file, e.g. runs/paper_cnn/model.keras")
    evaluate.add_argument("--split", choices=SPLIT_NAMES, default="test",
                          help="train=Training, validation=PrivateTest, test=PublicTest (default: %(default)s)")
    evaluate.add_argument("--output", metavar="JSON", help="also write the numbers to this JSON file")
    evaluate.set_defaults(command=_evaluate)

    report = commands.add_parser("report", help="a run's results as the Markdown table the README shows")
    report.add_argument("metrics", help="a run's metrics.json")
    report.set_defaults(command=_report)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _load(args) -> FERDataset:
    return load_fer2013(args.data, strict=not args.skip_bad_rows)


def _info(args) -> int:
    dataset = _load(args)
    print(f"source: {dataset.source}{'  (DEMO dataset, not FER2013)' if dataset.is_demo else ''}")
    counts = dataset.class_counts()
    counts["total"] = counts.sum(axis=1)
    print(counts.to_string())
    return 0


def _train(args) -> int:
    from .model import build_paper_cnn
    from .training import TrainConfig, set_seed, train

    dataset = _load(args)
    splits = dataset.split()
    splits = Splits(splits.train.head(args.train_limit), splits.validation, splits.test)
    for name, subset in vars(splits).items():
        if len(subset) == 0:
            raise DataError(f"{dataset.source}: the {name} split ({SPLIT_NAMES[name]} rows) is empty")
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed)
    started = time.perf_counter()
    set_seed(config.seed)  # before building: the initial weights come from the seed too
    train(build_paper_cnn(config.learning_rate), splits.train, splits.validation, args.run_dir, config,
          overwrite=args.overwrite, verbose=2)
    metrics = write_run_metrics(args.run_dir, dataset, splits, config, time.perf_counter() - started)
    print(summary(metrics))
    return 0


def write_run_metrics(run_dir, dataset: FERDataset, splits: Splits, config, seconds: float) -> dict:
    """Evaluate a finished run's final and best models on PublicTest and PrivateTest; write metrics.json."""
    import keras
    import tensorflow as tf

    from . import __version__
    from .evaluation import evaluate
    from .training import BEST_FILE, METRICS_FILE, MODEL_FILE, read_history

    run_dir = Path(run_dir)
    history = read_history(run_dir)
    best_row = history.loc[history["val_accuracy"].idxmax()]
    metrics = {
        "dataset": {
            "source": dataset.source,
            "is_demo": dataset.is_demo,
            "rows": {name: len(subset) for name, subset in vars(splits).items()},
            "split": "Training -> train, PrivateTest -> validation, PublicTest -> test",
        },
        "config": vars(config) | {"model": "paper_cnn"},
        "training_seconds": round(seconds, 1),
        "epochs_run": len(history),
        "last_epoch": {"train_accuracy": float(history["accuracy"].iloc[-1]),
                       "val_accuracy": float(history["val_accuracy"].iloc[-1])},
        "versions": {"fer_lib": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    for key, file, epoch in (("final", MODEL_FILE, int(history["epoch"].iloc[-1])), ("best", BEST_FILE, int(best_row["epoch"]))):
        model = keras.models.load_model(run_dir / file)
        metrics[key] = {
            "file": file,
            "epoch": epoch + 1,
            "validation_accuracy": evaluate(model, splits.validation).accuracy,
            "test": evaluate(model, splits.test).to_dict(),
        }
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def summary(metrics: dict) -> str:
    """A few lines: PublicTest accuracy of the final and best models, and per-class recall of the final one."""
    demo = "  [DEMO dataset, not FER2013]" if metrics["dataset"]["is_demo"] else ""
    lines = [f"data: {metrics['dataset']['source']}{demo}"]
    for key in ("final", "best"):
        m = metrics[key]
        lines.append(f"{key:5s} model (epoch {m['epoch']}): PublicTest accuracy {m['test']['accuracy']:.4f}, "
                     f"PrivateTest {m['validation_accuracy']:.4f}")
    per_class = metrics["final"]["test"]["per_class"]
    lines.append("final, per-class PublicTest accuracy: " + ", ".join(f"{e} {v['recall']:.3f}" for e, v in per_class.items()))
    return "\n".join(lines)


def _report(args) -> int:
    print(markdown_report(json.loads(Path(args.metrics).read_text())))
    return 0


def markdown_report(metrics: dict) -> str:
    """PublicTest accuracy overall and per class for the final and best models, next to the paper's claims."""
    final, best = metrics["final"], metrics["best"]
    demo = " (DEMO dataset, not FER2013)" if metrics["dataset"]["is_demo"] else ""
    rows = metrics["dataset"]["rows"]
    lines = [
        f"Data: {Path(metrics['dataset']['source']).name}{demo}; {rows['train']} train / {rows['validation']} "
        f"validation (PrivateTest) / {rows['test']} test (PublicTest) rows; {metrics['epochs_run']} epochs, "
        f"batch {metrics['config']['batch_size']}, seed {metrics['config']['seed']}, "
        f"{metrics['training_seconds'] / 60:.0f} min of training.",
        "",
        f"| | final model (epoch {final['epoch']}, the paper's protocol) | best by PrivateTest (epoch {best['epoch']}) |",
        "|---|---|---|",
        f"| PublicTest accuracy | **{final['test']['accuracy']:.1%}** | **{best['test']['accuracy']:.1%}** |",
        f"| PrivateTest accuracy | {final['validation_accuracy']:.1%} | {best['validation_accuracy']:.1%} |",
    ]
    for emotion, scores in final["test"]["per_class"].items():
        lines.append(f"| {emotion} (PublicTest recall, n={scores['support']}) | {scores['recall']:.1%} | "
                     f"{best['test']['per_class'][emotion]['recall']:.1%} |")
    lines += [
        f"| training accuracy, last epoch | {metrics['last_epoch']['train_accuracy']:.3f} | |",
        "",
        f"The paper claims every emotion is recognized with 76%-100% accuracy and a training accuracy of about "
        f"0.99; here {sum(v['recall'] >= 0.76 for v in final['test']['per_class'].values())} of 7 emotions reach 76% "
        f"on PublicTest (final model), and training accuracy ends at {metrics['last_epoch']['train_accuracy']:.3f}.",
    ]
    return "\n".join(lines)


def _evaluate(args) -> int:
    import keras

    from .evaluation import evaluate

    if not Path(args.model).is_file():
        raise FileNotFoundError(f"{args.model}: no such model file")
    dataset = _load(args)
    subset = dataset.subset(SPLIT_NAMES[args.split])
    if len(subset) == 0:
        raise DataError(f"{dataset.source}: no {SPLIT_NAMES[args.split]} rows to evaluate on")
    result = evaluate(keras.models.load_model(args.model), subset)
    print(f"{SPLIT_NAMES[args.split]} ({len(subset)} faces{', DEMO dataset' if dataset.is_demo else ''}): "
          f"accuracy {result.accuracy:.4f}")
    print(result.per_class.round(4).to_string())
    if args.output:
        Path(args.output).write_text(json.dumps({"model": args.model, "source": dataset.source,
                                                 "is_demo": dataset.is_demo, "usage": SPLIT_NAMES[args.split]}
                                                | result.to_dict(), indent=2) + "\n")
    return 0

