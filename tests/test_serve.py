"""fer-lib serve: the server's parts, its HTTP and WebSocket answers, and the page in a real headless Chromium whose
camera plays a clip of scikit-image's astronaut (her head tilting, the light dimming)."""
import asyncio
import csv
import io
import json
import os
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_lib import browser
from fer_lib.cameras import astronaut_clip, write_y4m
from fer_lib.cli import _parser, main
from fer_lib.predict import COLUMNS, EmotionReader
from fer_lib.pretrained import DEFAULT
from fer_lib.serve import WEB, FrameError, Latest, LiveReader, Tracks, decode_frame, iou, make_app, running

BROWSER_MISSING = browser.missing()
needs_browser = pytest.mark.skipif(BROWSER_MISSING is not None and not os.environ.get("FER_LIB_BROWSER_REQUIRED"),
                                   reason=f"no browser to test the page in: {BROWSER_MISSING}")


def jpeg(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def clip():
    return astronaut_clip(frames=30)


@pytest.fixture(scope="module")
def reader():
    return LiveReader()


@pytest.fixture(scope="module")
def server(reader):
    with running(make_app(reader=reader, max_upload_bytes=2 << 20)) as url:
        yield url


def post(url: str, data: bytes) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_tracks_keep_a_face_s_number_while_it_stays_in_view():
    tracks = Tracks()
    assert tracks.assign(np.array([[100, 100, 80, 80], [300, 100, 60, 60]]), 0.0) == [0, 1]
    assert tracks.assign(np.array([[305, 104, 60, 60], [106, 98, 80, 80]]), 0.1) == [1, 0]
    assert tracks.assign(np.array([[500, 300, 50, 50]]), 0.2) == [2]
    assert tracks.assign(np.array([[104, 100, 80, 80]]), 5.0) == [3]  # unseen for longer than TRACK_SECONDS
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(1 / 3) and iou([0, 0, 1, 1], [5, 5, 1, 1]) == 0


def test_the_latest_frame_replaces_the_unread_one():
    async def go():
        latest = Latest()
        for i in range(5):
            latest.put(i)
        return await latest.take(), latest.dropped

    assert asyncio.run(go()) == (4, 4)


def test_a_frame_that_is_not_an_image_is_refused_in_one_line():
    for bad, message in ((b"", "not a JPEG or PNG"), (b"\xff\xd8 not really", "not a JPEG or PNG"),
                         (bytes(5 << 20), "over the limit")):
        with pytest.raises(FrameError, match=message):
            decode_frame(bad)
    assert decode_frame(jpeg(np.zeros((48, 64, 3), np.uint8))).shape == (48, 64, 3)


def test_the_page_loads_nothing_from_a_network():
    for page in WEB.iterdir():
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, page.name


def test_the_server_binds_this_machine_only_by_default(capsys):
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_a_photo_is_read_with_predict_s_columns(server, tmp_path):
    from skimage import data

    buffer = io.BytesIO()
    upright = Image.fromarray(data.astronaut())
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: the viewer turns it upright, as fer_lib does
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, "JPEG", exif=exif)
    status, result = post(server + "api/photo?name=astro%20naut.jpg", buffer.getvalue())
    assert status == 200 and result["file"] == "astro naut.jpg"
    assert len(result["rows"]) == 1 and list(result["rows"][0]) == list(COLUMNS)
    row = result["rows"][0]
    assert 150 < row["x"] < 260 and 20 < row["y"] < 120 and row["emotion"] == "happy"  # upright coordinates
    assert result["annotated"].startswith("data:image/png;base64,")


def test_bad_uploads_get_one_line_and_the_server_carries_on(server):
    status, result = post(server + "api/photo?name=notes.png", b"this is not a picture")
    assert status == 400 and result["error"].startswith("notes.png: not an image fer_lib reads")
    status, result = post(server + "api/photo?name=big.png", bytes(3 << 20))
    assert status == 400 and "over the upload limit of 2,097,152" in result["error"]
    status, result = post(server + "api/video?name=clip.mp4", b"garbage, not a video")
    assert status == 400 and result["error"] == "clip.mp4: not a readable video"
    status, result = post(server + "api/video?name=clip.mp4&fps=0", b"x")
    assert status == 400 and "fps=0" in result["error"]
    with urllib.request.urlopen(server + "api/info") as reply:
        info = json.loads(reply.read())
    assert info["columns"] == list(COLUMNS)
    assert info["model"] == DEFAULT  # the shipped name, not the network's own (ferplus_cnn's is robust_cnn)


def test_a_video_is_read_once_a_second(server, tmp_path, clip):
    import cv2

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for frame in clip:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    status, result = post(server + "api/video?name=clip.mp4", path.read_bytes())
    assert status == 200 and [row["timestamp_s"] for row in result["rows"]] == [0.0, 1.0, 2.0]
    assert {row["file"] for row in result["rows"]} == {"clip.mp4"} and not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("fer_lib_serve_*"))


def test_the_socket_reads_frames_drops_what_it_cannot_keep_up_with_and_survives_bad_ones(server, clip):
    from websockets.sync.client import connect

    clock = struct.Struct("<d")
    with connect(server.replace("http", "ws") + "ws", max_size=None) as socket:
        socket.send(b"not a frame")
        assert "error" in json.loads(socket.recv(timeout=30))
        socket.send(clock.pack(12.5) + b"\xff\xd8broken")
        reply = json.loads(socket.recv(timeout=30))
        assert reply["clock"] == 12.5 and "not a JPEG or PNG" in reply["error"]
        frames = [clock.pack(float(i)) + jpeg(frame) for i, frame in enumerate(clip[:20])]
        for frame in frames:  # all at once: more than the reader can keep up with
            socket.send(frame)
        replies = []
        while not replies or replies[-1]["clock"] != 19.0:
            replies.append(json.loads(socket.recv(timeout=60)))
    assert replies[-1]["dropped"] > 0 and len(replies) + replies[-1]["dropped"] == 20
    assert all(len(reply["faces"]) == 1 and reply["faces"][0]["track"] == 0 for reply in replies)
    face = replies[-1]["faces"][0]
    assert len(face["emotions"]) == 7 and face["emotion"] == "happy"


def clip_face_region(clip) -> tuple[np.ndarray, float]:
    """The box around every box the default detector finds in the clip's frames, and their median width."""
    reader = EmotionReader()
    boxes = np.array([reader(frame)[0][0] for frame in clip[::3]])
    return (np.array([boxes[:, 0].min(), boxes[:, 1].min(), (boxes[:, 0] + boxes[:, 2]).max(),
                      (boxes[:, 1] + boxes[:, 3]).max()]), float(np.median(boxes[:, 2])))


def wait_for(driver, script: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


@needs_browser
def test_the_page_reads_the_webcam_live_in_chromium(reader, clip, tmp_path):
    """The page in headless Chromium, the clip as its camera: boxes on the face, labels and the timeline moving,
    photos and a bad file dropped in, and the CSV downloaded. Writes the screenshot the README shows."""
    from selenium.webdriver.common.by import By

    region, width = clip_face_region(clip)
    camera = write_y4m(clip, tmp_path / "camera.y4m", fps=15)
    photo, bad = tmp_path / "astronaut.png", tmp_path / "broken.png"
    Image.fromarray(clip[0]).save(photo)
    bad.write_bytes(b"not a png")
    with running(make_app(reader=reader)) as url, browser.chromium(camera, tmp_path) as driver:
        driver.get(url)
        wait_for(driver, "return fer.info !== null")
        driver.find_element(By.ID, "start").click()
        wait_for(driver, "return fer.readings >= 20")
        first_label = driver.find_element(By.CSS_SELECTOR, "#faces .label").text
        wait_for(driver, "return fer.readings >= 60")
        state = driver.execute_script("return {replies: fer.last, points: [...fer.tracks.values()].map(p => p.length),"
                                      " errors: fer.errors, rate: document.getElementById('rate').textContent}")
        driver.save_screenshot(str(tmp_path / "live_page.png"))
        driver.find_element(By.ID, "files").send_keys(f"{photo}\n{bad}")
        wait_for(driver, "return document.querySelectorAll('#results .result').length >= 1 && fer.errors.length >= 1")
        driver.find_element(By.ID, "stop").click()
        driver.find_element(By.ID, "download").click()
        deadline = time.monotonic() + 20
        while not (tmp_path / "predictions.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        errors = driver.execute_script("return fer.errors")
    assert first_label.split()[0] in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert state["errors"] == [] and max(state["points"]) >= 30 and float(state["rate"].split()[0]) > 2
    assert any(error.startswith("broken.png: not an image") for error in errors)
    rows = list(csv.DictReader((tmp_path / "predictions.csv").open()))
    camera_rows = [row for row in rows if row["file"] == "camera"]
    assert list(rows[0]) == list(COLUMNS) and len(camera_rows) >= 60
    assert [row["file"] for row in rows if row["file"] != "camera"] == ["astronaut.png"]
    for row in camera_rows:  # every box on the astronaut's face, about its size
        x, y, w, h = (int(row[c]) for c in ("x", "y", "width", "height"))
        assert region[0] - 10 <= x + w / 2 <= region[2] + 10 and region[1] - 10 <= y + h / 2 <= region[3] + 10, row
        assert 0.7 * width <= w <= 1.4 * width, row
    times = [float(row["timestamp_s"]) for row in camera_rows]
    assert times == sorted(times) and times[-1] - times[0] > 1.0
    screenshot = os.environ.get("FER_LIB_SCREENSHOT")
    if screenshot:  # how results/showcase/live_page.png is made
        Path(screenshot).write_bytes((tmp_path / "live_page.png").read_bytes())


@needs_browser
def test_the_page_carries_on_when_the_server_comes_back(reader, clip, tmp_path):
    import socket

    from selenium.webdriver.common.by import By

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    camera = write_y4m(clip[:10], tmp_path / "camera.y4m", fps=15)
    with browser.chromium(camera) as driver:
        with running(make_app(reader=reader), port=port) as url:
            driver.get(url)
            wait_for(driver, "return fer.info !== null")
            driver.find_element(By.ID, "start").click()
            wait_for(driver, "return fer.readings >= 5")
        wait_for(driver, "return fer.errors.some(e => e.includes('trying again'))", timeout=20)
        before = driver.execute_script("return fer.readings")
        with running(make_app(reader=reader), port=port):
            wait_for(driver, f"return fer.readings >= {before + 5}", timeout=30)
