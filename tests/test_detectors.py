"""fer_lib.detectors: YuNet, the default (YuNet, then the checked fallbacks), the registry."""
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
pytest.importorskip("ai_edge_litert")

from fer_lib.detectors import BACKENDS, DEFAULT_DETECTOR, DETECTORS, describe, face_detector  # noqa: E402
from fer_lib.detectors import chain  # noqa: E402
from fer_lib.detectors.base import MIN_FACE_SIDE, Detections  # noqa: E402
from fer_lib.detectors.yunet import (ENHANCE_SCORE, FRAMING, MIRROR_SCORE, MODEL_FILE, YuNet, mirror_confirmed,  # noqa: E402
                                     enhanced)  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402
from fer_lib.robustness import face_free_frames  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_yunet_ships_with_its_licenses_and_finds_a_face_with_its_landmarks():
    assert MODEL_FILE.stat().st_size == 232_589
    assert {"LICENSE", "LICENSE.opencv_zoo", "README.md"} <= {p.name for p in MODEL_FILE.parent.iterdir()}
    found = YuNet().detect(skdata.astronaut())  # RGB; a gray image works too
    assert len(found) == 1 and found.scores[0] > 0.8
    x, y, width, height = found.boxes[0]
    eyes = found.keypoints[0, :2]
    assert eyes[0, 0] < eyes[1, 0] and (x < eyes[:, 0]).all() and (eyes[:, 0] < x + width).all()
    assert np.isfinite(found.keypoints[0, :4]).all() and np.isnan(found.keypoints[0, 4:]).all()
    assert len(YuNet().detect(np.zeros((480, 640), np.uint8))) == 0


def test_yunets_framing_is_the_committed_measurement():
    measured = json.loads((ROOT / "results" / "face_framing_yunet.json").read_text())
    assert not measured["is_demo"] and measured["detector"] == "yunet"
    assert asdict(FRAMING) == {key: measured[key] for key in asdict(FRAMING)}


@pytest.mark.fer2013
def test_yunets_framing_remeasured_on_fer2013(fer2013_path):
    from fer_lib import load_fer2013
    from fer_lib.framing import framing_relations, measure_framing

    faces = load_fer2013(fer2013_path, progress=False).subset("Training").x[: FRAMING.sample]
    assert measure_framing(faces, framing_relations(faces, YuNet())) == FRAMING


def test_the_default_finds_real_faces_and_none_in_empty_frames():
    detector = face_detector()
    assert DEFAULT_DETECTOR == "yunet+yunet-enhanced+checked" and DEFAULT_DETECTOR in DETECTORS
    assert len(detector.detect(to_gray(skdata.astronaut()))) == 1
    assert all(len(detector.detect(frame)) == 0 for frame in face_free_frames(6))
    assert len(describe()) == len(DETECTORS) and all(line.split(":")[0] in DETECTORS for line in describe())


def dark_astronaut(exposure=0.1, gamma=2.0, noise=0.03):
    """The astronaut's photograph as a dim sensor takes it: underexposed, its dark tones crushed, grainy."""
    light = to_gray(skdata.astronaut()).astype(np.float32) / 255
    grain = np.random.default_rng(0).normal(0.0, noise, light.shape)
    return (np.clip(exposure * light**gamma + 0.02 * (1 - exposure) + grain, 0, 1) * 255).round().astype(np.uint8)


def test_yunet_finds_a_dark_grainy_face_in_the_image_denoised_and_equalized():
    dark, lit = dark_astronaut(), YuNet().detect(skdata.astronaut())
    assert dark.mean() < 25 and len(YuNet().detect(dark)) == 0
    found = YuNet(enhance=True).detect(dark)
    assert len(found) == 1 and iou(found.boxes[0], lit.boxes[0]) > 0.7
    stage = YuNet(min_score=ENHANCE_SCORE, mirror_score=MIRROR_SCORE)  # the stage is `enhanced`, then YuNet
    assert found.boxes.tolist() == stage.detect(enhanced(dark)).boxes.tolist()
    assert face_detector().detect(dark).boxes.tolist() == found.boxes.tolist()  # the default's second stage
    assert len(YuNet(enhance=True).detect(skdata.astronaut())) == 0  # a lit face is left to the other stages


def test_a_face_in_the_dark_counts_only_where_the_mirrored_image_has_it_too():
    width = 640
    boxes = np.array([[100, 50, 80, 90], [400, 300, 60, 60]])
    mirrored = np.array([[width - 100 - 80 + 4, 52, 80, 88],  # the first face, mirrored, a little off
                         [width - 400 - 60, 300, 60, 60]])  # the second
    scores = np.array([0.35, 0.2])  # the second scored under the bar
    assert mirror_confirmed(boxes, mirrored, scores, width, MIRROR_SCORE).tolist() == [True, False]
    assert mirror_confirmed(boxes, mirrored, scores, width, 0.1).tolist() == [True, True]
    assert mirror_confirmed(boxes, mirrored[:0], scores[:0], width, 0.1).tolist() == [False, False]
    assert mirror_confirmed(boxes, boxes, scores, width, 0.1).tolist() == [False, False]  # not mirrored back: elsewhere
    assert YuNet(enhance=True).mirror_score == MIRROR_SCORE and YuNet().mirror_score is None


def test_small_faces_are_not_reported():
    face = to_gray(skdata.astronaut())[40:200, 150:300]
    frame = np.full((480, 640), 120, np.uint8)
    small = cv2.resize(face, None, fx=0.15, fy=0.15, interpolation=cv2.INTER_AREA)  # a face about 14 px wide
    frame[100 : 100 + small.shape[0], 100 : 100 + small.shape[1]] = small
    found = face_detector().detect(frame)
    assert not len(found) or found.boxes[:, 2:].min() >= MIN_FACE_SIDE


class Counting:
    """A detector that counts its calls: `inner`'s faces, or none."""

    framing = FRAMING

    def __init__(self, inner=None):
        self.calls, self.inner = 0, inner

    def detect(self, image):
        self.calls += 1
        if self.inner is not None:
            return self.inner.detect(image)
        return Detections(np.zeros((0, 4), np.int64), np.zeros(0, np.float32), np.zeros((0, 6, 2), np.float32))


def test_in_video_the_fallbacks_run_at_most_once_a_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(chain.time, "monotonic", lambda: clock[0])
    first, fallback = Counting(), Counting()
    video = chain.FirstFound(first, fallback, every=chain.FALLBACK_SECONDS)
    frame = np.zeros((48, 64), np.uint8)
    for _ in range(10):
        video.detect(frame)
        clock[0] += 0.25
    assert first.calls == 10 and fallback.calls == 3  # at 100, 101 and 102 seconds
    photos = chain.FirstFound(Counting(), counted := Counting())
    for _ in range(4):
        photos.detect(frame)
    assert counted.calls == 4


def test_the_check_drops_what_the_face_mesh_does_not_see():
    class Everywhere:
        framing = FRAMING

        def detect(self, image):
            boxes = np.array([[150, 60, 120, 120], [20, 300, 120, 120]])  # the astronaut's face; her suit
            return Detections(boxes, np.ones(2, np.float32), np.full((2, 6, 2), np.nan, np.float32))

    kept = chain.Checked(Everywhere()).detect(to_gray(skdata.astronaut()))
    assert kept.boxes.tolist() == [[150, 60, 120, 120]]


def test_every_backend_is_built_by_name():
    for name in BACKENDS:
        assert hasattr(face_detector(name), "detect")
    assert type(face_detector(DEFAULT_DETECTOR, video=True)).__name__ == "Tracking"
    assert type(face_detector("yunet+checked")).__name__ == "FirstFound"
    assert type(face_detector("blazeface+haar", video=True)).__name__ == "FirstFound"


def test_in_video_a_face_is_followed_between_whole_frame_searches(monkeypatch):
    from fer_lib.cameras import astronaut_clip
    from fer_lib.detectors import track

    clock = [100.0]
    monkeypatch.setattr(track.time, "monotonic", lambda: clock[0])
    whole = Counting(face_detector(DEFAULT_DETECTOR))
    video = track.Tracking(whole)
    photos = face_detector(DEFAULT_DETECTOR)
    for frame in astronaut_clip(frames=12):  # the head tilting, the light dimming
        found, expected = video.detect(frame), photos.detect(frame)
        assert len(found) == len(expected) == 1
        assert iou(found.boxes[0], expected.boxes[0]) > 0.7 and np.isfinite(found.keypoints[0, :4]).all()
        clock[0] += 0.125
    assert whole.calls == 3  # at 100, 100.5 and 101 seconds
    empty = np.full((480, 640, 3), 90, np.uint8)
    assert len(video.detect(empty)) == 0 and whole.calls == 4  # a lost face: the whole frame at once
    with pytest.raises(ValueError, match="must frame faces as YuNet does"):
        track.Tracking(face_detector("haar"))


def iou(a, b) -> float:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    overlap = max(0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0, min(ay + ah, by + bh) - max(ay, by))
    return overlap / (aw * ah + bw * bh - overlap)


def test_the_readme_names_every_detector():
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in DETECTORS), [name for name in DETECTORS if f"`{name}`" not in readme]
