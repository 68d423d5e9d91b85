import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from fer_lib.cli import main  # noqa: E402
from fer_lib.strong_cnn import StrongConfig, build_strong_cnn, learning_rate_schedule  # noqa: E402
from fer_lib.training import set_seed, train  # noqa: E402

TINY = StrongConfig(epochs=3, warmup_epochs=1, widths=(8, 16), convs_per_stage=(1, 2), dense_units=16)


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"warmup_epochs": 36}, "warmup_epochs must lie in [0, epochs=36)"),
    ({"optimizer": "rmsprop"}, "optimizer must be 'sgd' or 'adamw'"),
    ({"widths": (32, 64), "convs_per_stage": (1, 1, 2)}, "needs a positive count per stage of (32, 64)"),
    ({"widths": ()}, "widths must be 1 to 4 positive channel counts"),
    ({"dropout": 1.0}, "dropout must lie in [0, 1)"),
    ({"crop": 8}, "crop must be 0 (the whole face) or 16 to 48 pixels, got 8"),
    ({"interpolation": "bicubic"}, "interpolation must be 'bilinear' or 'nearest', got 'bicubic'"),
    ({"conditions": 1.5}, "conditions must lie in [0, 1], got 1.5"),
])
def test_config_rejects_bad_settings(change, message):
    with pytest.raises(ValueError) as error:
        StrongConfig(**change)
    assert message in str(error.value)


def test_default_recipe_shape_and_size():
    model = build_strong_cnn()
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    assert model.count_params() == 1_720_743  # the shipped size is checked against this in the model card
    assert model.count_params() * 4 < 20e6


def test_augmentation_acts_only_while_training(demo):
    set_seed(0)
    model = build_strong_cnn(TINY, 64)
    faces = demo.test.x[:8, ..., None].astype("float32") / 255
    inference = model(faces, training=False).numpy()
    np.testing.assert_array_equal(inference, model(faces, training=False).numpy())
    np.testing.assert_allclose(inference.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(inference, model(faces, training=True).numpy())


def test_a_cropping_network_sees_only_the_centre_window_at_inference(demo):
    set_seed(0)
    model = build_strong_cnn(StrongConfig(crop=40, interpolation="nearest", widths=(8, 16), convs_per_stage=(1, 1),
                                          dense_units=16), 64)
    assert model.get_layer("shift").interpolation == model.get_layer("zoom").interpolation == "nearest"
    faces = demo.test.x[:8, ..., None].astype("float32") / 255
    framed = faces.copy()
    framed[:, :4], framed[:, -4:], framed[:, :, :4], framed[:, :, -4:] = 0, 1, 0, 1  # only the 4-px border differs
    np.testing.assert_array_equal(model(faces, training=False).numpy(), model(framed, training=False).numpy())
    faces[:, 10, 10] = 1 - faces[:, 10, 10]  # inside the window: the prediction moves
    assert not np.array_equal(model(faces, training=False).numpy(), model(framed, training=False).numpy())


def test_a_conditioned_network_sees_every_exposure_and_contrast_alike(demo):
    set_seed(0)
    model = build_strong_cnn(StrongConfig(conditions=0.5, widths=(8, 16), convs_per_stage=(1, 1), dense_units=16), 64)
    faces = demo.test.x[:8, ..., None].astype("float32") / 255
    dim = 0.2 * faces + 0.05  # darker, flatter, the black level lifted
    np.testing.assert_allclose(model(faces, training=False).numpy(), model(dim, training=False).numpy(), atol=1e-3)
    normalized = build_strong_cnn(StrongConfig(contrast_normalization=True, widths=(8, 16), convs_per_stage=(1, 1),
                                               dense_units=16), 64)  # the same layer without the conditions
    np.testing.assert_allclose(normalized(faces, training=False).numpy(), normalized(dim, training=False).numpy(),
                               atol=1e-3)
    plain = build_strong_cnn(TINY, 64)
    assert "contrast" not in [layer.name for layer in plain.layers]
    assert not np.allclose(plain(faces, training=False).numpy(), plain(dim, training=False).numpy(), atol=1e-3)


def test_cli_trains_with_the_conditions(tmp_path, capsys, monkeypatch):
    from fer_lib import robust_cnn

    seen, original = [], robust_cnn.condition_augmentation

    def spy(share, seed, weights):
        augment = original(share, seed, weights)

        def recorded(faces, indices):
            out = augment(faces, indices)
            seen.append(float((out != faces).any(axis=(1, 2)).mean()))
            return out

        return recorded

    monkeypatch.setattr(robust_cnn, "condition_augmentation", spy)
    run = tmp_path / "run"
    assert main(["train", "--model", "strong", "--conditions", "0.5", "--run-dir", str(run), "--epochs", "3",
                 "--train-limit", "128"]) == 0
    assert json.loads((run / "metrics.json").read_text())["config"]["conditions"] == 0.5
    assert seen and 0.2 < np.mean(seen) < 0.8  # about half the faces changed
    assert keras.models.load_model(run / "best.keras", compile=False).get_layer("contrast")
    assert main(["train", "--conditions", "0.5", "--run-dir", str(tmp_path / "p")]) == 2
    assert "--conditions applies to --model strong only" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_learning_rate_warms_up_then_decays_to_zero(optimizer):
    config = StrongConfig(epochs=10, warmup_epochs=2, learning_rate=0.05, optimizer=optimizer)
    assert type(build_strong_cnn(config).optimizer).__name__.lower() == optimizer
    schedule = learning_rate_schedule(config, steps_per_epoch=10)
    rates = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    assert rates[0] == 0 and rates[1] == pytest.approx(0.025) and rates[2] == pytest.approx(0.05)
    assert rates[2] > rates[3] > rates[4] and rates[4] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_training_is_deterministic_and_resumable(demo, tmp_path, precision):
    config = StrongConfig(**vars(TINY) | {"precision": precision})
    histories = []
    for run in ("a", "b"):
        set_seed(TINY.seed)
        histories.append(train(build_strong_cnn(config, 128), demo.train.head(128), demo.validation.head(64),
                               tmp_path / run, config, verbose=0))
    assert histories[0].drop(columns="seconds").equals(histories[1].drop(columns="seconds"))
    set_seed(TINY.seed)
    reused = build_strong_cnn(config, 128)
    train(reused, demo.train.head(128), demo.validation.head(64), tmp_path / "a", config, reuse=True, verbose=0)
    assert [w.shape for w in reused.get_weights()] == [w.shape for w in keras.models.load_model(tmp_path / "a" / "model.keras").get_weights()]


def test_a_short_bfloat16_training_learns_as_the_float32_one_does(demo, tmp_path):
    from fer_lib.paper_cnn import build_paper_cnn
    from fer_lib.training import TrainConfig

    accuracy = {}
    for precision in ("float32", "bfloat16"):
        config = TrainConfig(epochs=4, precision=precision)
        set_seed(config.seed)
        model = build_paper_cnn(config.learning_rate, precision)
        assert model.get_layer("conv1").compute_dtype == precision
        history = train(model, demo.train.head(1024), demo.validation, tmp_path / precision, config, verbose=0)
        assert history["loss"].iloc[-1] < history["loss"].iloc[0] / 3, history
        accuracy[precision] = history["accuracy"].iloc[-1]  # on 1,024 faces, 4 epochs fit them but do not generalize yet
    chance = np.bincount(demo.train.head(1024).y).max() / 1024
    assert accuracy["float32"] > chance + 0.3, accuracy  # measured: 0.68 and 0.72, chance about 0.25
    assert accuracy["bfloat16"] > chance + 0.3 and abs(accuracy["bfloat16"] - accuracy["float32"]) < 0.1, accuracy


def test_cli_trains_the_strong_model(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "strong", "--run-dir", str(run), "--epochs", "3", "--train-limit", "128",
                 "--dropout", "0.25", "--erasing", "0"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["model"] == "strong_cnn" and metrics["config"]["epochs"] == 3
    assert metrics["config"]["dropout"] == 0.25 and metrics["config"]["erasing"] == 0
    model = keras.models.load_model(run / "best.keras", compile=False)
    assert model.get_layer("dropout1").rate == model.get_layer("dropout2").rate == 0.25
    assert "erase" not in [layer.name for layer in model.layers]
    assert metrics["config"]["learning_rate"] == 0.05 and metrics["config"]["convs_per_stage"] == [1, 1, 2, 2]
    assert metrics["epochs_run"] == 3 and metrics["final"]["test"]["n"] == metrics["dataset"]["rows"]["test"]
    assert "PublicTest accuracy" in capsys.readouterr().out


def test_on_this_machine_the_strategy_is_the_default_one():
    import tensorflow as tf

    from fer_lib.training import distribution_strategy

    strategy = distribution_strategy()
    assert strategy.num_replicas_in_sync == max(1, len(tf.config.list_logical_devices("GPU")))


def test_cli_bfloat16_computes_in_bfloat16_with_float32_weights_and_output(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "strong", "--precision", "bfloat16", "--run-dir", str(run), "--epochs", "3",
                 "--train-limit", "64"]) == 0
    assert keras.mixed_precision.global_policy().name == "float32"  # restored for whatever runs next
    model = keras.models.load_model(run / "best.keras", compile=False)
    assert model.get_layer("conv1_1").dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("conv1_1").compute_dtype == "bfloat16"
    assert model.get_layer("conv1_1").kernel.dtype == "float32"
    assert model.get_layer("rotate").compute_dtype == model.get_layer("emotion").compute_dtype == "float32"
    assert model(np.zeros((2, 48, 48, 1), "float32")).dtype == "float32"
    assert json.loads((run / "metrics.json").read_text())["config"]["precision"] == "bfloat16"


def test_a_bfloat16_network_computes_in_float32_again_with_the_same_weights(demo):
    from fer_lib.inference import predict_proba
    from fer_lib.training import in_precision

    set_seed(0)
    network = build_strong_cnn(StrongConfig(**vars(TINY) | {"precision": "bfloat16"}), 128)
    exact = in_precision(network, "float32")
    assert exact.get_layer("conv1_1").compute_dtype == "float32" and network.get_layer("conv1_1").compute_dtype == "bfloat16"
    assert in_precision(exact, "float32") is exact
    for mine, theirs in zip(exact.get_weights(), network.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    faces = demo.test.x[:32]
    np.testing.assert_allclose(predict_proba(exact, faces), predict_proba(network, faces), atol=0.05)


def test_cli_refuses_an_unknown_precision(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "strong", "--precision", "float8", "--run-dir", str(tmp_path / "run")])
    assert "--precision: invalid choice: 'float8'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="StrongConfig.precision must be one of float32, bfloat16, float16"):
        StrongConfig(precision="fp16")


@pytest.mark.parametrize("flag, value", [("--crop", "40"), ("--interpolation", "nearest")])
def test_cli_crop_and_interpolation_are_strong_only(flag, value, tmp_path, capsys):
    assert main(["train", flag, value, "--run-dir", str(tmp_path / "p")]) == 2
    assert f"{flag} applies to --model strong only" in capsys.readouterr().err
    assert main(["train", "--model", "strong", "--crop", "50", "--run-dir", str(tmp_path / "s")]) == 2
    assert "StrongConfig.crop must be 0 (the whole face) or 16 to 48 pixels, got 50" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--dropout", "--erasing"])
def test_cli_regularization_flags_are_checked(flag, tmp_path, capsys):
    assert main(["train", flag, "0.2", "--run-dir", str(tmp_path / "p")]) == 2
    assert f"{flag} applies to --model strong only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "strong", flag, "1"])
    assert exit_info.value.code == 2
    assert f"argument {flag}: must lie in [0, 1), got 1" in capsys.readouterr().err
