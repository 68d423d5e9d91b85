"""FER2013 in memory: the emotion names, the paper's split and its normalization (paper, section 4.2)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
# pixel_statistics: a median histogram distance from flat under this marks faces equalized one by one (measured:
# Kaggle's FER2013 0.25, a copy equalized image by image 0.04)
EQUALIZED_FLATNESS = 0.1


class DataError(ValueError):
    """Bad FER2013 input; the message names the file and, for a CSV, the 1-based line."""


@dataclass(frozen=True)
class Subset:
    """One split: `x` uint8 faces (N, 48, 48), `y` integer labels (N,) and, where the dataset has them, `votes`: FER+'s
    ten annotators' votes per face (N, 10), in fer_lib.ferplus.COLUMNS' order."""

    x: np.ndarray
    y: np.ndarray
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> Subset:
        """The first `n` rows (all of them when `n` is None)."""
        return self.rows(0, n)

    def rows(self, start: int = 0, n: int | None = None) -> Subset:
        """`n` rows from row `start` (to the end when `n` is None)."""
        if start == 0 and n is None:
            return self
        end = None if n is None else start + n
        return Subset(self.x[start:end], self.y[start:end], None if self.votes is None else self.votes[start:end])

    def mean_faces(self) -> np.ndarray:
        """The average face of each emotion, float32 (7, 48, 48) in [0, 255] (zeros for an absent emotion)."""
        return np.stack([self.x[self.y == k].mean(axis=0) if (self.y == k).any() else np.zeros(self.x.shape[1:])
                         for k in range(len(EMOTIONS))]).astype(np.float32)

    def first_of_each(self, per_class: int = 1, emotions=EMOTIONS) -> np.ndarray:
        """Indices of the first `per_class` rows of each of `emotions`, in that order (fewer if a class is short)."""
        return np.concatenate([np.flatnonzero(self.y == EMOTIONS.index(e))[:per_class] for e in emotions])


@dataclass(frozen=True)
class Splits:
    """The paper's split: Training trains, PrivateTest validates, PublicTest tests."""

    train: Subset
    validation: Subset
    test: Subset


@dataclass(frozen=True)
class FERDataset:
    """Every row of a FER2013 source, in file order.

    `usage` holds indices into USAGES; `skipped` lists (line or file, reason) for the rows
    a non-strict load left out; `is_demo` marks the synthetic demo dataset; `votes`: FER+'s votes per row, where
    the dataset lines up with them (fer_lib.ferplus), else None.
    """

    pixels: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str
    is_demo: bool = False
    skipped: tuple[tuple[str, str], ...] = field(default=())
    votes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, usage: str) -> Subset:
        """The rows whose Usage is `usage` (one of USAGES)."""
        mask = self.usage == USAGES.index(usage)
        return Subset(self.pixels[mask], self.labels[mask], None if self.votes is None else self.votes[mask])

    def split(self) -> Splits:
        """Training -> train, PrivateTest -> validation, PublicTest -> test (paper, section 4.2)."""
        return Splits(
            train=self.subset("Training"),
            validation=self.subset("PrivateTest"),
            test=self.subset("PublicTest"),
        )

    def to_frame(self, n: int | None = None, *, pixels: bool = True):
        """The first `n` rows (all when None) in the Kaggle CSV's layout: emotion, pixels, Usage (paper, Fig. 3).

        `pixels=False` puts the number of pixel values in place of the values themselves.
        """
        import pandas as pd

        rows = slice(None) if n is None else slice(n)
        faces = self.pixels[rows]
        return pd.DataFrame({
            "emotion": self.labels[rows],
            "pixels": [" ".join(map(str, face.ravel())) if pixels else f"({face.size} values, not shown)" for face in faces],
            "Usage": [USAGES[u] for u in self.usage[rows]],
        })

    def pixel_statistics(self, faces: int = 5000) -> dict:
        """The pixels' mean and standard deviation, and of the first `faces` faces: the spread of their means, their
        average contrast (standard deviation) and the median distance of their histograms from a flat one (the
        largest gap between the cumulative histogram and a straight line, 0-1). `equalized`: that distance is under
        EQUALIZED_FLATNESS, as for faces histogram-equalized one by one (some image-folder copies of FER2013)."""
        pixels = self.pixels[:faces].reshape(min(faces, len(self)), -1)
        values = pixels.astype(np.float32)
        counts = np.stack([np.bincount(face, minlength=256) for face in pixels]) if len(pixels) else np.zeros((0, 256))
        cumulative = counts.cumsum(axis=1) / max(pixels.shape[1], 1)
        flatness = float(np.median(np.abs(cumulative - np.arange(1, 257) / 256).max(axis=1))) if len(pixels) else 0.0
        return {"mean": float(self.pixels.mean()) if len(self) else 0.0,
                "std": float(self.pixels.std()) if len(self) else 0.0,
                "faces": len(pixels),
                "face_mean_spread": float(values.mean(axis=1).std()) if len(pixels) else 0.0,
                "face_std": float(values.std(axis=1).mean()) if len(pixels) else 0.0,
                "flatness": flatness, "equalized": bool(len(pixels)) and flatness < EQUALIZED_FLATNESS}

    def class_counts(self):
        """A DataFrame of row counts: one row per Usage, one column per emotion."""
        import pandas as pd

        counts = np.zeros((len(USAGES), len(EMOTIONS)), dtype=np.int64)
        np.add.at(counts, (self.usage, self.labels), 1)
        return pd.DataFrame(counts, index=pd.Index(USAGES, name="Usage"), columns=list(EMOTIONS))


def normalize(x: np.ndarray) -> np.ndarray:
    """uint8 faces (N, 48, 48) -> float32 in [0, 1], shaped (N, 48, 48, 1) (paper, section 4.2)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"normalize: expected faces shaped (N, 48, 48), got {x.shape}")
    return (x.astype(np.float32) / 255.0)[..., np.newaxis]


def one_hot(y: np.ndarray) -> np.ndarray:
    """Integer labels -> float32 one-hot rows, as keras.utils.to_categorical gives."""
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= len(EMOTIONS)):
        raise ValueError(f"one_hot: labels must lie in 0..{len(EMOTIONS) - 1}, got {y.min()}..{y.max()}")
    return np.eye(len(EMOTIONS), dtype=np.float32)[y.astype(np.int64)]
