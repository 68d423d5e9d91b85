"""The stronger model: a VGG-style CNN and the recipe that trains it (beyond the paper, issue 4).

Same input and output as the paper's CNN (float faces (N, 48, 48, 1) in [0, 1] -> 7 softmax probabilities),
so `evaluation.evaluate` and the notebooks take either. Augmentation layers sit at the front of the model and
act only while training; at inference they pass faces through unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .dataset import EMOTIONS, IMAGE_SIZE
from .training import TEACHER_WEIGHT, check_precision, check_targets, check_teacher, precision_policy


@dataclass(frozen=True)
class StrongConfig:
    """The recipe: architecture, augmentation and optimization. `train()` reads epochs, batch_size and seed.

    widths/convs_per_stage: one VGG stage per width, with that many convs ( 3x3 -> BatchNorm -> ReLU, then MaxPool 2x2);
    optimizer "sgd" (Nesterov momentum 0.9) or "adamw", both with decoupled weight decay; the learning rate
    warms up linearly for `warmup_epochs`, then follows a cosine to zero at the last epoch.
    interpolation: how the shift and the zoom resample ("nearest" moves and scales by whole pixels; each bilinear
    resampling blurs a face a little, so training faces end up softer than test faces); the rotation is bilinear.
    crop: 0, or the side of the square window the network looks at: a random one while training (the shifted face's
    centre), the centre one at inference.
    conditions: the share of training faces put under a random special condition (fer_lib.robust_cnn.condition_augmentation,
    with the robust fine-tuning's focus), for a network robust from the start; with it, a per-face contrast
    normalization (stock LayerNormalization over the face) sits between the augmentation and the first conv.
    contrast_normalization: that normalization without the conditions (every face reaches the first conv with mean 0
    and spread 1, whatever its exposure; the .keras file still loads without fer_lib).
    precision: what the convolutions, dense layers and normalizations compute in (training.PRECISIONS; the weights,
    the augmentation, the softmax and the loss stay float32).
    targets: what each face is taught (training.TARGETS): FER2013's label, FER+'s vote distribution, or their mean.
    teacher: models (shipped names or .keras files) whose mean probabilities on each clean training face make up
    `teacher_weight` of its target, the rest from `targets` (distillation; training.training_targets).
    """

    model_name = "strong_cnn"  # not a field: how metrics.json names the model

    epochs: int = 36
    batch_size: int = 64
    learning_rate: float = 0.05
    optimizer: str = "sgd"
    weight_decay: float = 5e-4
    warmup_epochs: int = 2
    label_smoothing: float = 0.1
    widths: tuple[int, ...] = (32, 64, 128, 256)
    convs_per_stage: tuple[int, ...] = (1, 1, 2, 2)
    dense_units: int = 256
    dropout: float = 0.5
    rotation_degrees: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    interpolation: str = "bilinear"
    crop: int = 0
    erasing: float = 0.5
    conditions: float = 0.0
    contrast_normalization: bool = False
    precision: str = "float32"
    targets: str = "fer2013"
    teacher: tuple[str, ...] = ()
    teacher_weight: float = TEACHER_WEIGHT
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size", "dense_units"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"StrongConfig.{name} must be a positive integer, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"StrongConfig.learning_rate must be positive, got {self.learning_rate}")
        if not 0 <= self.warmup_epochs < self.epochs:
            raise ValueError(f"StrongConfig.warmup_epochs must lie in [0, epochs={self.epochs}), got {self.warmup_epochs}")
        if self.optimizer not in ("sgd", "adamw"):
            raise ValueError(f"StrongConfig.optimizer must be 'sgd' or 'adamw', got {self.optimizer!r}")
        if not self.widths or min(self.widths) < 1 or len(self.widths) > 4:
            raise ValueError(f"StrongConfig.widths must be 1 to 4 positive channel counts, got {self.widths}")
        if len(self.convs_per_stage) != len(self.widths) or min(self.convs_per_stage) < 1:
            raise ValueError(f"StrongConfig.convs_per_stage needs a positive count per stage of {self.widths}, "
                             f"got {self.convs_per_stage}")
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"StrongConfig.interpolation must be 'bilinear' or 'nearest', got {self.interpolation!r}")
        if self.crop and not 16 <= self.crop <= IMAGE_SIZE:
            raise ValueError(f"StrongConfig.crop must be 0 (the whole face) or 16 to {IMAGE_SIZE} pixels, got {self.crop}")
        for name in ("dropout", "erasing", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"StrongConfig.{name} must lie in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.conditions <= 1:
            raise ValueError(f"StrongConfig.conditions must lie in [0, 1], got {self.conditions}")
        check_precision(self)
        check_targets(self)
        check_teacher(self)


def build_strong_cnn(config: StrongConfig = StrongConfig(), train_rows: int = 28_709):
    """The VGG-style CNN of `config`, compiled with its optimizer and schedule for `train_rows` training faces."""
    with precision_policy(config.precision):
        return _build(config, train_rows)


def _build(config: StrongConfig, train_rows: int):
    import keras
    from keras import layers

    exact = "float32"  # augmentation stays in float32 under mixed precision (RandomErasing has no float16 kernel)
    augmentation = [
        layers.RandomFlip("horizontal", seed=config.seed, dtype=exact, name="flip"),
        layers.RandomRotation(config.rotation_degrees / 360, fill_mode="reflect", seed=config.seed + 1, dtype=exact,
                              name="rotate"),
        layers.RandomTranslation(config.shift, config.shift, fill_mode="reflect", interpolation=config.interpolation,
                                 seed=config.seed + 2, dtype=exact, name="shift"),
        layers.RandomZoom(config.zoom, fill_mode="reflect", interpolation=config.interpolation, seed=config.seed + 3,
                          dtype=exact, name="zoom"),
    ]
    if config.erasing:
        augmentation.append(layers.RandomErasing(config.erasing, scale=(0.02, 0.2), fill_value=0.5, value_range=(0, 1),
                                                 seed=config.seed + 4, dtype=exact, name="erase"))
    blocks = []
    for stage, (width, convs) in enumerate(zip(config.widths, config.convs_per_stage), start=1):
        for conv in range(1, convs + 1):
            blocks += [
                layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{stage}_{conv}"),
                layers.BatchNormalization(name=f"batchnorm{stage}_{conv}"),
                layers.ReLU(name=f"relu{stage}_{conv}"),
            ]
        blocks.append(layers.MaxPooling2D(2, name=f"maxpool{stage}"))
    model = keras.Sequential(
        [
            keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face"),
            *augmentation,
            *[layers.CenterCrop(config.crop, config.crop, dtype=exact, name="crop")] * bool(config.crop),
            *[layers.LayerNormalization(axis=(1, 2, 3), epsilon=1e-5, center=False, scale=False, dtype=exact,
                                        name="contrast")] * bool(config.conditions or config.contrast_normalization),
            *blocks,
            layers.Flatten(name="flatten"),
            layers.Dropout(config.dropout, seed=config.seed + 5, name="dropout1"),
            layers.Dense(config.dense_units, use_bias=False, name="dense"),
            layers.BatchNormalization(name="batchnorm_dense"),
            layers.ReLU(name="relu_dense"),
            layers.Dropout(config.dropout, seed=config.seed + 6, name="dropout2"),
            layers.Dense(len(EMOTIONS), activation="softmax", dtype=exact, name="emotion"),
        ],
        name="strong_cnn",
    )
    model.compile(
        optimizer=_optimizer(config, steps_per_epoch=math.ceil(train_rows / config.batch_size)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def learning_rate_schedule(config: StrongConfig, steps_per_epoch: int):
    """Linear warm-up to `config.learning_rate` over `warmup_epochs`, then a cosine down to zero at the last step."""
    import keras

    warmup = config.warmup_epochs * steps_per_epoch
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else config.learning_rate, decay_steps=config.epochs * steps_per_epoch - warmup,
        warmup_target=config.learning_rate if warmup else None, warmup_steps=warmup,
    )


def _optimizer(config: StrongConfig, steps_per_epoch: int):
    import keras

    schedule = learning_rate_schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)
    return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
