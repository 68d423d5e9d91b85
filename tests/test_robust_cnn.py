import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("cv2")

from fer_lib.cli import main  # noqa: E402
from fer_lib.conditions import CONDITIONS, random_conditions  # noqa: E402
from fer_lib.inference import inference_label, inference_model, predict_proba, unwrap  # noqa: E402
from fer_lib.robust_cnn import (RobustConfig, build_robust_cnn, chained, condition_augmentation, face_statistics,  # noqa: E402
                                 pipeline_augmentation)
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn  # noqa: E402
from fer_lib.training import make_dataset, set_seed  # noqa: E402

TINY = StrongConfig(epochs=2, warmup_epochs=1, widths=(8,), convs_per_stage=(1,), dense_units=8)


@pytest.fixture(scope="module")
def parent():
    set_seed(0)
    return build_strong_cnn(TINY, 64)


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"learning_rate": 0}, "learning_rate must be positive"),
    ({"conditioned_share": 1.5}, "conditioned_share must lie in [0, 1]"),
    ({"pipeline_share": -0.1}, "pipeline_share must lie in [0, 1]"),
    ({"pipeline_conditions": True}, "pipeline_conditions needs a pipeline_share above 0"),
    ({"label_smoothing": 1.0}, "label_smoothing must lie in [0, 1)"),
    ({"focus_weight": 0}, "focus_weight must be positive"),
    ({"focus": ("low_light", "fog")}, "unknown condition(s) ['fog']"),
    ({"denoise": -0.5}, "denoise must be a strength >= 0, got -0.5"),
])
def test_config_rejects_bad_settings(change, message):
    with pytest.raises(ValueError) as error:
        RobustConfig(**change)
    assert message in str(error.value)


def test_random_conditions_are_seeded_and_change_the_share_asked(demo):
    faces = demo.train.x[:200]
    out = random_conditions(faces, 0.5, [0, 1, 2])
    assert out.dtype == np.uint8 and out.shape == faces.shape
    np.testing.assert_array_equal(out, random_conditions(faces, 0.5, [0, 1, 2]))
    assert not np.array_equal(out, random_conditions(faces, 0.5, [0, 1, 3]))
    changed = (out != faces).any(axis=(1, 2)).mean()
    assert 0.35 < changed < 0.65
    np.testing.assert_array_equal(random_conditions(faces, 0.0, 0), faces)
    assert (random_conditions(faces, 1.0, 0) != faces).any(axis=(1, 2)).mean() > 0.9
    with pytest.raises(ValueError, match="share must lie in"):
        random_conditions(faces, 2, 0)


def test_random_conditions_follow_the_weights(demo):
    faces = demo.train.x[:200]
    only_dark = dict.fromkeys(CONDITIONS, 0.0) | {"low_light": 1.0}
    out = random_conditions(faces, 1.0, 0, only_dark)
    assert (out.reshape(200, -1).mean(axis=1) < faces.reshape(200, -1).mean(axis=1)).all()
    with pytest.raises(ValueError, match=r"unknown condition\(s\) \['fog'\]"):
        random_conditions(faces, 0.5, 0, {"fog": 2})
    with pytest.raises(ValueError, match="not all zero"):
        random_conditions(faces, 0.5, 0, dict.fromkeys(CONDITIONS, 0.0))


def test_contrast_normalization_undoes_exposure(parent, demo):
    model = build_robust_cnn(parent, RobustConfig(), demo.train.x)
    faces = demo.test.x[:8]
    dim = np.round(faces * 0.3 + 10).astype(np.uint8)  # a darker exposure with a lifted black level
    np.testing.assert_allclose(predict_proba(model, dim), predict_proba(model, faces), atol=0.02)
    plain = build_robust_cnn(parent, RobustConfig(contrast_normalization=False), demo.train.x)
    np.testing.assert_allclose(predict_proba(plain, faces), predict_proba(parent, faces), atol=1e-6)
    mean, std = face_statistics(demo.train.x)
    assert 0 < std < mean < 1


def test_unwrap_finds_the_network_inside_the_test_time_options(parent):
    assert unwrap(inference_model(parent, flip=True, sigma=0.6)) is parent and unwrap(parent) is parent


def test_the_augmented_pipeline_is_reproducible(demo):
    config = RobustConfig()
    augment = condition_augmentation(config.conditioned_share, config.seed, config.condition_weights())
    batches = [next(iter(make_dataset(demo.train.head(128), 64, shuffle_seed=0, augment=augment)))[0].numpy()
               for _ in range(2)]
    np.testing.assert_array_equal(*batches)
    clean = next(iter(make_dataset(demo.train.head(128), 64, shuffle_seed=0)))[0].numpy()
    assert batches[0].shape == clean.shape and not np.array_equal(batches[0], clean)


def test_pipeline_augmentation_swaps_in_the_share_asked_then_conditions_follow(demo):
    faces, indices = demo.train.x[:400], np.arange(400)
    crops = 255 - demo.train.x  # stand-ins for pipeline_faces' crops, told apart from the faces by inverting them
    for share in (0.0, 0.3, 1.0):
        out = pipeline_augmentation(crops, share, seed=0)(faces, indices)
        swapped = np.array([np.array_equal(o, c) and not np.array_equal(o, f) for o, f, c in zip(out, faces, crops)])
        assert swapped.mean() == pytest.approx(share, abs=0.06)
        assert all(np.array_equal(o, f) for o, f in zip(out[~swapped], faces[~swapped]))
    swap = pipeline_augmentation(crops, 0.5, seed=0)
    np.testing.assert_array_equal(swap(faces, indices), swap(faces, indices))  # seeded by the indices
    assert not np.array_equal(swap(faces[:64], indices[:64]), swap(faces[:64], indices[64:128]))
    conditions = condition_augmentation(1.0, 0, None)
    np.testing.assert_array_equal(chained(swap, None, conditions)(faces, indices), conditions(swap(faces, indices), indices))


def test_pipeline_crops_that_carry_their_conditions_get_no_more(demo):
    faces, indices = demo.train.x[:400], np.arange(400)
    crops = 255 - demo.train.x
    conditions = condition_augmentation(1.0, 0, None)
    out = pipeline_augmentation(crops, 0.5, seed=0, others=conditions)(faces, indices)
    swapped = np.array([np.array_equal(o, c) for o, c in zip(out, crops)])
    assert swapped.mean() == pytest.approx(0.5, abs=0.06)
    np.testing.assert_array_equal(out[~swapped], conditions(faces[~swapped], indices[~swapped]))
    assert not any(np.array_equal(o, f) for o, f in zip(out[~swapped], faces[~swapped]))


def test_a_bfloat16_fine_tuning_computes_the_parents_network_in_bfloat16(parent, demo):
    model = build_robust_cnn(parent, RobustConfig(precision="bfloat16"), demo.train.x)
    network = unwrap(model)
    assert network.get_layer("conv1_1").compute_dtype == "bfloat16" and network.get_layer("conv1_1").kernel.dtype == "float32"
    assert network.get_layer("emotion").compute_dtype == model.get_layer("contrast").compute_dtype == "float32"
    assert parent.get_layer("conv1_1").compute_dtype == "float32"  # the parent itself is left as it was
    exact = build_robust_cnn(parent, RobustConfig(), demo.train.x)
    faces = demo.test.x[:32]
    np.testing.assert_allclose(predict_proba(model, faces), predict_proba(exact, faces), atol=0.05)


def test_cli_fine_tunes_a_parent(parent, tmp_path, capsys):
    parent.save(tmp_path / "parent.keras")
    run = tmp_path / "run"
    assert main(["train", "--model", "robust", "--data", "demo", "--parent", str(tmp_path / "parent.keras"),
                 "--run-dir", str(run), "--epochs", "1", "--train-limit", "64", "--conditioned-share", "1",
                 "--focus", "glasses", "glasses+angle", "--focus-weight", "5", "--pipeline-share", "0.5",
                 "--pipeline-conditions"]) == 0
    assert "pipeline faces: the default detector found" in capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["model"] == "robust_cnn" and metrics["config"]["conditioned_share"] == 1
    assert metrics["config"]["pipeline_share"] == 0.5 and metrics["config"]["pipeline_conditions"] is True
    assert metrics["config"]["focus"] == ["glasses", "glasses+angle"] and metrics["config"]["focus_weight"] == 5
    assert metrics["config"]["parent"] == str(tmp_path / "parent.keras")
    for flag in (["--parent", "x.keras"], ["--focus", "glasses"], ["--conditioned-share", "0.5"], ["--pipeline-share", "0.5"],
                 ["--pipeline-conditions"]):
        assert main(["train", "--model", "strong", *flag, "--run-dir", str(tmp_path / "s")]) == 2
        assert f"{flag[0]} applies to --model robust only" in capsys.readouterr().err
    assert main(["train", "--model", "robust", "--data", "demo", "--focus", "fog", "--run-dir", str(tmp_path / "f")]) == 2
    assert "unknown condition(s) ['fog']" in capsys.readouterr().err
    assert main(["train", "--model", "robust", "--data", "demo", "--parent", "missing.keras", "--run-dir",
                 str(tmp_path / "r")]) == 2
    assert "missing.keras: no such model file" in capsys.readouterr().err


def test_a_fine_tuning_behind_the_denoising_ships_with_it_once(parent, tmp_path, capsys):
    parent.save(tmp_path / "parent.keras")
    run, models = tmp_path / "run", tmp_path / "models"
    assert main(["train", "--model", "robust", "--data", "demo", "--parent", str(tmp_path / "parent.keras"),
                 "--run-dir", str(run), "--epochs", "1", "--train-limit", "64", "--denoise", "0.8"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["denoise"] == 0.8
    trained = keras.models.load_model(run / "best.keras", compile=False)
    assert trained.get_layer("denoised").compute_dtype == "float32"
    assert main(["ship", "--data", "demo", "--run-dir", str(run), "--name", "mine", "--models-dir", str(models)]) == 0
    card = json.loads((models / "mine.json").read_text())
    assert card["test_time"]["denoise"] == 0.8 and card["recipe"]["denoise"] == 0.8
    assert "--denoise 0.8 --run-dir" not in (models / "mine.md").read_text()  # the recipe's flag ...
    assert "--epochs 1 --denoise 0.8`" in (models / "mine.md").read_text()  # ... in the Retrain command
    # the shipped file denoises once: its bare option reads the faces as the run's best epoch did
    bare = card["test_time"]["validation_accuracy"][inference_label(False, 0.0, 0, 0.8)]
    assert bare == pytest.approx(metrics["best"]["validation_accuracy"], abs=1e-9)
    shipped = keras.models.load_model(models / "mine.keras", compile=False)
    assert sum(layer.name == "denoised" for layer in shipped.layers) == 1
    capsys.readouterr()
    assert main(["ship", "--data", "demo", "--run-dir", str(run), "--name", "other", "--models-dir", str(models),
                 "--denoise", "1.0"]) == 2
    assert "trained behind the denoising at 0.8 (train --denoise); --denoise 1 cannot ship them" in capsys.readouterr().err
    assert main(["train", "--model", "strong", "--denoise", "0.8", "--run-dir", str(tmp_path / "s")]) == 2
    assert "--denoise applies to --model robust only" in capsys.readouterr().err
