import numpy as np
import pytest

pytest.importorskip("tensorflow")

from fer_lib.paper_cnn import PAPER_CNN_PARAMETERS  # noqa: E402
from fer_lib.recipes import RECIPES, build_recipe, config_class, recipe_of  # noqa: E402
from fer_lib.strong_cnn import StrongConfig  # noqa: E402
from fer_lib.training import TrainConfig  # noqa: E402

FACES = np.random.default_rng(0).integers(0, 256, (64, 48, 48), dtype=np.uint8)


def test_the_paper_recipe_by_name():
    config, model, augment = build_recipe("paper", FACES, epochs=3, learning_rate=None)
    assert config == TrainConfig(epochs=3) and augment is None  # None keeps the default
    assert model.count_params() == PAPER_CNN_PARAMETERS and model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_the_strong_recipe_with_the_conditions_augments():
    config, model, augment = build_recipe("strong", FACES, widths=(8,), convs_per_stage=(1,), dense_units=8,
                                          conditions=0.5)
    assert isinstance(config, StrongConfig) and config.conditions == 0.5
    assert model.get_layer("contrast") and augment is not None
    changed = augment(FACES, np.arange(len(FACES)))
    assert changed.shape == FACES.shape and 0.2 < (changed != FACES).any(axis=(1, 2)).mean() < 0.8


@pytest.mark.parametrize("recipe, setting, message", [
    ("paper", {"dropout": 0.2}, "--dropout applies to --model strong only (the paper recipe has no setting dropout)"),
    ("strong", {"parent": "x.keras"}, "--parent applies to --model robust only"),
    ("strong", {"focus_weight": 3}, "--focus-weight applies to --model robust only"),
    ("paper", {"colour": 1}, "colour: not a setting of any recipe (paper, strong, robust)"),
])
def test_a_setting_of_another_recipe_is_refused_by_name(recipe, setting, message):
    with pytest.raises(ValueError) as error:
        build_recipe(recipe, FACES, **setting)
    assert message in str(error.value)


def test_names():
    assert [recipe_of(model) for model in RECIPES.values()] == list(RECIPES)
    assert config_class("strong") is StrongConfig
    with pytest.raises(ValueError, match="recipe 'vgg': choose from paper, strong, robust"):
        build_recipe("vgg", FACES)
    with pytest.raises(ValueError, match="model 'vgg_cnn': no recipe trains it"):
        recipe_of("vgg_cnn")
