"""The robust model (issue 5): a trained CNN fine-tuned with the special conditions as augmentation, behind a
per-face contrast normalization.

The contrast normalization rescales every face to the mean and spread that Training faces have on average, so a
dark, flat face reaches the network with the contrast of a well-lit one. It is made of stock Keras layers
(LayerNormalization over the whole face, then Rescaling), so the .keras file loads without fer_lib.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .conditions import CONDITIONS, random_conditions
from .dataset import IMAGE_SIZE
from .inference import denoised, unwrap
from .training import TEACHER_WEIGHT, check_precision, check_targets, check_teacher, in_precision, precision_policy


@dataclass(frozen=True)
class RobustConfig:
    """The fine-tuning recipe. `parent`: the .keras model fine-tuned (a flip-averaged one is unwrapped first);
    `conditioned_share`: the share of training faces put under a random condition and severity each epoch;
    `focus`: conditions drawn `focus_weight` times as often as the others (those that a draw with every
    condition alike left furthest from the goal of at most 3 points lost at severity 3); `pipeline_share`: the
    share of training faces shown each epoch as the end-to-end pipeline cuts them out of a photo
    (pipeline_augmentation), before any condition; `pipeline_conditions`: the pipeline's faces carry conditions of
    their own instead, drawn once as the epochs draw theirs and put on the face before it enters the photo (as the
    end-to-end benchmark does: a dark face in a well-lit scene), and the epochs put no further condition on them.
    SGD with Nesterov momentum, cosine decay from `learning_rate` to zero, decoupled weight decay; the parent's
    convolutions, dense layers and normalizations compute in `precision` (training.in_precision); `targets`: what each
    face is taught (training.TARGETS); `teacher`: models whose mean probabilities on the clean face make up
    `teacher_weight` of its target, so a face under a condition is taught what they read without it
    (training.training_targets); `denoise` > 0: every face reaches the network through inference.denoised at that
    strength, as the shipped model reads it (the run's best.keras holds the denoising around the network, which
    ship takes out and puts back as the test-time option it is)."""

    parent: str = ""
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 0.01
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    conditioned_share: float = 0.6
    focus: tuple[str, ...] = ("low_light", "glasses", "dark+angle", "glasses+angle")
    focus_weight: float = 2.0
    contrast_normalization: bool = True
    pipeline_share: float = 0.0
    pipeline_conditions: bool = False
    precision: str = "float32"
    targets: str = "fer2013"
    teacher: tuple[str, ...] = ()
    teacher_weight: float = TEACHER_WEIGHT
    denoise: float = 0.0
    seed: int = 0

    model_name = "robust_cnn"  # not a field: how metrics.json names the model

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"RobustConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"RobustConfig.learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.conditioned_share <= 1:
            raise ValueError(f"RobustConfig.conditioned_share must lie in [0, 1], got {self.conditioned_share}")
        if not 0 <= self.pipeline_share <= 1:
            raise ValueError(f"RobustConfig.pipeline_share must lie in [0, 1], got {self.pipeline_share}")
        if self.pipeline_conditions and not self.pipeline_share:
            raise ValueError("RobustConfig.pipeline_conditions needs a pipeline_share above 0")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"RobustConfig.label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if not self.denoise >= 0:
            raise ValueError(f"RobustConfig.denoise must be a strength >= 0, got {self.denoise}")
        if not self.focus_weight > 0:
            raise ValueError(f"RobustConfig.focus_weight must be positive, got {self.focus_weight}")
        unknown = sorted(set(self.focus) - set(CONDITIONS))
        if unknown:
            raise ValueError(f"RobustConfig.focus: unknown condition(s) {unknown}; choose from {', '.join(CONDITIONS)}")
        check_precision(self)
        check_targets(self)
        check_teacher(self)

    def condition_weights(self) -> dict:
        """random_conditions' `weights`: `focus_weight` for the focus conditions, 1 for the rest."""
        return {name: self.focus_weight for name in self.focus}


def face_statistics(faces: np.ndarray) -> tuple[float, float]:
    """The average per-face mean and standard deviation of uint8 faces, in [0, 1] units."""
    faces = np.asarray(faces, np.float32).reshape(len(faces), -1) / 255.0
    return float(faces.mean(axis=1).mean()), float(faces.std(axis=1).mean())


def build_robust_cnn(parent, config: RobustConfig, train_faces: np.ndarray):
    """`parent`'s network behind the contrast normalization (when configured), compiled for fine-tuning on
    `train_faces` (their count sets the schedule, their statistics the normalization's target)."""
    with precision_policy(config.precision):  # compiled under it: float16 gets Keras' loss scaling
        return _build(parent, config, train_faces)


def _build(parent, config: RobustConfig, train_faces: np.ndarray):
    import keras
    from keras import layers

    network = in_precision(unwrap(parent), config.precision)
    face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = face
    if config.contrast_normalization:
        mean, std = face_statistics(train_faces)
        x = layers.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5, center=False, scale=False, dtype="float32",
                                      name="contrast")(x)
        x = layers.Rescaling(std, offset=mean, dtype="float32", name="typical_contrast")(x)
    model = keras.Model(face, network(x), name="robust_cnn")
    if config.denoise:  # around the model, so unwrap finds it; in float32, as the shipped model denoises
        with precision_policy("float32"):
            face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
            model = keras.Model(face, model(denoised(face, config.denoise)), name="robust_cnn")
    steps = config.epochs * math.ceil(len(train_faces) / config.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps)
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def condition_augmentation(share: float, seed: int, weights: dict | None = None):
    """make_dataset's `augment`: each face of a batch, with probability `share`, under a random condition and severity
    (random_conditions with `weights`), seeded by `seed` and the batch's indices."""

    def augment(faces, indices):
        return random_conditions(faces, share, [seed, *indices.tolist()], weights)

    return augment


def pipeline_augmentation(pipeline_crops: np.ndarray, share: float, seed: int, others=None):
    """make_dataset's `augment`: each face of a batch, with probability `share`, replaced by its row of
    `pipeline_crops` (robustness.pipeline_faces of the same training faces), seeded by `seed` and the batch's indices;
    `others`: an augment for the faces left in place only (the conditions, where the crops carry their own)."""

    def augment(faces, indices):
        swap = np.random.default_rng([seed, 1, *indices.tolist()]).random(len(faces)) < share
        out = faces.copy()
        if others is not None and (~swap).any():
            out[~swap] = others(faces[~swap], indices[~swap])
        out[swap] = pipeline_crops[indices[swap]]
        return out

    return augment


def chained(*augments):
    """One make_dataset `augment` that applies each of `augments` in turn (None: skipped)."""
    augments = [augment for augment in augments if augment is not None]

    def augment(faces, indices):
        for step in augments:
            faces = step(faces, indices)
        return faces

    return augment
