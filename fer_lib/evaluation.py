"""Test-set numbers: accuracy, per-class recall (the paper's per-emotion accuracy) and precision, confusion matrix;
against FER2013's labels or, where a split has FER+'s votes, against their majority (LABEL_SETS)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import EMOTIONS, Subset
from .ferplus import majority_labels

# the label sets a split can be scored against: FER2013's own label, or the FER+ vote majority (rows where it is one
# of the seven emotions; fer_lib.ferplus.majority_labels)
LABEL_SETS = ("fer2013", "ferplus")

@dataclass(frozen=True)
class Evaluation:
    """`per_class` has one row per emotion (support, recall, precision); `confusion` is true x predicted."""

    accuracy: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame

    def to_dict(self) -> dict:
        """JSON-ready: accuracy, per-class dicts and the confusion matrix as nested lists."""
        return {
            "accuracy": self.accuracy,
            "n": int(self.per_class["support"].sum()),
            "per_class": {
                emotion: {key: (int(v) if key == "support" else float(v)) for key, v in row.items()}
                for emotion, row in self.per_class.iterrows()
            },
            "confusion": {"labels": list(EMOTIONS), "rows_true_columns_predicted": self.confusion.values.tolist()},
        }


def score(y_true: np.ndarray, y_pred: np.ndarray) -> Evaluation:
    """Compare integer labels. A class never predicted has precision 0; one never present has recall 0."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"score: need two equal, non-empty 1-D label arrays, got {y_true.shape} and {y_pred.shape}")
    k = len(EMOTIONS)
    if min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k:
        raise ValueError(f"score: labels must lie in 0..{k - 1}")
    confusion = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    hits = np.diag(confusion)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    per_class = pd.DataFrame(
        {
            "support": support,
            "recall": np.divide(hits, support, out=np.zeros(k), where=support > 0),
            "precision": np.divide(hits, predicted, out=np.zeros(k), where=predicted > 0),
        },
        index=pd.Index(EMOTIONS, name="emotion"),
    )
    frame = pd.DataFrame(
        confusion, index=pd.Index(EMOTIONS, name="true"), columns=pd.Index(EMOTIONS, name="predicted")
    )
    return Evaluation(accuracy=float(hits.sum() / len(y_true)), per_class=per_class, confusion=frame)


def labels(subset: Subset, label_set: str = "fer2013") -> np.ndarray:
    """`subset`'s labels in `label_set` (one of LABEL_SETS), -1 where a row has none; ValueError naming what is
    missing where the split has no FER+ votes."""
    if label_set not in LABEL_SETS:
        raise ValueError(f"labels {label_set!r}: choose from {', '.join(LABEL_SETS)}")
    if label_set == "fer2013":
        return np.asarray(subset.y)
    if subset.votes is None:
        raise ValueError("labels 'ferplus': this dataset has no FER+ votes (put fer2013new.csv beside it or set "
                         "FERPLUS_PATH; they need FER2013's rows in Kaggle's order)")
    return majority_labels(subset.votes)


def labelled(subset: Subset, label_set: str = "fer2013") -> Subset:
    """`subset` scored against `label_set`: as it is for FER2013's labels; for FER+'s, only the rows whose vote
    majority is one of the seven emotions, labelled by it (the same ValueError as `labels`)."""
    label = labels(subset, label_set)
    if label_set == "fer2013":
        return subset
    kept = label >= 0
    return Subset(subset.x[kept], label[kept], subset.votes[kept])


def label_sets(subset: Subset) -> tuple[str, ...]:
    """The label sets `subset` can be scored against."""
    return LABEL_SETS if subset.votes is not None else LABEL_SETS[:1]


def score_split(subset: Subset, y_pred: np.ndarray, label_set: str = "fer2013") -> Evaluation:
    """Predicted labels for every row of `subset`, scored against `label_set` on the rows that have a label."""
    y_true = labels(subset, label_set)
    kept = y_true >= 0
    return score(y_true[kept], np.asarray(y_pred)[kept])


def evaluate(model, subset: Subset, label_set: str = "fer2013") -> Evaluation:
    """Score `model` on a split, against `label_set`."""
    return evaluate_all(model, subset, (label_set,))[label_set]


def evaluate_all(model, subset: Subset, sets: tuple[str, ...] | None = None) -> dict[str, Evaluation]:
    """Score `model` on a split against each of `sets` (default: every label set the split has), predicting once."""
    from .inference import predict_proba

    sets = label_sets(subset) if sets is None else sets
    for label_set in sets:
        labels(subset, label_set)  # a missing label set fails before the predictions
    y_pred = predict_proba(model, subset.x).argmax(axis=1)
    return {label_set: score_split(subset, y_pred, label_set) for label_set in sets}
