"""Training with the paper's recipe (section 6): a tf.data pipeline, fixed seeds and a resumable run folder.

A run folder holds:
    model.keras   the model after the last epoch      best.keras  the best epoch by validation accuracy
    history.csv   one row per epoch                   metrics.json  written by the caller (see cli.py)
    logs/         TensorBoard logs (with the graph)   backup/     BackupAndRestore state, while unfinished
A run that is killed part-way resumes from its last finished epoch when started again on the same folder.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import EMOTIONS, Subset

MODEL_FILE, BEST_FILE, HISTORY_FILE, METRICS_FILE = "model.keras", "best.keras", "history.csv", "metrics.json"
LOG_DIR, BACKUP_DIR = "logs", "backup"


@dataclass(frozen=True)
class TrainConfig:
    """The paper's recipe: Adam 1e-3, batch 64, 20 epochs; `seed` fixes weights and shuffling."""

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be positive, got {self.learning_rate}")


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_dataset(subset: Subset, batch_size: int, *, shuffle_seed: int | None = None):
    """A tf.data pipeline of (float32 faces (B, 48, 48, 1) in [0, 1], one-hot labels) batches.

    The uint8 faces stay in memory once; each batch is gathered by index, then normalized in-graph,
    so shuffling costs an index permutation rather than a copy of every image.
    """
    import tensorflow as tf

    if len(subset) == 0:
        raise ValueError("make_dataset: the subset is empty")
    faces = tf.constant(subset.x)
    labels = tf.constant(subset.y.astype(np.int32))
    indices = tf.data.Dataset.range(len(subset))
    if shuffle_seed is not None:
        indices = indices.shuffle(len(subset), seed=shuffle_seed, reshuffle_each_iteration=True)

    def gather(batch):
        x = tf.cast(tf.gather(faces, batch), tf.float32)[..., tf.newaxis] / 255.0
        return x, tf.one_hot(tf.gather(labels, batch), len(EMOTIONS))

    return indices.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def train(model, train: Subset, validation: Subset, run_dir: str | Path, config: TrainConfig = TrainConfig(),
          *, overwrite: bool = False, callbacks=(), verbose: int | str = "auto") -> pd.DataFrame:
    """Fit `model` (compiled) on `train`, validating on `validation`; returns the history (one row per epoch).

    For reproducible numbers call set_seed(config.seed) before building `model` (its initial weights).
    Resumes an unfinished run in `run_dir`; refuses to touch a finished one unless `overwrite`.
    `callbacks` are extra Keras callbacks, called after the run folder's own.
    """
    import keras

    run_dir = Path(run_dir)
    if overwrite and run_dir.exists():
        for name in (MODEL_FILE, BEST_FILE, HISTORY_FILE, METRICS_FILE, LOG_DIR, BACKUP_DIR):
            target = run_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    resuming = (run_dir / BACKUP_DIR).is_dir()
    if not resuming and (run_dir / MODEL_FILE).exists():
        raise FileExistsError(f"{run_dir} already holds a finished run; choose another run folder or overwrite it "
                              "(python -m fer_lib train --overwrite; make run TRAIN_ARGS=--overwrite)")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:
        (run_dir / HISTORY_FILE).unlink(missing_ok=True)  # left by a run that died before its first epoch ended

    set_seed(config.seed)
    best_so_far = read_history(run_dir)["val_accuracy"].max() if resuming and (run_dir / HISTORY_FILE).exists() else None
    run_callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / BACKUP_DIR)),
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / BEST_FILE), monitor="val_accuracy", mode="max", save_best_only=True,
            initial_value_threshold=None if best_so_far is None or np.isnan(best_so_far) else float(best_so_far),
        ),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / LOG_DIR), write_graph=True),
    ]
    model.fit(
        make_dataset(train, config.batch_size, shuffle_seed=config.seed),
        validation_data=make_dataset(validation, config.batch_size),
        epochs=config.epochs,
        shuffle=False,  # the pipeline shuffles, seeded
        callbacks=[*run_callbacks, *callbacks],
        verbose=verbose,
    )
    model.save(run_dir / MODEL_FILE)
    return read_history(run_dir)


def read_history(run_dir: str | Path) -> pd.DataFrame:
    """history.csv of a run, one row per epoch (the last record of an epoch wins after a resume)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training history (has this run finished an epoch?)")
    history = pd.read_csv(path)
    return history.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)
