"""Test-set numbers: accuracy, per-class recall (the paper's per-emotion accuracy) and precision, confusion matrix."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import EMOTIONS, Subset

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


def evaluate(model, subset: Subset) -> Evaluation:
    """Score `model` on a split."""
    from .inference import predict_proba

    return score(subset.y, predict_proba(model, subset.x).argmax(axis=1))
