"""The models shipped inside fer_lib: `load_pretrained()` gives one with a single call, so predictions work on a
fresh clone without FER2013 and without training.

Each model NAME lives in fer_lib/models/ as NAME.keras with its model card: NAME.json (the numbers) and NAME.md
(the card people read), both written by `python -m fer_lib ship` (shipping.py) from a finished run folder.
"""
from __future__ import annotations

import json
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT = "strong_cnn"


def available(models_dir: str | Path = MODELS_DIR) -> list[str]:
    """Names of the shipped models."""
    return sorted(path.stem for path in Path(models_dir).glob("*.keras"))


def pretrained_path(name: str = DEFAULT, models_dir: str | Path = MODELS_DIR) -> Path:
    """The .keras file of shipped model `name`."""
    path = Path(models_dir) / f"{name}.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no shipped model {name!r}; available: {', '.join(available(models_dir)) or 'none'}")
    return path


def load_pretrained(name: str = DEFAULT, models_dir: str | Path = MODELS_DIR):
    """Shipped model `name` (default: the strongest), ready to predict: float faces (N, 48, 48, 1) in [0, 1] -> 7
    probabilities; use it with inference.predict_proba, predict.EmotionReader or the CLI."""
    import keras

    return keras.models.load_model(pretrained_path(name, models_dir), compile=False)


def load_model(model=None, models_dir: str | Path = MODELS_DIR):
    """A model to classify with: None gives the default shipped one (DEFAULT), a name one of the shipped models
    (`available()`), a path a .keras file; a Keras model is returned as it is."""
    import keras

    if model is None:
        return load_pretrained(DEFAULT, models_dir)
    if not isinstance(model, (str, Path)):
        return model
    if Path(model).is_file():
        return keras.models.load_model(model, compile=False)
    if str(model) in available(models_dir):
        return load_pretrained(str(model), models_dir)
    raise FileNotFoundError(f"{model}: neither a shipped model ({', '.join(available(models_dir)) or 'none'}) "
                            "nor a .keras file")


def model_card(name: str = DEFAULT, models_dir: str | Path = MODELS_DIR) -> dict:
    """The numbers of shipped model `name` (NAME.json): data, recipe, accuracy, confusion, size, latency."""
    pretrained_path(name, models_dir)
    return json.loads((Path(models_dir) / f"{name}.json").read_text())
