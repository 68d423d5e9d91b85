"""A run's numbers: metrics.json (final and best model on PublicTest and PrivateTest), the short summary the
CLI prints, the Markdown table the README shows, and the JSON files the notebooks leave in the run folder."""
from __future__ import annotations

import json
from pathlib import Path

from .dataset import FERDataset, Splits
from .training import BEST_FILE, METRICS_FILE, MODEL_FILE, read_history

PAPER_MINIMUM_ACCURACY = 0.76  # the paper: every emotion "recognized with a minimum accuracy of 76%"


def save_numbers(run_dir, name: str, numbers: dict) -> Path:
    """Write `numbers` (NumPy scalars and arrays allowed) to <run_dir>/<name>.json; returns the path."""
    path = Path(run_dir) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(numbers, indent=2, default=_plain) + "\n")
    return path


def _plain(value):
    """NumPy values as the Python values json understands."""
    import numpy as np

    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"save_numbers: {type(value).__name__} is not JSON-serializable")


def write_run_metrics(run_dir, dataset: FERDataset, splits: Splits, config) -> dict:
    """Evaluate a finished run's final and best models on PublicTest and PrivateTest; write metrics.json.

    The training time is the sum of history.csv's `seconds`; a run trained before that column existed
    keeps the time its earlier metrics.json recorded.
    """
    import keras
    import tensorflow as tf

    from . import __version__
    from .evaluation import evaluate_all

    run_dir = Path(run_dir)
    history = read_history(run_dir)
    if "seconds" in history:
        seconds = float(history["seconds"].sum())
    elif (run_dir / METRICS_FILE).is_file():
        seconds = json.loads((run_dir / METRICS_FILE).read_text())["training_seconds"]
    else:
        raise FileNotFoundError(f"{run_dir}: history.csv has no seconds column and there is no earlier metrics.json")
    best_row = history.loc[history["val_accuracy"].idxmax()]
    metrics = {
        "dataset": {
            "source": dataset.source,
            "is_demo": dataset.is_demo,
            "rows": {name: len(subset) for name, subset in vars(splits).items()},
            "split": "Training -> train, PrivateTest -> validation, PublicTest -> test",
        },
        "config": vars(config) | {"model": config.model_name},
        "training_seconds": round(seconds, 1),
        "epochs_run": len(history),
        "last_epoch": {"train_accuracy": float(history["accuracy"].iloc[-1]),
                       "val_accuracy": float(history["val_accuracy"].iloc[-1])},
        "versions": {"fer_lib": __version__, "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    for key, file, epoch in (("final", MODEL_FILE, int(history["epoch"].iloc[-1])), ("best", BEST_FILE, int(best_row["epoch"]))):
        model = keras.models.load_model(run_dir / file)
        validation, test = evaluate_all(model, splits.validation), evaluate_all(model, splits.test)
        metrics[key] = {
            "file": file,
            "epoch": epoch + 1,
            "validation_accuracy": validation["fer2013"].accuracy,
            "test": test["fer2013"].to_dict(),
        }
        if "ferplus" in test:  # agreement with the FER+ vote majority, on the rows that have one
            metrics[key]["ferplus"] = {"validation_accuracy": validation["ferplus"].accuracy,
                                       "test": test["ferplus"].to_dict()}
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def summary(metrics: dict) -> str:
    """A few lines: PublicTest accuracy of the final and best models, and per-class recall of the final one."""
    demo = "  [DEMO dataset, not FER2013]" if metrics["dataset"]["is_demo"] else ""
    lines = [f"data: {metrics['dataset']['source']}{demo}"]
    for key in ("final", "best"):
        m = metrics[key]
        ferplus = (f"; FER+ majority: PublicTest {m['ferplus']['test']['accuracy']:.4f}, PrivateTest "
                   f"{m['ferplus']['validation_accuracy']:.4f}") if "ferplus" in m else ""
        lines.append(f"{key:5s} model (epoch {m['epoch']}): PublicTest accuracy {m['test']['accuracy']:.4f}, "
                     f"PrivateTest {m['validation_accuracy']:.4f}{ferplus}")
    per_class = metrics["final"]["test"]["per_class"]
    lines.append("final, per-class PublicTest accuracy: " + ", ".join(f"{e} {v['recall']:.3f}" for e, v in per_class.items()))
    return "\n".join(lines)


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
    if "ferplus" in final and "ferplus" in best:
        lines.append(f"| PublicTest agreement with the FER+ vote majority (n={final['ferplus']['test']['n']}) | "
                     f"{final['ferplus']['test']['accuracy']:.1%} | {best['ferplus']['test']['accuracy']:.1%} |")
    for emotion, scores in final["test"]["per_class"].items():
        lines.append(f"| {emotion} (PublicTest recall, n={scores['support']}) | {scores['recall']:.1%} | "
                     f"{best['test']['per_class'][emotion]['recall']:.1%} |")
    lines += [
        f"| training accuracy, last epoch | {metrics['last_epoch']['train_accuracy']:.3f} | |",
        "",
        f"The paper claims every emotion is recognized with 76%-100% accuracy and a training accuracy of about "
        f"0.99; here {sum(v['recall'] >= PAPER_MINIMUM_ACCURACY for v in final['test']['per_class'].values())} of 7 emotions reach 76% "
        f"on PublicTest (final model), and training accuracy ends at {metrics['last_epoch']['train_accuracy']:.3f}.",
    ]
    return "\n".join(lines)


def results_table(metrics: dict) -> str:
    """The README's results: the paper's claim, its CNN as measured here (`metrics`: the committed FER2013 run) and
    each shipped model (from its card), on PublicTest and PrivateTest, and PublicTest's agreement with the FER+ vote
    majority where the run and the cards measured it."""
    from .paper_cnn import PAPER_CNN_PARAMETERS
    from .pretrained import DEFAULT, available, model_card
    from .shipping import taught

    final, best = metrics["final"], metrics["best"]

    def plus(numbers: dict, bold: bool = False) -> str:
        if "ferplus" not in numbers:
            return "not measured"
        figure = f"{numbers['ferplus']['test']['accuracy']:.1%}"
        return f"**{figure}**" if bold else figure

    lines = [
        "| | PublicTest (test) | PrivateTest (validation) | PublicTest, FER+ majority | parameters |",
        "|---|---|---|---|---|",
        "| the paper's claim | every emotion 76%-100% (no test-set figure) | | | |",
        f"| the paper's CNN, measured: last epoch (the paper's protocol) | {final['test']['accuracy']:.1%} | "
        f"{final['validation_accuracy']:.1%} | {plus(final)} | {PAPER_CNN_PARAMETERS:,} |",
        f"| the paper's CNN, best epoch by PrivateTest ({best['epoch']}) | {best['test']['accuracy']:.1%} | "
        f"{best['validation_accuracy']:.1%} | {plus(best)} | {PAPER_CNN_PARAMETERS:,} |",
    ]
    for name in available():
        card = model_card(name)
        default = ", the default" if name == DEFAULT else ""
        default += f", {len(card['members'])} networks averaged" if "members" in card else ""
        votes = taught(card) == "ferplus"  # the figure in bold: against the labels it was taught
        default += ", taught FER+'s votes" if votes else ""
        test = f"{card['test']['accuracy']:.1%}" if votes else f"**{card['test']['accuracy']:.1%}**"
        lines.append(f"| `{name}`{default}, shipped (with {card['test_time']['chosen']}) | {test} | "
                     f"{card['validation_accuracy']:.1%} | {plus(card, votes)} | {card['parameters']:,} |")
    return "\n".join(lines)
