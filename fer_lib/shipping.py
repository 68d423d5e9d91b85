"""Shipping a finished run as one of fer_lib's models: the test-time option chosen on PrivateTest, the model card
(NAME.json, the numbers; NAME.md, the card people read) and the command that retrains it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, FERDataset
from .inference import cpu_latency, crop_margin, inference_label, inference_model, unwrap
from .pretrained import MODELS_DIR
from .recipes import config_class, recipe_of
from .training import BEST_FILE, METRICS_FILE, read_history

# the recipe settings `train` takes
TRAIN_FLAGS = ("epochs", "batch_size", "learning_rate", "dropout", "erasing", "crop", "interpolation", "conditions",
               "contrast_normalization", "conditioned_share", "focus", "focus_weight", "pipeline_share",
               "precision", "targets", "teacher", "teacher_weight", "denoise", "seed")
SMOOTHING_SIGMAS = (0.5, 0.6, 0.7, 0.8, 1.0)  # the Gaussian blurs (pixels) ship tries in front of the network


def ship(run_dirs, dataset: FERDataset, name: str, models_dir: str | Path = MODELS_DIR, denoise: float = 0.0) -> dict:
    """Ship a finished run's best epoch (by PrivateTest) as fer_lib's model `name`, with its model card.

    `run_dirs`: one run folder, or several: then their best epochs are averaged (inference.averaged) into one
    .keras file, and the card names each member's recipe and run. The test-time options (a slight blur, flip
    averaging, and the corner windows for a network that looks at a centre window: inference_model) are chosen on
    PrivateTest; PublicTest is measured for each, never used to choose. `denoise` > 0 puts the denoising of dark
    faces (inference_model's `denoise`, chosen under the conditions by benchmarks/bench_denoise.py) in front of every
    candidate; runs trained behind it (`train --denoise`) ship with their own, the best.keras's denoising taken out
    and put back as that option. The CPU latency is measured against the paper's CNN in the same run. Returns the card's numbers.
    """
    import keras

    from . import __version__
    from .evaluation import evaluate_all
    from .inference import averaged
    from .paper_cnn import build_paper_cnn

    run_dirs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(run_dir) for run_dir in run_dirs]
    models_dir = Path(models_dir)
    if not run_dirs:
        raise ValueError("ship: no run folder given")
    if len(set(run_dirs)) < len(run_dirs):
        raise ValueError(f"ship: a run folder is named twice: {' '.join(map(str, run_dirs))}")
    if dataset.is_demo and models_dir.resolve() == MODELS_DIR:
        raise ValueError(f"{MODELS_DIR} ships models trained on the real FER2013; pass FER2013 or another models folder")
    members = [_finished_run(run_dir) for run_dir in run_dirs]
    trained_on = {(Path(member["metrics"]["dataset"]["source"]).name, json.dumps(member["metrics"]["dataset"]["rows"]))
                  for member in members}
    if len(trained_on) > 1:
        raise ValueError(f"ship: the runs {', '.join(map(str, run_dirs))} were trained on different data "
                         f"({'; '.join(f'{source}, rows {rows}' for source, rows in sorted(trained_on))}); "
                         "averaged members must share it")
    splits = dataset.split()
    bests = [keras.models.load_model(run_dir / BEST_FILE, compile=False) for run_dir in run_dirs]
    behind = {member["metrics"]["config"].get("denoise", 0.0) for member in members}
    if len(behind) > 1 or (denoise and behind != {0.0} and behind != {denoise}):
        raise ValueError(f"ship: the runs {', '.join(map(str, run_dirs))} were trained behind the denoising at "
                         f"{', '.join(f'{strength:g}' for strength in sorted(behind))} (train --denoise); "
                         f"--denoise {denoise:g} cannot ship them: give each run's own, or none")
    if behind != {0.0}:
        denoise = behind.pop()
        bests = [unwrap(best) for best in bests]
    network = averaged(bests, name=name)
    options = {inference_label(flip, sigma, corners, denoise): (flip, sigma, corners, denoise)  # cheapest first
               for corners in sorted({0, crop_margin(network)}) for flip in (False, True)
               for sigma in (0.0, *SMOOTHING_SIGMAS)}
    candidates = {key: inference_model(network, *option) for key, option in options.items()}
    validation_all = {key: evaluate_all(model, splits.validation) for key, model in candidates.items()}
    test_all = {key: evaluate_all(model, splits.test) for key, model in candidates.items()}
    validation = {key: results["fer2013"].accuracy for key, results in validation_all.items()}
    test = {key: results["fer2013"] for key, results in test_all.items()}
    targets = {member["metrics"]["config"].get("targets", "fer2013") for member in members}
    chosen_on = choice_labels(targets.pop() if len(targets) == 1 else "mix", validation_all)
    chosen = max(validation_all,  # the first of a tie: the cheaper option
                 key=lambda key: np.mean([validation_all[key][label_set].accuracy for label_set in chosen_on]))
    flip, sigma, corners, _ = options[chosen]
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{name}.keras"
    partial = path.with_suffix(".partial.keras")
    candidates[chosen].save(partial)
    partial.replace(path)

    latency = cpu_latency(keras.models.load_model(path, compile=False), splits.test.x)
    baseline = cpu_latency(build_paper_cnn(), splits.test.x)
    described = [{"recipe": member["metrics"]["config"], "run": member["run"]} for member in members]
    card = {
        "name": name,
        "file": path.name,
        "bytes": path.stat().st_size,
        "parameters": int(network.count_params()),
        "dataset": members[0]["metrics"]["dataset"],
        **(described[0] if len(described) == 1 else {"members": described}),
        "test_time": {"chosen": chosen, "chosen_on": list(chosen_on), "flip": flip, "blur_sigma": sigma, "corners": corners,
                      "denoise": denoise,
                      "validation_accuracy": validation,
                      "test_accuracy": {key: result.accuracy for key, result in test.items()}},
        "validation_accuracy": validation[chosen],
        "test": test[chosen].to_dict(),
        **({"ferplus": {  # agreement with the FER+ vote majority, on the rows that have one
            "validation_accuracy": validation_all[chosen]["ferplus"].accuracy,
            "test": test_all[chosen]["ferplus"].to_dict(),
            "test_accuracy": {key: results["ferplus"].accuracy for key, results in test_all.items()},
        }} if "ferplus" in test_all[chosen] else {}),
        "cpu_latency": {"model": latency, "paper_cnn": baseline,
                        "ratio_to_paper_cnn": {key: latency[key] / baseline[key] for key in latency}},
        "versions": {"fer_lib": __version__, "keras": keras.__version__},
    }
    (models_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    (models_dir / f"{name}.md").write_text(card_markdown(card) + "\n")
    return card


def _finished_run(run_dir: Path) -> dict:
    """A finished run's metrics.json and the card's summary of its run; one clear error for an unfinished one."""
    metrics_path = run_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: not a finished run (train it with python -m fer_lib train)")
    metrics, history = json.loads(metrics_path.read_text()), read_history(run_dir)
    return {"metrics": metrics,
            "run": {"folder": str(run_dir), "epochs_run": len(history), "best_epoch": metrics["best"]["epoch"],
                    "training_seconds": metrics["training_seconds"],
                    "median_epoch_seconds": float(history["seconds"].median())}}


def members(card: dict) -> list[dict]:
    """The runs a shipped model was built from, each {"recipe", "run"}: one, or an ensemble's members in order."""
    return card["members"] if "members" in card else [{"recipe": card["recipe"], "run": card["run"]}]


def taught(card: dict) -> str:
    """The targets a shipped model was taught: "fer2013", "ferplus" or "mix" (its members', where they agree)."""
    targets = {member["recipe"].get("targets", "fer2013") for member in members(card)}
    return targets.pop() if len(targets) == 1 else "mix"


def shipped_targets(name: str | None) -> str | None:
    """What the shipped model `name` (None: the default) was taught; None for a file, a Keras model or an unknown name."""
    from .pretrained import DEFAULT, available, model_card

    name = name or DEFAULT
    return taught(model_card(name)) if isinstance(name, str) and name in available() else None


def scored_against(name: str | None, subset) -> str:
    """The label set to score model `name` (None: the default) on `subset` with: the FER+ vote majority for a
    shipped model taught FER+'s votes, where `subset` has them; else FER2013's labels."""
    return "ferplus" if shipped_targets(name) == "ferplus" and subset.votes is not None else "fer2013"


def choice_labels(targets: str, validation_all: dict) -> tuple[str, ...]:
    """The label sets a model's test-time option is chosen on: those it was taught (FER2013's labels, FER+'s
    majority, or both for a mixture), where PrivateTest has them."""
    wanted = {"fer2013": ("fer2013",), "ferplus": ("ferplus",), "mix": ("fer2013", "ferplus")}[targets]
    have = next(iter(validation_all.values()))
    return tuple(s for s in wanted if s in have) or ("fer2013",)


def card_markdown(card: dict) -> str:
    """The model card people read, from the card's numbers."""
    test = card["test"]
    per_class = test["per_class"]
    confusion = np.array(test["confusion"]["rows_true_columns_predicted"])
    off_diagonal = confusion - np.diag(np.diag(confusion))
    true, predicted = np.unravel_index(off_diagonal.argmax(), confusion.shape)
    weakest = sorted(per_class, key=lambda emotion: per_class[emotion]["recall"])[:2]
    rows = card["dataset"]["rows"]
    data = Path(card["dataset"]["source"]).name
    demo = " (the DEMO dataset, not FER2013)" if card["dataset"]["is_demo"] else ""
    chosen = card["test_time"]["chosen"]
    ferplus = card.get("ferplus")  # cards shipped before FER+ lack it
    plus_recall = ferplus["test"]["per_class"] if ferplus else {}
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
        *_recipe_lines(card, data),
        "",
        "## Accuracy",
        f"PublicTest (test) **{test['accuracy']:.2%}**; PrivateTest (validation) {card['validation_accuracy']:.2%}.",
        *([f"Against the FER+ vote majority (the {ferplus['test']['n']:,} PublicTest faces whose ten annotators' "
           f"majority is one of the seven emotions): PublicTest **{ferplus['test']['accuracy']:.2%}**; PrivateTest "
           f"{ferplus['validation_accuracy']:.2%}."] if ferplus else []),
        "",
        f"Test-time options (`fer_lib.inference.inference_model`; shipped: {chosen}, the best on PrivateTest"
        + {("fer2013",): "):", ("ferplus",): " against the FER+ majority, the targets it was taught):"}.get(
            tuple(card["test_time"].get("chosen_on", ("fer2013",))), " against both label sets, averaged):"),
        "",
        "| test-time option | PrivateTest | PublicTest |" + " PublicTest, FER+ majority |" * bool(ferplus),
        "|---|---|---|" + "---|" * bool(ferplus),
        *(f"| {option} | {accuracy:.2%} | {card['test_time']['test_accuracy'][option]:.2%} |"
          + (f" {ferplus['test_accuracy'][option]:.2%} |" if ferplus else "")
          for option, accuracy in card["test_time"]["validation_accuracy"].items()),
        "",
        "| emotion | PublicTest faces | recall (per-class accuracy) | precision |"
        + " FER+ majority: faces | recall |" * bool(ferplus),
        "|---|---|---|---|" + "---|---|" * bool(ferplus),
        *(f"| {emotion} | {scores['support']} | {scores['recall']:.1%} | {scores['precision']:.1%} |"
          + (f" {plus_recall[emotion]['support']} | {plus_recall[emotion]['recall']:.1%} |" if ferplus else "")
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


def _recipe_lines(card: dict, data: str) -> list[str]:
    """The card's recipe section: each run's recipe, how long it trained, and the commands that retrain and ship it."""
    runs = members(card)
    folders = " ".join(member["run"]["folder"] for member in runs)
    denoise = card["test_time"].get("denoise", 0.0)  # cards shipped before the option existed lack it
    ship_command = (f"`python -m fer_lib ship --run-dir {folders} --data {data} --name {card['name']}"
                    f"{f' --denoise {denoise:g}' * bool(denoise)}`")
    test_time = _test_time_words(card["test_time"])

    def described(recipe: dict, run: dict) -> tuple[str, str, str]:
        shown_recipe = ", ".join(f"{key} {_shown(value)}" for key, value in recipe.items() if key != "model")
        command, in_code = retrain_command(recipe, run["folder"], data)
        set_in_code = f" (set in code: {', '.join(f'{key} {_shown(value)}' for key, value in in_code.items())})" * bool(in_code)
        trained = (f"Trained {run['epochs_run']} epochs in {run['training_seconds'] / 3600:.2f} h (wall time, median "
                   f"epoch {run['median_epoch_seconds']:.0f} s)")
        return f"`{recipe['model']}`: {shown_recipe}.", trained, f"`{command}`{set_in_code}"

    if len(runs) == 1:
        recipe, trained, command = described(runs[0]["recipe"], runs[0]["run"])
        return [recipe, f"{trained}; shipped: epoch {runs[0]['run']['best_epoch']}, the best by PrivateTest, {test_time}.",
                f"Retrain: {command}, then {ship_command}."]
    lines = [f"The mean of {len(runs)} networks' probabilities (`fer_lib.inference.averaged`), each the best epoch by "
             f"PrivateTest of its own run; shipped: {test_time}, in front of the mean.", ""]
    for i, member in enumerate(runs, 1):
        recipe, trained, command = described(member["recipe"], member["run"])
        lines.append(f"{i}. {recipe} {trained}; its epoch {member['run']['best_epoch']}. Retrain: {command}.")
    return lines + ["", f"Then: {ship_command}."]


def retrain_command(recipe: dict, run_folder: str, data: str = "fer2013.csv") -> tuple[str, dict]:
    """The `train` command that repeats `recipe` (a metrics.json config) on `data` — a flag for each setting that
    differs from its model's defaults — and the differing settings the command line cannot set."""
    model = recipe_of(recipe["model"])
    config = config_class(model)
    defaults = json.loads(json.dumps(vars(config())))  # tuples become lists, as in metrics.json
    differing = {key: value for key, value in recipe.items() if key in defaults and key != "parent"
                 and value != defaults[key]}
    words = [f"python -m fer_lib train --model {model}", f"--data {data} --run-dir {run_folder}"]
    if model == "robust":
        words.insert(1, f"--parent {recipe['parent']}")
    words += [f"--{key.replace('_', '-')}" + (f" {_flag_value(value)}" if value is not True else "")
              for key in TRAIN_FLAGS if key in differing for value in [differing.pop(key)]]
    return " ".join(words), differing


def _flag_value(value) -> str:
    """A recipe value as `train` takes it: a list as separate words."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def _test_time_words(test_time: dict) -> str:
    """The chosen test-time option in words."""
    corners, denoise = test_time.get("corners", 0), test_time.get("denoise", 0.0)  # older cards lack them
    words = [f"each dark face denoised first (non-local means at {denoise:g}x its own noise)"] * bool(denoise)
    words += [f"each face blurred{' first' * (not denoise)} (Gaussian, sigma {test_time['blur_sigma']:g} px)"] * bool(test_time["blur_sigma"])
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
    test, latency, runs = card["test"], card["cpu_latency"], members(card)
    accuracy = card["test_time"]
    lines = [
        "| | |",
        "|---|---|",
        f"| PublicTest accuracy (test) | **{test['accuracy']:.2%}** |",
        f"| PrivateTest accuracy (validation) | {card['validation_accuracy']:.2%} |",
        *([f"| PublicTest agreement with the FER+ vote majority ({card['ferplus']['test']['n']:,} faces) | "
           f"{card['ferplus']['test']['accuracy']:.2%} |"] if "ferplus" in card else []),
        f"| PublicTest without test-time options / as shipped ({accuracy['chosen']}, chosen on PrivateTest) | "
        f"{accuracy['test_accuracy']['plain']:.2%} / {test['accuracy']:.2%} |",
        *(f"| {emotion} (PublicTest recall, n={scores['support']}) | {scores['recall']:.1%} |"
          for emotion, scores in test["per_class"].items()),
        f"| parameters, file size | {card['parameters']:,}, {card['bytes'] / 1e6:.1f} MB |",
        *(f"| training{f' (member {i})' * (len(runs) > 1)} | {run['epochs_run']} epochs, "
          f"{run['training_seconds'] / 3600:.2f} h wall time (median epoch {run['median_epoch_seconds']:.0f} s), "
          f"best epoch {run['best_epoch']} |" for i, run in enumerate((member["run"] for member in runs), 1)),
        f"| CPU latency per face: one at a time, batches of 64 | {latency['model']['one_face_ms']:.2f} ms, "
        f"{latency['model']['batch_64_ms_per_face']:.3f} ms ({latency['ratio_to_paper_cnn']['one_face_ms']:.1f}x, "
        f"{latency['ratio_to_paper_cnn']['batch_64_ms_per_face']:.1f}x the paper's CNN) |",
    ]
    return "\n".join(lines)
