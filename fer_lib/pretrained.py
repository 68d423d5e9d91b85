"""The models shipped inside fer_lib: `load_pretrained()` gives one with a single call, so predictions work on a
fresh clone without FER2013 and without training.

Each model NAME lives in fer_lib/models/ as NAME.keras with its model card: NAME.json (the numbers) and NAME.md
(the card people read), both written by `python -m fer_lib ship` from a finished run folder.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, IMAGE_SIZE, FERDataset
from .training import BEST_FILE, METRICS_FILE, read_history

# the recipe settings `train` takes
TRAIN_FLAGS = ("epochs", "batch_size", "learning_rate", "dropout", "erasing", "crop", "interpolation", "conditions",
               "conditioned_share", "focus", "focus_weight", "precision", "seed")

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT = "strong_cnn"
LATENCY_REPEATS = 50
SMOOTHING_SIGMAS = (0.5, 0.6, 0.7, 0.8, 1.0)  # the Gaussian blurs (pixels) ship tries in front of the network


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
    probabilities; use it with evaluation.predict_proba, predict.EmotionReader or the CLI."""
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


def smoothing_matrix(sigma: float, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, size) matrix M: `x @ M` blurs each row of x with a Gaussian of `sigma` pixels, the row mirrored at its
    ends (OpenCV's BORDER_REFLECT_101). sigma 0 gives the identity."""
    if not sigma >= 0:
        raise ValueError(f"smoothing_matrix: sigma must be >= 0 pixels, got {sigma}")
    if sigma == 0:
        return np.eye(size, dtype=np.float32)
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    matrix = np.zeros((size, size))
    for column in range(size):
        sources = np.abs(column + offsets)  # mirrored at 0 ...
        sources = np.where(sources > size - 1, 2 * (size - 1) - sources, sources)  # ... and at size - 1
        np.add.at(matrix[:, column], sources, taps / taps.sum())
    return matrix.astype(np.float32)


def inference_model(model, flip: bool = False, sigma: float = 0.0, corners: int = 0):
    """`model` in inference mode behind the test-time options: `sigma` > 0 first blurs each face with a Gaussian of
    that many pixels; `corners` > 0 averages the prediction with those on the face moved `corners` pixels towards each
    of its four corners (for a network that looks at a centre window, `crop_margin` pixels give the four corner
    windows); `flip` averages each with the prediction on the mirrored face.

    All are fixed matrix products, crops and paddings, so the result is built from stock Keras layers only and its
    .keras file loads without fer_lib. `model` is called with training=False, so a direct call (`wrapped(faces)`,
    training unset) does not run its augmentation layers, which Keras runs by default otherwise.
    """
    import keras
    from keras import layers

    if not (isinstance(corners, (int, np.integer)) and 0 <= corners < IMAGE_SIZE // 2):
        raise ValueError(f"inference_model: corners must be a whole number of pixels in [0, {IMAGE_SIZE // 2}), got {corners}")
    face = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1), name="face")
    x = face
    if sigma:
        blur = smoothing_matrix(sigma)
        rows = _times(layers.Reshape((IMAGE_SIZE, IMAGE_SIZE), name="rows")(x), blur, "blur_width")
        columns = _times(layers.Permute((2, 1), name="transpose")(rows), blur, "blur_height")
        x = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="blurred")(layers.Permute((2, 1), name="untranspose")(columns))
    views = [x]
    if corners:
        views += [_moved(x, down, right) for down in (-corners, corners) for right in (-corners, corners)]
    if flip:
        mirror = np.eye(IMAGE_SIZE, dtype=np.float32)[::-1]
        views += [layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name=f"mirrored{i or ''}")(
                  _times(layers.Reshape((IMAGE_SIZE, IMAGE_SIZE), name=f"to_mirror{i or ''}")(view), mirror, f"mirror{i or ''}"))
                  for i, view in enumerate(views)]
    predictions = [model(view, training=False) for view in views]
    probabilities = layers.Average(name="emotion")(predictions) if len(views) > 1 else predictions[0]
    return keras.Model(face, probabilities, name=model.name)


def inference_label(flip: bool, sigma: float, corners: int = 0) -> str:
    """How cards name a test-time option: "plain", "flip", "blur 0.6", "blur 0.6 + corners 4 + flip"."""
    return " + ".join([f"blur {sigma:g}"] * bool(sigma) + [f"corners {corners}"] * bool(corners) + ["flip"] * flip) or "plain"


def crop_margin(model) -> int:
    """How far the centre window a network looks at (a CenterCrop layer, e.g. StrongConfig.crop) lies inside its
    input faces, in pixels: the `corners` that reach the corner windows. 0 for a network that sees whole faces."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.CenterCrop):
            return (IMAGE_SIZE - min(layer.height, layer.width)) // 2
        margin = crop_margin(layer) if isinstance(layer, keras.Model) else 0
        if margin:
            return margin
    return 0


def _moved(x, down: int, right: int):
    """Faces (N, 48, 48, 1) moved by whole pixels (negative: up, left); the uncovered edge is zero."""
    from keras import layers

    name = f"moved_{'down' if down > 0 else 'up'}_{'right' if right > 0 else 'left'}"
    cut = layers.Cropping2D(((max(-down, 0), max(down, 0)), (max(-right, 0), max(right, 0))), name=f"{name}_cut")(x)
    return layers.ZeroPadding2D(((max(down, 0), max(-down, 0)), (max(right, 0), max(-right, 0))), name=name)(cut)


def _times(x, matrix: np.ndarray, name: str):
    """x (N, 48, 48) times a fixed matrix along its last axis: a frozen, bias-free Dense layer."""
    from keras import layers

    dense = layers.Dense(matrix.shape[1], use_bias=False, trainable=False, name=name)
    out = dense(x)
    dense.set_weights([matrix])
    return out


def unwrap(model):
    """The network inside an inference_model; any other model as it is."""
    import keras

    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if len(inner) == 1 else model


def cpu_latency(model, faces: np.ndarray, repeats: int = LATENCY_REPEATS) -> dict:
    """Median milliseconds per face: one face at a time, and in batches of 64."""
    from .evaluation import PREDICT_BATCH, predict_proba

    def median_seconds(batch):
        predict_proba(model, batch)  # traced once, outside the timing
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            predict_proba(model, batch)
            times.append(time.perf_counter() - started)
        return float(np.median(times))

    return {"one_face_ms": median_seconds(faces[:1]) * 1e3,
            "batch_64_ms_per_face": median_seconds(faces[:PREDICT_BATCH]) / len(faces[:PREDICT_BATCH]) * 1e3}


def ship(run_dir: str | Path, dataset: FERDataset, name: str, models_dir: str | Path = MODELS_DIR) -> dict:
    """Ship a finished run's best epoch (by PrivateTest) as fer_lib's model `name`, with its model card.

    The test-time options (a slight blur, flip averaging, and the corner windows for a network that looks at a centre
    window: inference_model) are chosen on PrivateTest; PublicTest is measured for each, never used to choose.
    The CPU latency is measured against the paper's CNN in the same run. Returns the card's numbers.
    """
    import keras

    from . import __version__
    from .evaluation import evaluate
    from .model import build_paper_cnn

    run_dir, models_dir = Path(run_dir), Path(models_dir)
    if dataset.is_demo and models_dir.resolve() == MODELS_DIR:
        raise ValueError(f"{MODELS_DIR} ships models trained on the real FER2013; pass FER2013 or another models folder")
    metrics_path = run_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: not a finished run (train it with python -m fer_lib train)")
    metrics, history = json.loads(metrics_path.read_text()), read_history(run_dir)
    splits = dataset.split()
    best = keras.models.load_model(run_dir / BEST_FILE, compile=False)
    options = {inference_label(flip, sigma, corners): (flip, sigma, corners)  # cheapest first
               for corners in sorted({0, crop_margin(best)}) for flip in (False, True) for sigma in (0.0, *SMOOTHING_SIGMAS)}
    candidates = {key: inference_model(best, *option) for key, option in options.items()}
    validation = {key: evaluate(model, splits.validation).accuracy for key, model in candidates.items()}
    test = {key: evaluate(model, splits.test) for key, model in candidates.items()}
    chosen = max(validation, key=validation.get)  # the first of a tie: the cheaper option
    flip, sigma, corners = options[chosen]
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{name}.keras"
    partial = path.with_suffix(".partial.keras")
    candidates[chosen].save(partial)
    partial.replace(path)

    latency = cpu_latency(keras.models.load_model(path, compile=False), splits.test.x)
    baseline = cpu_latency(build_paper_cnn(), splits.test.x)
    card = {
        "name": name,
        "file": path.name,
        "bytes": path.stat().st_size,
        "parameters": int(best.count_params()),
        "dataset": metrics["dataset"],
        "recipe": metrics["config"],
        "run": {"folder": str(run_dir), "epochs_run": len(history), "best_epoch": metrics["best"]["epoch"],
                "training_seconds": metrics["training_seconds"],
                "median_epoch_seconds": float(history["seconds"].median())},
        "test_time": {"chosen": chosen, "flip": flip, "blur_sigma": sigma, "corners": corners, "validation_accuracy": validation,
                      "test_accuracy": {key: result.accuracy for key, result in test.items()}},
        "validation_accuracy": validation[chosen],
        "test": test[chosen].to_dict(),
        "cpu_latency": {"model": latency, "paper_cnn": baseline,
                        "ratio_to_paper_cnn": {key: latency[key] / baseline[key] for key in latency}},
        "versions": {"fer_lib": __version__, "keras": keras.__version__},
    }
    (models_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (models_dir / f"{name}.md").write_text(card_markdown(card) + "\n")
    return card


def card_markdown(card: dict) -> str:
    """The model card people read, from the card's numbers."""
    test, recipe, run = card["test"], card["recipe"], card["run"]
    per_class = test["per_class"]
    confusion = np.array(test["confusion"]["rows_true_columns_predicted"])
    off_diagonal = confusion - np.diag(np.diag(confusion))
    true, predicted = np.unravel_index(off_diagonal.argmax(), confusion.shape)
    weakest = sorted(per_class, key=lambda emotion: per_class[emotion]["recall"])[:2]
    rows = card["dataset"]["rows"]
    shown_recipe = ", ".join(f"{key} {_shown(value)}" for key, value in recipe.items() if key != "model")
    command, in_code = retrain_command(recipe, run["folder"])
    set_in_code = f" (set in code: {', '.join(f'{key} {_shown(value)}' for key, value in in_code.items())})" * bool(in_code)
    demo = " (the DEMO dataset, not FER2013)" if card["dataset"]["is_demo"] else ""
    chosen = card["test_time"]["chosen"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"`fer_lib.load_pretrained({card['name']!r})` loads `{card['file']}` ({card['bytes'] / 1e6:.1f} MB, "
        f"{card['parameters']:,} parameters). Input: 48x48 grayscale faces framed like FER2013, floats in [0, 1], "
        f"shaped (N, 48, 48, 1); output: the probabilities of {', '.join(EMOTIONS)}.",
        "",
        "## Data and split",
        f"FER2013 ({Path(card['dataset']['source']).name}{demo}): {rows['train']:,} Training faces train, "
        f"{rows['validation']:,} PrivateTest faces validate (the epoch and the test-time option are chosen on them), "
        f"{rows['test']:,} PublicTest faces test (never used to choose).",
        "",
        "## Recipe",
        f"`{recipe['model']}`: {shown_recipe}.",
        f"Trained {run['epochs_run']} epochs in {run['training_seconds'] / 3600:.2f} h (wall time, median epoch "
        f"{run['median_epoch_seconds']:.0f} s); shipped: epoch {run['best_epoch']}, the best by PrivateTest, "
        f"{_test_time_words(card['test_time'])}.",
        f"Retrain: `{command}`{set_in_code}, then "
        f"`python -m fer_lib ship --run-dir {run['folder']} --data fer2013.csv.gz --name {card['name']}`.",
        "",
        "## Accuracy",
        f"PublicTest (test) **{test['accuracy']:.2%}**; PrivateTest (validation) {card['validation_accuracy']:.2%}.",
        "",
        f"Test-time options (`fer_lib.pretrained.inference_model`; shipped: {chosen}, the best on PrivateTest):",
        "",
        "| test-time option | PrivateTest | PublicTest |",
        "|---|---|---|",
        *(f"| {option} | {accuracy:.2%} | {card['test_time']['test_accuracy'][option]:.2%} |"
          for option, accuracy in card["test_time"]["validation_accuracy"].items()),
        "",
        "| emotion | PublicTest faces | recall (per-class accuracy) | precision |",
        "|---|---|---|---|",
        *(f"| {emotion} | {scores['support']} | {scores['recall']:.1%} | {scores['precision']:.1%} |"
          for emotion, scores in per_class.items()),
        "",
        "Confusion matrix on PublicTest (rows: true emotion, columns: predicted):",
        "",
        "| | " + " | ".join(EMOTIONS) + " |",
        "|---|" + "---|" * len(EMOTIONS),
        *(f"| {emotion} | " + " | ".join(str(n) for n in row) + " |" for emotion, row in zip(EMOTIONS, confusion)),
        "",
        "## CPU latency",
        f"Median per face on the machine that shipped it: {card['cpu_latency']['model']['one_face_ms']:.2f} ms one "
        f"face at a time, {card['cpu_latency']['model']['batch_64_ms_per_face']:.3f} ms in batches of 64; "
        f"{card['cpu_latency']['ratio_to_paper_cnn']['one_face_ms']:.1f}x and "
        f"{card['cpu_latency']['ratio_to_paper_cnn']['batch_64_ms_per_face']:.1f}x the paper's CNN measured in the same run.",
        "",
        "## Known weaknesses",
        f"- Weakest emotions on PublicTest: {weakest[0]} ({per_class[weakest[0]]['recall']:.1%}) and {weakest[1]} "
        f"({per_class[weakest[1]]['recall']:.1%}); the commonest confusion is {EMOTIONS[true]} read as "
        f"{EMOTIONS[predicted]} ({confusion[true, predicted]} faces).",
        "- FER2013's labels are noisy (human accuracy is about 65%) and its faces are mostly frontal, well lit, "
        "web photos; accuracy on other cameras, ages and cultures is not measured.",
        "- Special conditions (low light, glasses, head angle) change the accuracy: `python -m fer_lib robustness` "
        "and notebook 7 measure it (the README's \"Special conditions\").",
        "- Faces must be framed like FER2013: use `fer_lib.faces.crop_faces` (what `python -m fer_lib predict` does).",
    ]
    return "\n".join(lines)


def retrain_command(recipe: dict, run_folder: str) -> tuple[str, dict]:
    """The `train` command that repeats `recipe` (a metrics.json config) — a flag for each setting that differs from
    its model's defaults — and the differing settings the command line cannot set."""
    from .robust import RobustConfig
    from .strong import StrongConfig
    from .training import TrainConfig

    model = {"paper_cnn": "paper", "strong_cnn": "strong", "robust_cnn": "robust"}[recipe["model"]]
    config = {"paper": TrainConfig, "strong": StrongConfig, "robust": RobustConfig}[model]
    defaults = json.loads(json.dumps(vars(config())))  # tuples become lists, as in metrics.json
    differing = {key: value for key, value in recipe.items() if key in defaults and key != "parent"
                 and value != defaults[key]}
    words = [f"python -m fer_lib train --model {model}", f"--data fer2013.csv.gz --run-dir {run_folder}"]
    if model == "robust":
        words.insert(1, f"--parent {recipe['parent']}")
    words += [f"--{key.replace('_', '-')} {_flag_value(differing.pop(key))}" for key in TRAIN_FLAGS if key in differing]
    return " ".join(words), differing


def _flag_value(value) -> str:
    """A recipe value as `train` takes it: a list as separate words."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _test_time_words(test_time: dict) -> str:
    """The chosen test-time option in words."""
    corners = test_time.get("corners", 0)  # cards shipped before the option existed lack it
    words = [f"each face blurred first (Gaussian, sigma {test_time['blur_sigma']:g} px)"] * bool(test_time["blur_sigma"])
    words += [f"averaged with its predictions on the face moved {corners} px towards each corner (the four corner "
              "windows)"] * bool(corners)
    words += [f"averaged with its prediction{'s' * bool(corners)} on the mirrored face{'s' * bool(corners)}"] * test_time["flip"]
    return ", then ".join(words) or "without test-time options"


def _shown(value) -> str:
    """A recipe value as the card shows it: a list of names joined by slashes (they may hold commas or '+')."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return " / ".join(value)
    return str(value)


def readme_summary(card: dict) -> str:
    """A shipped model's headline numbers as the README's Markdown table."""
    test, latency = card["test"], card["cpu_latency"]
    accuracy = card["test_time"]
    lines = [
        "| | |",
        "|---|---|",
        f"| PublicTest accuracy (test) | **{test['accuracy']:.2%}** |",
        f"| PrivateTest accuracy (validation) | {card['validation_accuracy']:.2%} |",
        f"| PublicTest without test-time options / as shipped ({accuracy['chosen']}, chosen on PrivateTest) | "
        f"{accuracy['test_accuracy']['plain']:.2%} / {test['accuracy']:.2%} |",
        *(f"| {emotion} (PublicTest recall, n={scores['support']}) | {scores['recall']:.1%} |"
          for emotion, scores in test["per_class"].items()),
        f"| parameters, file size | {card['parameters']:,}, {card['bytes'] / 1e6:.1f} MB |",
        f"| training | {card['run']['epochs_run']} epochs, {card['run']['training_seconds'] / 3600:.2f} h wall time "
        f"(median epoch {card['run']['median_epoch_seconds']:.0f} s), best epoch {card['run']['best_epoch']} |",
        f"| CPU latency per face: one at a time, batches of 64 | {latency['model']['one_face_ms']:.2f} ms, "
        f"{latency['model']['batch_64_ms_per_face']:.3f} ms ({latency['ratio_to_paper_cnn']['one_face_ms']:.1f}x, "
        f"{latency['ratio_to_paper_cnn']['batch_64_ms_per_face']:.1f}x the paper's CNN) |",
    ]
    return "\n".join(lines)
