"""The models shipped inside fer_lib: `load_pretrained()` gives one with a single call, so predictions work on a
fresh clone without FER2013 and without training.

Each model NAME lives in fer_lib/models/ as NAME.keras with its model card: NAME.json (the numbers) and NAME.md
(the card people read), both written by `python -m fer_lib ship` (shipping.py) from a finished run folder.
"""
from __future__ import annotations

import json
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent / "models"
# The shipped model that agrees most with people end to end, under every special condition: taught FER+'s ten votes
# per face and fine-tuned under the conditions (results/README.md#fer-as-the-default). `robust_cnn`, the
# same recipe taught FER2013's labels, reads those best.
DEFAULT = "ferplus_cnn"


class ModelError(ValueError):
    """A model file that exists but cannot be loaded as a Keras model; the message says why."""


def read_model_file(path: str | Path):
    """A .keras file as an uncompiled Keras model; FileNotFoundError where there is no such file, ModelError where
    the file is not a model Keras can load (Keras itself says "File not found" for a damaged one)."""
    import zipfile

    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a Keras model file (a .keras file is a zip archive; this one is damaged or "
                         "something else)")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as error:
        raise ModelError(f"{path}: Keras cannot load it as a model ({str(error).splitlines()[0][:200]})") from None


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
    """Shipped model `name` (default: DEFAULT), ready to predict: float faces (N, 48, 48, 1) in [0, 1] -> 7
    probabilities; use it with inference.predict_proba, predict.EmotionReader or the CLI."""
    return read_model_file(pretrained_path(name, models_dir))


def load_model(model=None, models_dir: str | Path = MODELS_DIR):
    """A model to classify with: None gives the default shipped one (DEFAULT), a name one of the shipped models
    (`available()`), a path a .keras file; a Keras model is returned as it is."""
    if model is None:
        return load_pretrained(DEFAULT, models_dir)
    if not isinstance(model, (str, Path)):
        return model
    if Path(model).is_file():
        return read_model_file(model)
    if str(model) in available(models_dir):
        return load_pretrained(str(model), models_dir)
    raise FileNotFoundError(f"{model}: neither a shipped model ({', '.join(available(models_dir)) or 'none'}) "
                            "nor a .keras file")


def model_card(name: str = DEFAULT, models_dir: str | Path = MODELS_DIR) -> dict:
    """The numbers of shipped model `name` (NAME.json): data, recipe, accuracy, confusion, size, latency."""
    pretrained_path(name, models_dir)
    return json.loads((Path(models_dir) / f"{name}.json").read_text())
