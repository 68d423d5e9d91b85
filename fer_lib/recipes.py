"""The three training recipes by name, as `train --model` takes them: "paper" (the paper's CNN and recipe,
training.TrainConfig), "strong" (strong_cnn.StrongConfig) and "robust" (robust_cnn.RobustConfig: a parent fine-tuned
under the special conditions). `build_recipe` turns a name and its settings into what `training.train` takes.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

RECIPES = {"paper": "paper_cnn", "strong": "strong_cnn", "robust": "robust_cnn"}  # the model each trains, as cards name it


def config_class(recipe: str):
    """The config dataclass of `recipe`."""
    from .robust_cnn import RobustConfig
    from .strong_cnn import StrongConfig
    from .training import TrainConfig

    if recipe not in RECIPES:
        raise ValueError(f"recipe {recipe!r}: choose from {', '.join(RECIPES)}")
    return {"paper": TrainConfig, "strong": StrongConfig, "robust": RobustConfig}[recipe]


def recipe_of(model_name: str) -> str:
    """The recipe that trains the model metrics.json and the cards call `model_name` (e.g. strong_cnn -> strong)."""
    recipes = {model: recipe for recipe, model in RECIPES.items()}
    if model_name not in recipes:
        raise ValueError(f"model {model_name!r}: no recipe trains it; known: {', '.join(recipes)}")
    return recipes[model_name]


def build_recipe(recipe: str, train_faces: np.ndarray, parent=None, **settings):
    """(config, compiled model, make_dataset's `augment` or None) for `recipe` with `settings`, its config's fields
    (None or left out: the recipe's default). `train_faces`: the uint8 Training faces (their count sets the
    schedules, their statistics the robust model's contrast normalization). `parent`, robust only: the .keras file
    fine-tuned (default: the shipped strong_cnn). A setting that belongs to another recipe is refused, named.

    Call it after training.set_seed, inside a distribution strategy's scope where there is one: the initial weights
    come from the seed."""
    config_type = config_class(recipe)
    settings = {key: value for key, value in settings.items() if value is not None}
    if parent is not None:
        settings["parent"] = parent
    _check_settings(recipe, settings)
    if "teacher" in settings:
        settings["teacher"] = tuple(_model_reference(teacher) for teacher in settings["teacher"])
    if recipe == "paper":
        from .paper_cnn import build_paper_cnn

        config = config_type(**settings)
        return config, build_paper_cnn(config.learning_rate, config.precision), None
    if recipe == "strong":
        from .robust_cnn import RobustConfig, condition_augmentation
        from .strong_cnn import build_strong_cnn

        config = config_type(**settings)
        augment = (condition_augmentation(config.conditions, config.seed, RobustConfig().condition_weights())
                   if config.conditions else None)
        return config, build_strong_cnn(config, len(train_faces)), augment
    return _build_robust(config_type, train_faces, settings)


def _build_robust(config_type, train_faces: np.ndarray, settings: dict):
    import keras

    from .loading import relative_to_project
    from .pretrained import pretrained_path
    from .robust_cnn import build_robust_cnn, chained, condition_augmentation, pipeline_augmentation

    parent = Path(settings.pop("parent", None) or pretrained_path("strong_cnn")).resolve()
    if not parent.is_file():
        raise FileNotFoundError(f"{parent}: no such model file (the parent to fine-tune, --parent)")
    if "focus" in settings:
        settings["focus"] = tuple(settings["focus"])
    config = config_type(parent=str(relative_to_project(parent)), **settings)
    model = build_robust_cnn(keras.models.load_model(parent, compile=False), config, train_faces)
    conditions = condition_augmentation(config.conditioned_share, config.seed, config.condition_weights())
    if not config.pipeline_share:
        return config, model, conditions
    from .conditions import random_conditions
    from .robustness import pipeline_faces

    scene_faces = train_faces
    if config.pipeline_conditions:
        scene_faces = random_conditions(train_faces, config.conditioned_share, [config.seed, 2], config.condition_weights())
    crops, found = pipeline_faces(scene_faces, seed=config.seed, progress=True)
    print(f"pipeline faces: the default detector found {found.sum():,} of {len(found):,} Training faces in their scenes")
    if config.pipeline_conditions:
        return config, model, pipeline_augmentation(crops, config.pipeline_share, config.seed, others=conditions)
    return config, model, chained(pipeline_augmentation(crops, config.pipeline_share, config.seed), conditions)


def _model_reference(model: str) -> str:
    """A teacher as a recipe records it: a shipped model's name as it is, a .keras file relative to the project where
    it lies inside it; FileNotFoundError naming it where it is neither."""
    from .loading import relative_to_project
    from .pretrained import available

    if Path(model).is_file():
        return str(relative_to_project(Path(model).resolve()))
    if model in available():
        return model
    raise FileNotFoundError(f"{model}: neither a shipped model ({', '.join(available())}) nor a .keras file (--teacher)")


def _check_settings(recipe: str, settings: dict) -> None:
    """Refuse a setting that `recipe`'s config lacks, naming the recipes that have it and train's flag for it."""
    own = {field.name for field in fields(config_class(recipe))}
    for key in settings:
        if key in own:
            continue
        owners = [other for other in RECIPES if key in {field.name for field in fields(config_class(other))}]
        flag = f"--{key.replace('_', '-')}"
        if not owners:
            raise ValueError(f"{key}: not a setting of any recipe ({', '.join(RECIPES)})")
        raise ValueError(f"{flag} applies to --model {' or '.join(owners)} only (the {recipe} recipe has no setting {key})")
