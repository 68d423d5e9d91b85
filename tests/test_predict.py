import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from PIL import Image  # noqa: E402

from fer_lib.cli import main  # noqa: E402
from fer_lib.dataset import EMOTIONS  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.predict import EmotionReader, draw, predict, video_frames  # noqa: E402
from fer_lib.training import set_seed  # noqa: E402


@pytest.fixture(scope="module")
def model():
    set_seed(0)
    return build_paper_cnn()  # untrained: these tests check the pipeline, not the emotions


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """The astronaut (a real smiling face), the coffee (no face) and a 3-second clip of both at 10 fps."""
    folder = tmp_path_factory.mktemp("media")
    Image.fromarray(skdata.astronaut()).save(folder / "astronaut.jpg")
    Image.fromarray(skdata.coffee()).save(folder / "coffee.png")
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for i in range(30):
        frame = skdata.astronaut() if i < 20 else cv2.resize(skdata.coffee(), (512, 512))
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return folder


def test_reader_returns_boxes_inside_and_probabilities_summing_to_one(model):
    boxes, probabilities = EmotionReader(model)(skdata.astronaut())
    assert boxes.shape == (1, 4) and probabilities.shape == (1, 7)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 512).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    boxes, probabilities = EmotionReader(model)(skdata.coffee())
    assert boxes.shape == (0, 4) and probabilities.shape == (0, 7)


def test_several_crops_average_the_readings_of_each_faces_views(model):
    from fer_lib.faces import crop_views
    from fer_lib.images import to_gray
    from fer_lib.inference import predict_proba, predict_proba_averaged

    one, several = EmotionReader(model), EmotionReader(model, several_crops=True)
    boxes, keypoints, probabilities = several.read(skdata.astronaut())
    np.testing.assert_array_equal(boxes, one.read(skdata.astronaut())[0])
    views = crop_views(to_gray(skdata.astronaut()), boxes, several.framing, keypoints[:, :2])
    readings = predict_proba(model, views.reshape(-1, 48, 48)).reshape(len(boxes), -1, 7)
    np.testing.assert_allclose(probabilities, readings.mean(axis=1), rtol=1e-5)
    assert not np.allclose(readings[0, 0], readings[0, 1:])  # the views differ, so the average is not one reading
    assert several(skdata.coffee())[1].shape == (0, 7)
    with pytest.raises(ValueError, match="N, V, 48, 48"):
        predict_proba_averaged(model, views[0])


@pytest.mark.parametrize("side, box, least", [(512, (180, 80, 95, 95), 16), (512, (180, 120, 300, 300), 50),
                                              (2048, (600, 500, 200, 200), 55), (512, (10, 0, 60, 60), 16)])
def test_labels_grow_with_the_face_and_the_image(side, box, least):
    canvas = draw(np.full((side, side, 3), 255, np.uint8), [box], np.eye(7)[[3]])
    band = np.where((canvas == 0).all(axis=2).any(axis=1))[0]  # the label's black band
    assert least <= len(band) == band.max() - band.min() + 1 < 2 * least


def test_video_is_sampled_at_the_asked_rate(media):
    assert [(i, t) for i, t, _ in video_frames(str(media / "clip.mp4"), fps=1)] == [(0, 0.0), (10, 1.0), (20, 2.0)]
    assert [i for i, _, _ in video_frames(str(media / "clip.mp4"), fps=4)] == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28]
    frames = list(video_frames(str(media / "clip.mp4"), fps=0))
    assert len(frames) == 30 and frames[-1][1] == 2.9 and frames[0][2].shape == (512, 512, 3)


def test_predict_writes_rows_annotations_and_a_timeline(model, media, tmp_path):
    outcome = predict([media], model, tmp_path, fps=1, log=lambda line: None)
    assert outcome.failures == [] and outcome.items == 3
    table = pd.read_csv(tmp_path / "predictions.csv")
    assert list(table["file"].map(lambda f: f.rsplit("/", 1)[-1])) == ["astronaut.jpg", "clip.mp4", "clip.mp4"]
    video = table[table["file"].str.endswith("clip.mp4")]
    assert list(video["frame"]) == [0, 10] and list(video["timestamp_s"]) == [0.0, 1.0]
    np.testing.assert_allclose(table[list(EMOTIONS)].sum(axis=1), 1.0, atol=5e-4)
    assert (table["emotion"] == table[list(EMOTIONS)].idxmax(axis=1)).all()
    assert json.loads((tmp_path / "predictions.json").read_text())["faces"][0]["emotion"] == table["emotion"][0]
    for name in ("annotated/astronaut.png", "annotated/coffee.png", "annotated/clip.mp4", "figures/clip_timeline.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert int(cv2.VideoCapture(str(tmp_path / "annotated/clip.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert not list(tmp_path.rglob("*partial*"))


def test_bad_items_are_reported_and_the_batch_carries_on(model, media, tmp_path, capsys):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "notes.jpg").write_text("not an image")
    (bad / "cut.jpg").write_bytes((media / "astronaut.jpg").read_bytes()[:4000])
    (bad / "empty.mp4").write_bytes(b"")
    Image.fromarray(np.dstack([skdata.astronaut(), np.full((512, 512), 255, np.uint8)])).save(bad / "rgba.png")
    Image.fromarray((skdata.astronaut()[..., 0].astype(np.uint16) * 257)).save(bad / "deep.png")
    saved = tmp_path / "model.keras"
    model.save(saved)
    out = tmp_path / "out"
    code = main(["predict", str(bad), str(bad / "missing.png"), "--camera", "99", "--seconds", "1",
                 "--model", str(saved), "--output", str(out)])
    assert code == 1
    printed = capsys.readouterr()
    for message in ("notes.jpg: FAILED: not an image", "cut.jpg: FAILED: corrupted or truncated image",
                    "empty.mp4: FAILED: not a readable video", "missing.png: FAILED: no such file",
                    "camera 99: FAILED: camera 99 could not be opened", "deep.png: 1 face(s)", "rgba.png: 1 face(s)"):
        assert message in printed.out
    assert "7 item(s), 2 face(s), 5 failed" in printed.out and printed.err.count("failed: ") == 5
    failures = json.loads((out / "predictions.json").read_text())["failures"]
    assert len(failures) == 5 and len(pd.read_csv(out / "predictions.csv")) == 2
    assert not list(out.rglob("*partial*"))


def test_predict_needs_something_to_read(capsys):
    assert main(["predict", "--model", "x.keras"]) == 2
    assert "nothing to read" in capsys.readouterr().err


def test_an_image_over_the_pixel_limit_is_refused(media, monkeypatch):
    from fer_lib import predict as module
    from fer_lib.images import ImageError

    monkeypatch.setattr(module, "MAX_PIXELS", 200_000)  # the astronaut has 262,144 pixels
    with pytest.raises(ImageError, match="too large"):
        module.read_image(media / "astronaut.jpg")


def test_a_video_that_breaks_part_way_leaves_no_file(model, media, tmp_path, monkeypatch):
    from fer_lib import predict as module
    from fer_lib.images import ImageError

    def breaking(source, fps, max_seconds=None, start=0, stop=None, notes=None, log=print):
        yield 0, 0.0, skdata.astronaut()
        raise ImageError("the stream broke")

    monkeypatch.setattr(module, "video_frames", breaking)
    outcome = predict([media / "clip.mp4"], model, tmp_path, log=lambda line: None)
    assert outcome.failures == [(str(media / "clip.mp4"), "the stream broke")] and outcome.rows == []
    assert not (tmp_path / "annotated").exists() or not list((tmp_path / "annotated").iterdir())


def test_a_face_that_enters_a_video_is_found_at_once(tmp_path):
    """In a video file the detector keeps the video's own time: read once a second, every frame is searched whole
    (not only around the faces already followed), so a second face is found in the first frame it is in."""
    import cv2

    half = cv2.resize(skdata.astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    path = tmp_path / "entering.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for index in range(40):
        frame = np.full((480, 640, 3), 100, np.uint8)
        frame[90:390, 10:310] = half
        if index >= 20:  # from 2 s on, a second face
            frame[90:390, 330:630] = half
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    outcome = predict([path], None, tmp_path / "out", fps=1, annotate=False, log=lambda line: None)
    faces = Counter(row["timestamp_s"] for row in outcome.rows)
    assert [faces[t] for t in (0.0, 1.0, 2.0, 3.0)] == [1, 1, 2, 2]
