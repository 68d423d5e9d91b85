"""Training with the paper's recipe (section 6): a tf.data pipeline, fixed seeds and a resumable run folder.

A run folder holds:
    model.keras   the model after the last epoch      best.keras  the best epoch by validation accuracy
    history.csv   one row per epoch (with its seconds)  metrics.json  written by report.write_run_metrics
    logs/         TensorBoard logs (with the graph; TensorFlow backend)   backup/     BackupAndRestore state, while unfinished
A run that is killed part-way resumes from its last finished epoch when started again on the same folder.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import EMOTIONS, DataError, Subset, one_hot

MODEL_FILE, BEST_FILE, HISTORY_FILE, METRICS_FILE = "model.keras", "best.keras", "history.csv", "metrics.json"
LOG_DIR, BACKUP_DIR = "logs", "backup"
# a recipe's `precision` -> the Keras dtype policy it trains under: weights float32, compute in the named type
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
# what a recipe's `targets` teaches each face (issue 44); "ferplus" and "mix" need FER+'s votes (fer_lib.ferplus)
TARGETS = {"fer2013": "FER2013's label, one-hot (the paper's protocol)",
           "ferplus": "FER+'s ten votes as a distribution over the seven emotions",
           "mix": "the mean of the two"}
TEACHER_WEIGHT = 0.5  # a recipe's `teacher_weight` default: the teachers' share of each face's target


@dataclass(frozen=True)
class TrainConfig:
    """The paper's recipe: Adam 1e-3, batch 64, 20 epochs; `seed` fixes weights and shuffling."""

    model_name = "paper_cnn"  # not a field: how metrics.json names the model

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 1e-3
    precision: str = "float32"
    targets: str = "fer2013"
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig.learning_rate must be positive, got {self.learning_rate}")
        check_precision(self)
        check_targets(self)


def check_precision(config) -> None:
    """Refuse a recipe whose `precision` is not one of PRECISIONS."""
    if config.precision not in PRECISIONS:
        raise ValueError(f"{type(config).__name__}.precision must be one of {', '.join(PRECISIONS)}, "
                         f"got {config.precision!r}")


def in_precision(network, precision: str):
    """`network` with its convolutions, dense layers and normalizations computing in `precision` (its input layers
    and softmax stay float32): a copy with the same weights, or `network` itself where they already do."""
    import keras
    from keras import layers

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    computing = (layers.Conv2D, layers.BatchNormalization, layers.ReLU, layers.MaxPooling2D, layers.Flatten,
                 layers.Dropout, layers.Dense)

    def computes(layer) -> bool:
        return isinstance(layer, computing) and layer.get_config().get("activation") != "softmax"

    if all(layer.dtype_policy.name == PRECISIONS[precision] for layer in network.layers if computes(layer)):
        return network

    def clone(layer):
        config = layer.get_config()
        if computes(layer):
            config["dtype"] = PRECISIONS[precision]
        return type(layer).from_config(config)

    copy = keras.models.clone_model(network, clone_function=clone)
    copy.set_weights(network.get_weights())
    return copy


def check_targets(config) -> None:
    """Refuse a recipe whose `targets` is not one of TARGETS."""
    if config.targets not in TARGETS:
        raise ValueError(f"{type(config).__name__}.targets must be one of {', '.join(TARGETS)}, got {config.targets!r}")


def with_targets(subset: Subset, targets: str) -> Subset:
    """The rows of `subset` that `targets` can teach: all of them for "fer2013"; for "ferplus" and "mix", the faces
    whose FER+ votes name an emotion (ferplus.teaches: about 0.9% of FER2013 is "not a face" or "unknown").
    DataError where those targets need votes the subset lacks."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {', '.join(TARGETS)}, got {targets!r}")
    if targets == "fer2013":
        return subset
    if subset.votes is None:
        raise DataError(f"targets {targets!r} need FER+'s votes: put fer2013new.csv beside the data or pass --ferplus")
    from .ferplus import teaches

    keep = teaches(subset.votes)
    return Subset(subset.x[keep], subset.y[keep], subset.votes[keep])


def check_teacher(config) -> None:
    """Refuse a recipe whose `teacher` is not a tuple of model names or files, or whose `teacher_weight` is outside
    (0, 1]."""
    name = type(config).__name__
    if not isinstance(config.teacher, tuple) or not all(isinstance(t, str) and t for t in config.teacher):
        raise ValueError(f"{name}.teacher must be a tuple of shipped model names or .keras files, got {config.teacher!r}")
    if not 0 < config.teacher_weight <= 1:
        raise ValueError(f"{name}.teacher_weight must lie in (0, 1], got {config.teacher_weight}")
    if config.teacher_weight != TEACHER_WEIGHT and not config.teacher:
        raise ValueError(f"{name}.teacher_weight {config.teacher_weight} needs a teacher (--teacher)")


def teacher_probabilities(teachers, faces: np.ndarray) -> np.ndarray:
    """(N, 7) float32: the mean of `teachers`' probabilities on uint8 faces (N, 48, 48); each teacher a shipped model's
    name (read with its own test-time option) or a .keras file (read as it is)."""
    from .inference import predict_proba
    from .loading import PROJECT_ROOT
    from .pretrained import load_model

    if not teachers:
        raise ValueError("teacher_probabilities: no teacher")

    def located(teacher: str):  # recipes record files relative to the project (recipes._model_reference)
        inside = PROJECT_ROOT / teacher
        return inside if not Path(teacher).exists() and inside.is_file() else teacher

    return np.mean([predict_proba(load_model(located(t)), faces) for t in teachers], axis=0).astype(np.float32)


def training_targets(subset: Subset, config) -> np.ndarray:
    """(N, 7) float32: what each training face is taught under `config`: target_matrix of its `targets`, and where it
    names teachers (`teacher`), that mixed with their mean probabilities on the clean face, `teacher_weight` of them
    (distillation: a robust recipe's student learns to read a face under a condition as its teachers read it clean)."""
    targets = target_matrix(subset, getattr(config, "targets", "fer2013"))
    teachers = tuple(getattr(config, "teacher", ()))
    if not teachers:
        return targets
    weight = config.teacher_weight
    return (1 - weight) * targets + weight * teacher_probabilities(teachers, subset.x)


def target_matrix(subset: Subset, targets: str) -> np.ndarray:
    """(N, 7) float32: what each face of `subset` is taught under `targets` (see TARGETS); every row sums to 1.
    For "ferplus" and "mix" the subset must come from with_targets (a ValueError names the rows that do not)."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {', '.join(TARGETS)}, got {targets!r}")
    labels = one_hot(subset.y).astype(np.float32)
    if targets == "fer2013":
        return labels
    if subset.votes is None:
        raise DataError(f"targets {targets!r} need FER+'s votes: put fer2013new.csv beside the data or pass --ferplus")
    from .ferplus import teaches, vote_distribution

    silent = np.flatnonzero(~teaches(subset.votes))
    if len(silent):
        raise ValueError(f"{len(silent)} face(s) (first: row {silent[0]}) have no FER+ votes that name an emotion; "
                         "train on with_targets(subset, targets)")
    votes = vote_distribution(subset.votes)
    return votes if targets == "ferplus" else (labels + votes) / 2


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras' global dtype policy for `precision` (PRECISIONS) while the block builds a model; restored after it."""
    import keras

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISIONS[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend; on TensorFlow, also make its ops deterministic."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def distribution_strategy():
    """Where a model is built and trained: tf.distribute.MirroredStrategy over every GPU when TensorFlow sees more
    than one (each batch split between them), else TensorFlow's default strategy (one GPU, or the CPU).
    None on Keras' other backends."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus]) if len(gpus) > 1 else tf.distribute.get_strategy()


def make_dataset(subset: Subset, batch_size: int, *, shuffle_seed: int | None = None, augment=None,
                 targets: str = "fer2013", taught: np.ndarray | None = None):
    """A tf.data pipeline of (float32 faces (B, 48, 48, 1) in [0, 1], targets (B, 7)) batches: one-hot labels, or
    what `targets` teaches (target_matrix), or `taught`, a target per face of `subset` (N, 7), where given.

    The uint8 faces stay in memory once; each batch is gathered by index, then normalized in-graph,
    so shuffling costs an index permutation rather than a copy of every image.
    `augment(faces, indices)`, if given, transforms each batch's uint8 faces (B, 48, 48) in NumPy first; it should
    draw its randomness from the indices, which the seeded shuffle makes reproducible.
    """
    import tensorflow as tf

    if len(subset) == 0:
        raise ValueError("make_dataset: the subset is empty")
    faces = tf.constant(subset.x)
    if taught is not None and np.shape(taught) != (len(subset), len(EMOTIONS)):
        raise ValueError(f"make_dataset: taught must hold {len(EMOTIONS)} targets per face, shaped ({len(subset)}, "
                         f"{len(EMOTIONS)}), got {np.shape(taught)}")
    labels = tf.constant(target_matrix(subset, targets) if taught is None else np.asarray(taught, np.float32))
    indices = tf.data.Dataset.range(len(subset))
    if shuffle_seed is not None:
        indices = indices.shuffle(len(subset), seed=shuffle_seed, reshuffle_each_iteration=True)

    def gather(batch):
        x = tf.gather(faces, batch)
        if augment is not None:
            x = tf.ensure_shape(tf.numpy_function(augment, [x, batch], tf.uint8, stateful=False), [None, *subset.x.shape[1:]])
        x = tf.cast(x, tf.float32)[..., tf.newaxis] / 255.0
        return x, tf.gather(labels, batch)

    return indices.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def is_finished(run_dir: str | Path) -> bool:
    """Whether `run_dir` holds a finished run (a saved final model and no pending backup)."""
    run_dir = Path(run_dir)
    return (run_dir / MODEL_FILE).is_file() and not (run_dir / BACKUP_DIR).is_dir()


def train(model, train: Subset, validation: Subset, run_dir: str | Path, config=TrainConfig(),
          *, overwrite: bool = False, reuse: bool = False, augment=None, callbacks=(), verbose: int | str = "auto") -> pd.DataFrame:
    """Fit `model` (compiled) on `train`, validating on `validation`; returns the history (one row per epoch).

    `config` is a TrainConfig (the paper) or a strong.StrongConfig: epochs, batch_size and seed drive the fit.

    For reproducible numbers call set_seed(config.seed) before building `model` (its initial weights).
    Resumes an unfinished run in `run_dir`. A finished one is an error, unless `overwrite` (train again)
    or `reuse` (load its final weights into `model` and return its history, if it was trained with the same
    epochs, batch size, learning rate, seed and number of training rows).
    `augment` transforms the training batches (see make_dataset; TensorFlow backend only).
    `config.targets` (where the config has it) sets what each face is taught, with `config.teacher`'s probabilities
    mixed in where it names teachers (training_targets); the validation rows are those its targets can teach (with_targets),
    scored against those targets alone, so PrivateTest chooses the best epoch by the same label set. For "ferplus" and "mix",
    `train` must already be with_targets' rows (the augmentations index them).
    `callbacks` are extra Keras callbacks, called after the run folder's own.
    """
    import keras

    run_dir = Path(run_dir)
    if augment is not None and keras.backend.backend() != "tensorflow":
        raise ValueError(f"train: augment needs the TensorFlow backend, not {keras.backend.backend()}")
    if reuse and not overwrite and is_finished(run_dir):
        return _reuse(model, run_dir, config, len(train))
    if overwrite and run_dir.exists():
        for name in (MODEL_FILE, BEST_FILE, HISTORY_FILE, METRICS_FILE, LOG_DIR, BACKUP_DIR):
            target = run_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    resuming = (run_dir / BACKUP_DIR).is_dir()
    if not resuming and (run_dir / MODEL_FILE).exists():
        raise FileExistsError(f"{run_dir} already holds a finished run; choose another run folder or overwrite it "
                              "(python -m fer_lib train --overwrite; make run OVERWRITE=1)")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resuming:
        (run_dir / HISTORY_FILE).unlink(missing_ok=True)  # left by a run that died before its first epoch ended

    targets = getattr(config, "targets", "fer2013")
    train_targets = training_targets(train, config)  # before the seed: teachers predict without drawing from it
    set_seed(config.seed)
    best_so_far = read_history(run_dir)["val_accuracy"].max() if resuming and (run_dir / HISTORY_FILE).exists() else None
    run_callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / BACKUP_DIR)),
        _epoch_seconds_callback(),  # before CSVLogger, which then records the `seconds` column
        keras.callbacks.CSVLogger(str(run_dir / HISTORY_FILE), append=True),
        keras.callbacks.ModelCheckpoint(
            str(run_dir / BEST_FILE), monitor="val_accuracy", mode="max", save_best_only=True,
            initial_value_threshold=None if best_so_far is None or np.isnan(best_so_far) else float(best_so_far),
        ),
    ]
    validation = with_targets(validation, targets)
    if keras.backend.backend() == "tensorflow":
        run_callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / LOG_DIR), write_graph=True))
        inputs = {"x": make_dataset(train, config.batch_size, shuffle_seed=config.seed, augment=augment,
                                    taught=train_targets), "shuffle": False,  # the pipeline shuffles, seeded
                  "validation_data": make_dataset(validation, config.batch_size, targets=targets)}
    else:  # JAX or PyTorch (e.g. on a GPU machine without TensorFlow): arrays, shuffled by Keras
        inputs = {"x": _as_inputs(train.x), "y": train_targets, "batch_size": config.batch_size,
                  "shuffle": True, "validation_data": (_as_inputs(validation.x), target_matrix(validation, targets))}
    model.fit(**inputs, epochs=config.epochs, callbacks=[*run_callbacks, *callbacks], verbose=verbose)
    model.save(run_dir / MODEL_FILE)
    return read_history(run_dir)


def _reuse(model, run_dir: Path, config, train_rows: int) -> pd.DataFrame:
    """A finished run's history, its final weights loaded into `model`, if it was trained as asked."""
    import keras

    history = read_history(run_dir)
    recorded = {"epochs": len(history)}
    if (run_dir / METRICS_FILE).is_file():
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
        defaults = json.loads(json.dumps(vars(type(config)())))  # a field added after the run was recorded: the run had its default
        recorded = ({key: metrics["config"].get(key, defaults[key]) for key in vars(config)}
                    | {"train rows": metrics["dataset"]["rows"]["train"]})
    wanted = json.loads(json.dumps(vars(config))) | {"train rows": train_rows}  # tuples as metrics.json has them
    differs = {key: (value, wanted[key]) for key, value in recorded.items() if value != wanted[key]}
    if differs:
        shown = ", ".join(f"{key} {had} (asked: {asked})" for key, (had, asked) in differs.items())
        raise FileExistsError(f"{run_dir} holds a finished run with other settings: {shown}; "
                              "choose another run folder or overwrite it")
    model.set_weights(keras.models.load_model(run_dir / MODEL_FILE).get_weights())
    print(f"{run_dir} already holds a finished run of {len(history)} epochs: reusing it (overwrite to train again)")
    return history


def _epoch_seconds_callback():
    import keras

    class EpochSeconds(keras.callbacks.Callback):
        """Adds each epoch's wall time (training and validation) to the logs as `seconds`."""

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs["seconds"] = round(time.perf_counter() - self.started, 2)

    return EpochSeconds()


def _as_inputs(faces: np.ndarray) -> np.ndarray:
    return (faces.astype(np.float32) / 255.0)[..., np.newaxis]


def read_history(run_dir: str | Path) -> pd.DataFrame:
    """history.csv of a run, one row per epoch (the last record of an epoch wins after a resume)."""
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training history (has this run finished an epoch?)")
    history = pd.read_csv(path)
    return history.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)
