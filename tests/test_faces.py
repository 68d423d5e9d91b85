import json

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")

from fer_lib.detectors.haar import EYE_CASCADE_FILE, HaarCascade, find_eyes, measure_eyes  # noqa: E402
from fer_lib.faces import CROP_VIEWS, crop_faces, crop_views  # noqa: E402
from fer_lib.framing import FER_EYES, FER_FRAMING, Framing, framing_relations, measure_framing  # noqa: E402
from fer_lib.images import ImageError, to_gray  # noqa: E402
from fer_lib.loading import PROJECT_ROOT  # noqa: E402


@pytest.fixture(scope="module")
def detector():
    return HaarCascade()


def test_to_gray_handles_rgb_bgr_rgba_16_bit_and_float():
    rgb = skdata.astronaut()
    gray = to_gray(rgb)
    assert gray.dtype == np.uint8 and gray.shape == rgb.shape[:2]
    assert np.abs(gray.astype(int) - cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).max() <= 1
    np.testing.assert_array_equal(to_gray(np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])), gray)
    np.testing.assert_array_equal(to_gray(gray.astype(np.uint16) * 257), gray)
    np.testing.assert_array_equal(to_gray(gray / 255.0), gray)
    np.testing.assert_array_equal(to_gray(gray[..., None]), gray)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # what cv2.imread gives
    np.testing.assert_array_equal(to_gray(bgr, bgr=True), gray)
    np.testing.assert_array_equal(to_gray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA), bgr=True), gray)
    assert np.abs(to_gray(bgr).astype(int) - gray).max() > 20  # read as RGB, a BGR image's gray is wrong


@pytest.mark.parametrize("bad, message", [(np.zeros((4, 4, 2), np.uint8), "got shape (4, 4, 2)"),
                                          (np.zeros((0, 5), np.uint8), "the image is empty")])
def test_to_gray_rejects_what_is_not_an_image(bad, message):
    with pytest.raises(ImageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        to_gray(bad)


def test_the_astronaut_has_one_face_and_the_coffee_none(detector):
    boxes = detector(to_gray(skdata.astronaut()))
    assert boxes.shape == (1, 4)
    x, y, w, h = boxes[0]
    assert 0 <= x and 0 <= y and x + w <= 512 and y + h <= 512
    assert 150 < x < 200 and 40 < y < 90 and 80 < w < 120  # her face, not the flag or the helmet
    assert len(detector(to_gray(skdata.coffee()))) == 0


def test_a_very_large_photo_is_searched_scaled_down(detector):
    big = cv2.resize(to_gray(skdata.astronaut()), (4096, 4096), interpolation=cv2.INTER_LINEAR)
    boxes = detector(big)
    small = detector(to_gray(skdata.astronaut()))[0]
    np.testing.assert_allclose(boxes[0], small * 8, atol=8 * 8)  # largest first: her face, found at 1280 px
    assert (boxes[:, :2] >= 0).all() and (boxes[:, :2] + boxes[:, 2:] <= 4096).all()


def turned(gray, degrees):
    turn = cv2.getRotationMatrix2D((gray.shape[1] / 2, gray.shape[0] / 2), degrees, 1.0)
    return cv2.warpAffine(gray, turn, gray.shape[::-1], borderMode=cv2.BORDER_REFLECT)


def eye_line(eyes):
    """The angle of the line from the image-left to the image-right eye, in degrees (positive: the right one lower)."""
    (left_x, left_y), (right_x, right_y) = eyes
    return np.degrees(np.arctan2(right_y - left_y, right_x - left_x))


@pytest.mark.parametrize("degrees", [-12, 10])
def test_the_haar_detector_finds_the_eyes_and_their_tilt(detector, degrees):
    upright = detector.detect(to_gray(skdata.astronaut()))
    tilted = detector.detect(turned(to_gray(skdata.astronaut()), degrees))
    for found in (upright, tilted):
        (x, y, w, h), eyes = found.boxes[0], found.keypoints[0, :2]
        assert ((eyes >= [x, y]) & (eyes <= [x + w, y + h * 0.6])).all()  # in the box's upper part
        assert eyes[0, 0] < x + w / 2 < eyes[1, 0]
        assert np.isnan(found.keypoints[0, 2:]).all()  # no nose, mouth or ears from Haar
    assert eye_line(tilted.keypoints[0, :2]) - eye_line(upright.keypoints[0, :2]) == pytest.approx(-degrees, abs=2.5)
    assert np.isnan(HaarCascade(eyes=False).detect(to_gray(skdata.astronaut())).keypoints).all()


def test_no_eye_pair_where_there_is_no_face():
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + EYE_CASCADE_FILE)
    assert np.isnan(find_eyes(to_gray(skdata.coffee()), (100, 100, 200, 200), cascade)).all()
    assert np.isnan(find_eyes(to_gray(skdata.coffee()), (-5, -5, 6, 6), cascade)).all()  # too small, off the edge


def test_a_haar_face_tilted_10_degrees_is_cropped_level(detector):
    gray = turned(to_gray(skdata.astronaut()), 10)
    found = detector.detect(gray)

    def crop_tilt(face):  # the eye line in a 48x48 crop, as the detector sees it enlarged with a border
        big = cv2.copyMakeBorder(cv2.resize(face, None, fx=4, fy=4), 96, 96, 96, 96, cv2.BORDER_REPLICATE)
        return eye_line(detector.detect(big).keypoints[0, :2])

    level = eye_line(detector.detect(to_gray(skdata.astronaut())).keypoints[0, :2])  # her eyes, upright
    assert abs(crop_tilt(crop_faces(gray, found.boxes, detector.framing)[0]) - level) > 7
    assert abs(crop_tilt(crop_faces(gray, found.boxes, detector.framing, found.keypoints[:, :2])[0])) < 3


def test_crop_faces_frames_and_pads():
    image = np.arange(96 * 96, dtype=np.int64).reshape(96, 96) % 251
    image = image.astype(np.uint8)
    identity = crop_faces(image, [[24, 24, 48, 48]], Framing(1.0, 0.0, 0.0))
    np.testing.assert_array_equal(identity[0], image[24:72, 24:72])
    corner = crop_faces(image, [[-10, -10, 40, 40], [80, 80, 30, 30]])  # frames that leave the image
    assert corner.shape == (2, 48, 48) and corner.dtype == np.uint8
    assert crop_faces(image, np.zeros((0, 4))).shape == (0, 48, 48)


def test_crop_views_are_crop_faces_moved_and_turned_or_not():
    image = (np.arange(200 * 200).reshape(200, 200) * 7 % 253).astype(np.uint8)
    boxes, eyes = np.array([[60.0, 50, 80, 80], [10, 20, 40, 40]]), np.array([[[80, 80], [120, 90]], [[20, 30], [40, 30]]])
    views = crop_views(image, boxes, FER_FRAMING, eyes, views=((0, 0, True), (0, 0, False), (0.05, -0.1, True)))
    assert views.shape == (2, 3, 48, 48) and views.dtype == np.uint8
    np.testing.assert_array_equal(views[:, 0], crop_faces(image, boxes, FER_FRAMING, eyes))
    np.testing.assert_array_equal(views[:, 1], crop_faces(image, boxes, FER_FRAMING))
    moved = boxes + np.array([[4, -8, 0, 0], [2, -4, 0, 0]])  # 0.05 and -0.1 of each box's width
    np.testing.assert_array_equal(views[:, 2], crop_faces(image, moved, FER_FRAMING, eyes))
    assert crop_views(image, np.zeros((0, 4))).shape == (0, len(CROP_VIEWS), 48, 48)
    assert CROP_VIEWS[0] == (0.0, 0.0, True)  # the first view is crop_faces' own crop


def test_the_framing_constant_is_the_committed_measurement():
    measured = json.loads((PROJECT_ROOT / "results" / "face_framing.json").read_text())
    assert measured["is_demo"] is False
    assert Framing(**{k: measured[k] for k in ("scale", "dx", "dy", "measured_on", "sample")}) == FER_FRAMING
    assert 0.9 < FER_FRAMING.scale < 1.2 and abs(FER_FRAMING.dx) < 0.05 and abs(FER_FRAMING.dy) < 0.05


@pytest.mark.fer2013
def test_framing_and_eyes_remeasured_on_fer2013(fer2013_path):
    from fer_lib import load_fer2013

    faces = load_fer2013(fer2013_path, progress=False).subset("Training").x[: FER_FRAMING.sample]
    assert measure_framing(faces, framing_relations(faces, HaarCascade(min_fraction=0.3))) == FER_FRAMING
    assert measure_eyes(faces) == FER_EYES


def test_framing_spread_counts_the_faces_framed_far_from_the_median():
    from fer_lib.framing import framing_spread

    relations = np.array([[1.2, 0, 0], [1.2 * 1.5, 0, 0], [1.2 / 1.3, 0, 0], [1.2 / 2.5, 0, 0]])
    spread = framing_spread(relations, Framing(1.2, 0.0, 0.0))
    assert spread["share_off_by_more_than_sqrt2"] == 0.5 and spread["share_off_by_more_than_2"] == 0.25
    assert spread["side_over_median_percentiles"]["99"] == pytest.approx(1.485)  # interpolated towards 1.5
