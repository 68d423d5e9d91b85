import numpy as np
import pytest
from PIL import Image

from fer_lib.dataset import USAGES, DataError
from fer_lib.folder_reader import read_image_folder


def save(path, array, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8), mode).save(path)


@pytest.fixture
def tree(tmp_path):
    """train/happy (2), train/sad (1), test/ with Public/PrivateTest names, validation/angry (1)."""
    root = tmp_path / "fer2013"
    save(root / "train/happy/Training_1.png", np.full((48, 48), 10))
    save(root / "train/happy/2.png", np.full((48, 48), 20))
    save(root / "train/sad/3.png", np.full((48, 48), 30))
    save(root / "test/fear/PublicTest_4.png", np.full((48, 48), 40))
    save(root / "test/fear/PrivateTest_5.png", np.full((48, 48), 50))
    save(root / "test/neutral/6.png", np.full((48, 48), 60))
    save(root / "validation/angry/7.png", np.full((48, 48), 70))
    (root / "train/happy/.DS_Store").write_bytes(b"\0\1junk")
    return root


def by_value(data):
    return {int(face[0, 0]): (int(label), USAGES[usage]) for face, label, usage in zip(data.pixels, data.labels, data.usage)}


def test_labels_and_usage_rules(tree):
    data = read_image_folder(tree, progress=False)
    assert by_value(data) == {
        10: (3, "Training"), 20: (3, "Training"), 30: (4, "Training"),
        40: (2, "PublicTest"), 50: (2, "PrivateTest"), 60: (6, "PublicTest"), 70: (0, "PrivateTest"),
    }


def test_color_and_odd_sizes_become_48x48_gray(tree):
    save(tree / "train/surprise/big.jpg", np.full((96, 80, 3), 200), mode="RGB")
    data = read_image_folder(tree, progress=False)
    face = data.pixels[data.labels == 5][0]
    assert face.shape == (48, 48) and abs(int(face.mean()) - 200) <= 2


def test_non_image_file_is_named(tree):
    (tree / "train/sad/notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"train/sad/notes\.txt: not a readable image"):
        read_image_folder(tree, progress=False)


def test_truncated_image_is_named_and_skippable(tree):
    good = (tree / "train/sad/3.png").read_bytes()
    (tree / "train/sad/broken.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"broken\.png: not a readable image"):
        read_image_folder(tree, progress=False)
    data = read_image_folder(tree, strict=False, progress=False)
    assert len(data) == 7 and data.skipped[0][0].endswith("broken.png")


def test_unknown_emotion_folder(tree):
    save(tree / "train/bored/8.png", np.zeros((48, 48)))
    with pytest.raises(DataError, match=r"bored: not an emotion folder"):
        read_image_folder(tree, progress=False)


@pytest.mark.parametrize("make, message", [
    (lambda root: None, "no such folder"),
    (lambda root: (root / "pictures").mkdir(parents=True), "expected subfolders train"),
    (lambda root: (root / "train" / "happy").mkdir(parents=True), "no images found"),
])
def test_bad_trees(tmp_path, make, message):
    root = tmp_path / "fer"
    make(root)
    with pytest.raises(DataError, match=message):
        read_image_folder(root, progress=False)
