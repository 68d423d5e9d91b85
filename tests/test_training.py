import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.training import TrainConfig, make_dataset, read_history, set_seed, train  # noqa: E402

TINY = TrainConfig(epochs=2, batch_size=64, seed=0)


def small(subset, n=192):
    return subset.head(n)


class Interrupt(keras.callbacks.Callback):
    """Stops training like a killed process, at the end of a given epoch (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"killed after epoch {epoch}")


def test_make_dataset_batches(demo):
    batches = list(make_dataset(small(demo.train, 150), 64, shuffle_seed=1))
    assert [int(x.shape[0]) for x, _ in batches] == [64, 64, 22]
    x, y = batches[0]
    assert x.dtype == tf.float32 and x.shape[1:] == (48, 48, 1) and y.shape[1:] == (7,)
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    np.testing.assert_allclose(tf.reduce_sum(y, axis=1).numpy(), 1.0)


def test_shuffle_is_seeded_and_complete(demo):
    subset = small(demo.train, 150)

    def first_pixels(seed):
        return np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in make_dataset(subset, 64, shuffle_seed=seed)])

    a, b, c = first_pixels(1), first_pixels(1), first_pixels(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.sort(a), np.sort(subset.x[:, 0, 0] / np.float32(255.0)))


def test_run_folder(demo, tmp_path):
    run = tmp_path / "run"
    history = train(build_paper_cnn(), small(demo.train), small(demo.validation), run, TINY, verbose=0)
    assert history["epoch"].tolist() == [0, 1]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(history.columns)
    assert {p.name for p in run.iterdir()} == {"model.keras", "best.keras", "history.csv", "logs"}
    (events,) = (run / "logs" / "train").glob("events.out.tfevents.*")
    graphs = [value.tensor.string_val[0] for event in tf.compat.v1.train.summary_iterator(str(events))
              for value in event.summary.value if value.tag == "keras"]  # Keras' conceptual graph
    assert len(graphs) == 1 and b'"name": "paper_cnn"' in graphs[0] and b"conv3" in graphs[0]

    with pytest.raises(FileExistsError, match="already holds a finished run"):
        train(build_paper_cnn(), small(demo.train), small(demo.validation), run, TINY, verbose=0)
    again = train(build_paper_cnn(), small(demo.train), small(demo.validation), run, TINY, overwrite=True, verbose=0)
    assert len(again) == 2 and (again["seconds"] > 0).all()


def test_a_finished_run_is_reused_only_with_the_same_settings(demo, tmp_path):
    run = tmp_path / "run"
    trained = build_paper_cnn()
    history = train(trained, small(demo.train), small(demo.validation), run, TINY, verbose=0)

    reused = build_paper_cnn()
    again = train(reused, small(demo.train), small(demo.validation), run, TINY, reuse=True, verbose=0)
    pd.testing.assert_frame_equal(again, history)
    np.testing.assert_array_equal(predict_proba(reused, demo.test.x[:8]), predict_proba(trained, demo.test.x[:8]))

    with pytest.raises(FileExistsError, match="other settings: epochs 2 \\(asked: 3\\)"):
        train(build_paper_cnn(), small(demo.train), small(demo.validation), run, TrainConfig(epochs=3), reuse=True)


def test_a_killed_run_resumes_where_it_stopped(demo, tmp_path):
    run = tmp_path / "run"
    config = TrainConfig(epochs=4, batch_size=64, seed=0)
    with pytest.raises(KeyboardInterrupt):
        train(build_paper_cnn(), small(demo.train), small(demo.validation), run, config,
              callbacks=[Interrupt(epoch=1)], verbose=0)
    assert (run / "backup").is_dir() and read_history(run)["epoch"].tolist() == [0, 1]

    epochs_seen = []
    counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs_seen.append(epoch))
    history = train(build_paper_cnn(), small(demo.train), small(demo.validation), run, config,
                    callbacks=[counter], verbose=0)
    assert epochs_seen == [2, 3]
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert not (run / "backup").exists()


def test_same_seed_same_numbers(demo, tmp_path):
    def run(name):
        set_seed(5)
        return train(build_paper_cnn(), small(demo.train), small(demo.validation), tmp_path / name,
                     TrainConfig(epochs=1, seed=5), verbose=0)

    a, b = run("a"), run("b")
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))  # all but wall time


def test_bad_config():
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        TrainConfig(learning_rate=0)


def test_teachers_make_up_their_share_of_each_target(demo, tmp_path):
    from fer_lib.dataset import one_hot
    from fer_lib.strong_cnn import StrongConfig
    from fer_lib.training import target_matrix, training_targets

    set_seed(3)
    teacher = build_paper_cnn()
    path = tmp_path / "teacher.keras"
    teacher.save(path)
    faces = small(demo.train, 64)
    taught = training_targets(faces, StrongConfig(teacher=(str(path),), teacher_weight=0.25))
    expected = 0.75 * one_hot(faces.y) + 0.25 * predict_proba(teacher, faces.x)
    np.testing.assert_allclose(taught, expected, atol=1e-5)
    np.testing.assert_allclose(taught.sum(axis=1), 1.0, atol=1e-5)
    assert taught.dtype == np.float32 and not np.allclose(taught, one_hot(faces.y))
    np.testing.assert_array_equal(training_targets(faces, StrongConfig()), target_matrix(faces, "fer2013"))
    with pytest.raises(ValueError, match="teacher_weight must lie in \\(0, 1\\]"):
        StrongConfig(teacher=(str(path),), teacher_weight=0)
    with pytest.raises(ValueError, match="teacher_weight 0.3 needs a teacher"):
        StrongConfig(teacher_weight=0.3)
    with pytest.raises(ValueError, match="teacher must be a tuple"):
        StrongConfig(teacher=str(path))


def test_train_distils_named_teachers_and_records_them(tmp_path, capsys):
    import json

    from fer_lib.cli import main
    from fer_lib.shipping import retrain_command

    set_seed(3)
    path = tmp_path / "teacher.keras"
    build_paper_cnn().save(path)
    run = tmp_path / "run"
    assert main(["train", "--data", "demo", "--model", "strong", "--teacher", str(path), "robust_cnn",
                 "--teacher-weight", "0.6", "--epochs", "3", "--train-limit", "128", "--run-dir", str(run)]) == 0
    config = json.loads((run / "metrics.json").read_text())["config"]
    assert config["teacher"] == [str(path), "robust_cnn"] and config["teacher_weight"] == 0.6
    assert f"--teacher {path} robust_cnn --teacher-weight 0.6" in retrain_command(config, "runs/x")[0]
    capsys.readouterr()
    assert main(["train", "--data", "demo", "--model", "strong", "--teacher", str(tmp_path / "none.keras"),
                 "--run-dir", str(tmp_path / "r2")]) == 2
    assert f"{tmp_path / 'none.keras'}: neither a shipped model" in capsys.readouterr().err


def test_an_ensemble_reads_the_mean_of_its_members_and_loads_without_fer_lib(demo, tmp_path):
    import subprocess
    import sys

    from fer_lib.inference import averaged
    from fer_lib.pretrained import load_pretrained

    set_seed(4)
    members = [build_paper_cnn(), load_pretrained("strong_cnn")]
    ensemble = averaged(members)
    faces = small(demo.test, 32).x
    expected = np.mean([predict_proba(member, faces) for member in members], axis=0)
    np.testing.assert_allclose(predict_proba(ensemble, faces), expected, atol=1e-5)
    assert averaged(members[:1]) is members[0]
    twins = averaged([members[1], load_pretrained("strong_cnn")])  # members of the same name
    np.testing.assert_allclose(predict_proba(twins, faces), predict_proba(members[1], faces), atol=1e-5)
    path = tmp_path / "ensemble.keras"
    ensemble.save(path)
    code = ("import sys, keras, numpy as np; m = keras.models.load_model(sys.argv[1], compile=False); "
            "assert 'fer_lib' not in sys.modules; print(m(np.zeros((1, 48, 48, 1), 'float32')).shape)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "(1, 7)" in out.stdout, out.stderr[-500:]
    with pytest.raises(ValueError, match="no model to average"):
        averaged([])
