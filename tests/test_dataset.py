import numpy as np
import pytest

from fer_lib import EMOTIONS, FERDataset, normalize, one_hot


def small_dataset():
    usage = np.array([0, 1, 2, 0, 2, 0], np.uint8)  # Training, PublicTest, PrivateTest, ...
    labels = np.array([0, 1, 2, 3, 4, 1], np.int8)
    pixels = np.arange(6, dtype=np.uint8)[:, None, None] * np.ones((1, 48, 48), np.uint8)
    return FERDataset(pixels=pixels, labels=labels, usage=usage, source="memory")


def test_split_follows_the_paper():
    splits = small_dataset().split()
    assert splits.train.y.tolist() == [0, 3, 1]
    assert splits.validation.y.tolist() == [2, 4]  # PrivateTest validates
    assert splits.test.y.tolist() == [1]  # PublicTest tests
    assert splits.test.x[0, 0, 0] == 1


def test_class_counts():
    counts = small_dataset().class_counts()
    assert counts.loc["Training"].tolist() == [1, 1, 0, 1, 0, 0, 0]
    assert counts.columns.tolist() == list(EMOTIONS) and counts.values.sum() == 6


def test_first_of_each():
    train = small_dataset().split().train  # labels 0, 3, 1
    assert train.first_of_each().tolist() == [0, 2, 1]  # angry, disgust, happy (others absent)
    assert train.first_of_each(emotions=("happy", "angry")).tolist() == [1, 0]


def test_to_frame_has_the_kaggle_layout():
    frame = small_dataset().to_frame(2)
    assert frame.columns.tolist() == ["emotion", "pixels", "Usage"]
    assert frame["Usage"].tolist() == ["Training", "PublicTest"] and frame["emotion"].tolist() == [0, 1]
    assert frame["pixels"][1] == " ".join(["1"] * 2304)
    assert small_dataset().to_frame(1, pixels=False)["pixels"][0] == "(2304 values, not shown)"


def test_mean_faces():
    means = small_dataset().split().train.mean_faces()  # rows 0 (angry), 3 (happy), 5 (disgust), pixel value = row
    assert means.shape == (7, 48, 48) and means.dtype == np.float32
    assert means[:, 0, 0].tolist() == [0, 5, 0, 3, 0, 0, 0]


def test_head():
    train = small_dataset().split().train
    assert len(train.head(2)) == 2 and train.head(None) is train


def test_normalize():
    x = np.array([[[0] * 48] * 48, [[255] * 48] * 48], np.uint8)
    out = normalize(x)
    assert out.shape == (2, 48, 48, 1) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    with pytest.raises(ValueError, match=r"expected faces shaped \(N, 48, 48\), got \(48, 48\)"):
        normalize(x[0])


def test_one_hot_matches_keras():
    keras = pytest.importorskip("keras")
    y = np.array([0, 6, 3, 3])
    np.testing.assert_array_equal(one_hot(y), keras.utils.to_categorical(y, 7))
    assert one_hot(y).dtype == np.float32
    with pytest.raises(ValueError, match="labels must lie in 0..6"):
        one_hot(np.array([7]))
