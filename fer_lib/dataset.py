"""FER2013 in memory: the emotion names, the paper's split and its normalization (paper, section 4.2)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE


class DataError(ValueError):
    """Bad FER2013 input; the message names the file and, for a CSV, the 1-based line."""


@dataclass(frozen=True)
class Subset:
    """One split: `x` uint8 faces (N, 48, 48) and `y` integer labels (N,)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> Subset:
        """The first `n` rows (all of them when `n` is None)."""
        return self if n is None else Subset(self.x[:n], self.y[:n])

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
    a non-strict load left out; `is_demo` marks the synthetic demo dataset.
    """

    pixels: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    source: str
    is_demo: bool = False
    skipped: tuple[tuple[str, str], ...] = field(default=())

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, usage: str) -> Subset:
        """The rows whose Usage is `usage` (one of USAGES)."""
        mask = self.usage == USAGES.index(usage)
        return Subset(self.pixels[mask], self.labels[mask])

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
