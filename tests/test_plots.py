import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fer_lib import EMOTIONS, plots  # noqa: E402
from fer_lib.evaluation import score  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(figure):
    return " ".join(t.get_text() for ax in figure.axes for t in ax.texts + [ax.title])


def test_class_distribution_calls_out_the_rarest_class(demo):
    counts = pd.DataFrame([[400, 10, 300, 700, 480, 320, 480], [60, 2, 60, 100, 70, 50, 70]],
                          index=pd.Index(["Training", "PrivateTest"], name="Usage"), columns=list(EMOTIONS))
    figure = plots.class_distribution(counts)
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == list(EMOTIONS)
    assert sorted(bar.get_height() for bar in ax.patches if bar.get_height() > 0)[:2] == [2, 10]
    assert "disgust: 0.4% of Training" in texts(figure)


def test_face_grid_titles_each_face(demo):
    shown = demo.train.first_of_each(per_class=1)
    figure = plots.face_grid(demo.train.x[shown] / 255.0, demo.train.y[shown], columns=4)
    titled = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titled == list(EMOTIONS) and len(figure.axes) == 8


def test_architecture_without_graphviz():
    table = pd.DataFrame({"type": ["Conv2D", "Dense"], "details": ["8 filters 3x3, same", "7 units, softmax"],
                          "output shape": [(48, 48, 8), (7,)], "parameters": [80, 12_901]},
                         index=pd.Index(["conv1", "emotion"], name="layer"))
    figure = plots.architecture(table, title="tiny")
    shown = texts(figure)
    assert "tiny: 12,981 parameters" in shown and "conv1  (Conv2D)" in shown and "12,901 params" in shown
    assert "(48, 48, 1)" in shown  # the input box


def test_training_curves_mark_the_best_epoch():
    history = pd.DataFrame({"epoch": [0, 1, 2], "accuracy": [0.3, 0.5, 0.7], "val_accuracy": [0.3, 0.6, 0.5],
                            "loss": [2.0, 1.0, 0.5], "val_loss": [2.0, 1.1, 1.3]})
    assert "best validation: epoch 2" in texts(plots.training_curves(history, "accuracy"))
    assert "best validation: epoch 2" in texts(plots.training_curves(history, "loss"))


def test_prediction_says_right_or_wrong():
    face = np.zeros((48, 48), np.uint8)
    p = np.array([0.78, 0, 0.22, 0, 0, 0, 0])
    assert "predicted: angry (0.78), right" in texts(plots.prediction(face, p, true_label=0))
    assert "predicted: angry (0.78), wrong" in texts(plots.prediction(face, p, true_label=2))


def test_prediction_can_leave_the_face_out():
    figure = plots.prediction(None, np.eye(7)[3], true_label=3)
    assert "face not shown" in texts(figure) and not figure.axes[0].images


def test_confusion_matrix_rows_are_shares_with_counts():
    figure = plots.confusion_matrix(score(np.array([0, 0, 1, 3]), np.array([0, 3, 1, 3])).confusion)
    assert {"50%\n1", "100%\n1", "0%\n0"} <= {t.get_text() for t in figure.axes[0].texts}


def test_save_figure(tmp_path):
    figure, _ = plt.subplots()
    path = plots.save_figure(figure, tmp_path / "run", "fig04_test")
    assert path == tmp_path / "run" / "figures" / "fig04_test.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_faces_found_draws_a_line_per_detector_and_condition():
    rows = [{"detector": d, "condition": c, "severity": s, "face_size": 96, "found": f}
            for d, f in (("haar", 0.5), ("blazeface", 0.9))
            for c, s in (("clean", 0), ("glasses", 3), ("rotation", 3))]
    figure = plots.faces_found(pd.DataFrame(rows))
    titled = [ax for ax in figure.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["glasses", "rotation"]
    assert [list(line.get_ydata()) for line in titled[0].lines] == [[50.0, 50.0], [90.0, 90.0]]


def test_detector_timelines_mark_the_seconds_without_a_face():
    row = {"face": 0, "emotion": "happy", "probability": 0.9}
    figure = plots.detector_timelines({"haar": [dict(row, timestamp_s=0.0)], "blazeface": [dict(row, timestamp_s=t) for t in (0.0, 1.0, 2.0)]},
                                      3.0)
    haar, blaze = figure.axes
    assert len(haar.patches) == 2 and len(blaze.patches) == 0  # seconds 1 and 2 lost
    assert haar.get_ylabel() == "haar"


def test_detections_grid_draws_each_detectors_boxes():
    frames = [np.zeros((64, 64), np.uint8)] * 2
    figure = plots.detections_grid(frames, {"haar": [np.array([[1, 2, 10, 10]]), np.zeros((0, 4))],
                                            "blazeface": [np.array([[3, 4, 9, 9]]), np.array([[5, 5, 8, 8]])]},
                                   titles=["a", "b"])
    assert [len(ax.patches) for ax in figure.axes] == [2, 1]
