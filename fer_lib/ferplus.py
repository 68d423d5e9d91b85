"""FER+ (Microsoft, MIT; Barsoum et al. 2016): ten annotators' votes for every FER2013 face, a second label set.

`fer2013new.csv` has one row per FER2013 row, in Kaggle's row order: Usage, Image name, then the votes for
neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown and NF (not a face). The votes are
attached to a dataset only when its rows line up with them (same count, same Usage row by row, and FER2013's labels
agreeing with the vote majority far above chance), so a re-ordered copy never gets another face's votes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, USAGES, DataError

FILE_NAME = "fer2013new.csv"
PATH_VARIABLE = "FERPLUS_PATH"
COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
# each FER+ column's FER2013 emotion index; contempt, unknown and NF have none
TO_EMOTION = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise", "sadness": "sad", "anger": "angry",
              "disgust": "disgust", "fear": "fear"}
COLUMN_EMOTION = np.array([EMOTIONS.index(TO_EMOTION[c]) if c in TO_EMOTION else -1 for c in COLUMNS])
# FER2013's labels agree with the FER+ majority on 64-71% of aligned rows and about 18% of shuffled ones
MIN_AGREEMENT = 0.4


def find_votes(source: str | os.PathLike | None, path: str | os.PathLike | None = None) -> Path | None:
    """The FER+ file for the dataset read from `source`: `path`, then $FERPLUS_PATH, then fer2013new.csv beside
    `source` (or inside it, for an image-folder root). None: not found."""
    for given, origin in ((path, "argument"), (os.environ.get(PATH_VARIABLE) or None, PATH_VARIABLE)):
        if given is not None:
            given = Path(given).expanduser()
            if not given.is_file():
                raise DataError(f"{given}: no such FER+ file (from {origin})")
            return given
    if source is None:
        return None
    source = Path(source)
    for folder in (source, source.parent):
        if (folder / FILE_NAME).is_file():
            return folder / FILE_NAME
    return None


def read_votes(path: str | os.PathLike, labels: np.ndarray, usage: np.ndarray) -> np.ndarray:
    """The (N, 10) uint8 votes of `path`, in COLUMNS' order, checked against a dataset's `labels` and `usage`
    (row for row); DataError, naming the file and what differs, where they do not line up."""
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable FER+ CSV ({error})") from None
    missing = [column for column in ("Usage", *COLUMNS) if column not in frame.columns]
    if missing:
        raise DataError(f"{path}: not FER+'s fer2013new.csv (no column {', '.join(missing)})")
    if len(frame) != len(labels):
        raise DataError(f"{path}: {len(frame):,} rows, the dataset {len(labels):,}; FER+ needs FER2013's rows, all "
                        "of them, in Kaggle's order")
    usage_names = np.array(USAGES)[usage]
    differs = np.flatnonzero(frame["Usage"].to_numpy() != usage_names)
    if len(differs):
        row = differs[0]
        raise DataError(f"{path}: line {row + 2} is {frame['Usage'].iloc[row]}, the dataset's row {row + 1} "
                        f"{usage_names[row]}; FER+ needs FER2013's rows in Kaggle's order")
    votes = frame[list(COLUMNS)].to_numpy()
    if not np.issubdtype(votes.dtype, np.number) or np.isnan(votes).any() or votes.min() < 0:
        raise DataError(f"{path}: the vote columns must hold counts (0 or more)")
    votes = votes.astype(np.uint8)
    majority = majority_labels(votes)
    known = majority >= 0
    agreement = float((majority[known] == labels[known]).mean()) if known.any() else 0.0
    if agreement < MIN_AGREEMENT:
        raise DataError(f"{path}: FER2013's labels agree with the vote majority on {agreement:.0%} of the rows (64-71% "
                        "when row i is the same face in both); the dataset's rows are in another order than "
                        "Kaggle's, so FER+ cannot be used with it")
    return votes


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """Each row's FER+ majority as a FER2013 emotion index: the one column with the most votes, where that is one of
    the seven emotions; -1 where it is contempt, unknown or not a face, or where the most votes are tied."""
    votes = np.asarray(votes)
    top = votes.max(axis=1, keepdims=True)
    unique = (votes == top).sum(axis=1) == 1
    labels = COLUMN_EMOTION[votes.argmax(axis=1)]
    return np.where(unique & (top[:, 0] > 0), labels, -1)


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """(N, 7) float32 in EMOTIONS' order: each face's votes for the seven emotions as shares of those votes
    (contempt, unknown and not-a-face left out); a row of zeros where nobody voted for any of the seven."""
    votes = np.asarray(votes, dtype=np.float32)
    shares = np.zeros((len(votes), len(EMOTIONS)), np.float32)
    for column, emotion in enumerate(COLUMN_EMOTION):
        if emotion >= 0:
            shares[:, emotion] = votes[:, column]
    total = shares.sum(axis=1, keepdims=True)
    return np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)


def teaches(votes: np.ndarray) -> np.ndarray:
    """Whether each face's votes can teach an emotion: more votes for the seven emotions than for "unknown" and
    "not a face" together (28,463 of FER2013's 28,709 Training faces; the rest are mostly not faces at all)."""
    votes = np.asarray(votes, dtype=np.int64)
    emotions = votes[:, COLUMN_EMOTION >= 0].sum(axis=1)
    return emotions > votes[:, COLUMNS.index("unknown")] + votes[:, COLUMNS.index("NF")]
