"""The paper's CNN (section 4.3, Fig. 7) and its configuration (section 5)."""
from __future__ import annotations

from .dataset import EMOTIONS, IMAGE_SIZE

PAPER_CNN_PARAMETERS = 702_887


def build_paper_cnn(learning_rate: float = 1e-3, precision: str = "float32"):
    """3 x [Conv 3x3 same (32/64/128) -> BatchNorm -> ReLU -> MaxPool 2x2] -> Flatten -> Dense 132 -> Dense 7 softmax.

    Compiled with Adam(learning_rate), categorical cross-entropy and accuracy; 702,887 parameters. `precision`: what
    the layers compute in (training.PRECISIONS; weights and the softmax stay float32).
    """
    from .training import precision_policy

    with precision_policy(precision):
        return _build(learning_rate)


def _build(learning_rate: float):
    import keras
    from keras import layers

    blocks = []
    for stage, filters in enumerate((32, 64, 128), start=1):
        blocks += [
            layers.Conv2D(filters, 3, padding="same", name=f"conv{stage}"),
            layers.BatchNormalization(name=f"batchnorm{stage}"),
            layers.ReLU(name=f"relu{stage}"),
            layers.MaxPooling2D(2, name=f"maxpool{stage}"),
        ]
    model = keras.Sequential(
        [
            keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face"),
            *blocks,
            layers.Flatten(name="flatten"),
            layers.Dense(132, activation="relu", name="dense"),
            layers.Dense(len(EMOTIONS), activation="softmax", dtype="float32", name="emotion"),
        ],
        name="paper_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def layer_table(model):
    """One row per layer: name, type, what it does (kernel, units, activation), output shape and parameters."""
    import pandas as pd

    rows = []
    for layer in model.layers:
        config = layer.get_config()
        details = []
        if "filters" in config:
            details.append(f"{config['filters']} filters {'x'.join(map(str, config['kernel_size']))}, {config['padding']}")
        if "pool_size" in config:
            details.append(f"pool {'x'.join(map(str, config['pool_size']))}")
        if "units" in config:
            details.append(f"{config['units']} units")
        if config.get("activation") not in (None, "linear"):
            details.append(config["activation"])
        rows.append({
            "layer": layer.name,
            "type": type(layer).__name__,
            "details": ", ".join(details),
            "output shape": tuple(layer.output.shape[1:]),
            "parameters": layer.count_params(),
        })
    return pd.DataFrame(rows).set_index("layer")
