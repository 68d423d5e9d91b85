"""Cameras: indexes and stream URLs, a network camera's stream read live and reconnected when it drops."""
import numpy as np
import pytest

from fer_lib.cameras import Camera, MjpegStream, astronaut_clip, camera, camera_frames, write_y4m
from fer_lib.cli import main
from fer_lib.predict import predict


def test_a_camera_is_an_index_or_a_stream_url():
    assert camera(0) == camera("0") == Camera(0)
    assert camera("rtsp://cam.local:554/live").is_stream
    assert camera("http://10.0.0.5/video.mjpg").name == "camera http://10.0.0.5/video.mjpg"
    for bad in ("-1", "ftp://host/x", "webcam", "http://", True):
        with pytest.raises(ValueError, match="expected a camera's index"):
            camera(bad)


def test_a_stream_is_named_without_its_password():
    source = camera("rtsp://admin:secret@192.168.1.20:554/stream1?channel=2")
    assert source.name == "camera rtsp://192.168.1.20:554/stream1?channel=2"
    assert "secret" not in source.stem and source.stem.startswith("camera_")


def test_the_cli_refuses_what_is_not_a_camera(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["predict", "--camera", "ftp://host/video"])
    assert exit.value.code == 2
    assert "expected a camera's index (0, 1, ...) or a stream URL" in capsys.readouterr().err


def test_the_clip_tilts_and_dims_a_real_face(tmp_path):
    clip = astronaut_clip(frames=8)
    assert clip.shape == (8, 480, 640, 3) and clip.dtype == np.uint8
    assert clip[4].mean() < 0.6 * clip[0].mean()  # dimmest halfway
    path = write_y4m(clip, tmp_path / "clip.y4m", fps=15)
    header = path.read_bytes()[:60].split(b"\n")[0]
    assert header == b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg"
    assert path.stat().st_size == len(header) + 1 + 8 * (6 + 640 * 480 * 3 // 2)


def test_a_network_camera_that_drops_is_read_again(tmp_path):
    lines = []
    with MjpegStream(astronaut_clip(frames=30, dim=0.8), fps=15, drop_after=1.5) as stream:
        outcome = predict([], None, tmp_path / "out", camera=stream.url, camera_seconds=5, fps=4, log=lines.append)
        assert stream.connections >= 2
    name = f"camera {stream.url}"
    assert any(line.startswith(f"{name}: the stream dropped at") for line in lines), lines
    assert any(line.startswith(f"{name}: reconnected at") for line in lines), lines
    times = sorted({row["timestamp_s"] for row in outcome.rows})
    assert outcome.failures == [] and {row["file"] for row in outcome.rows} == {name}
    assert times[0] < 1.5 and times[-1] > 2.5  # faces read before the drop and after the return
    assert len(times) >= 10
    faces = [row for row in outcome.rows if row["width"] >= 60]
    assert len(faces) >= 0.9 * len(outcome.rows)
    assert (tmp_path / "out" / "predictions.csv").read_text().count(name) == len(outcome.rows)


def test_a_stream_that_never_opens_fails_with_its_name(tmp_path, capsys):
    code = main(["predict", "--camera", "http://user:pw@127.0.0.1:9/none.mjpg", "--seconds", "1",
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "camera http://127.0.0.1:9/none.mjpg could not be opened (is the address right" in err
    assert "pw" not in err


def test_a_local_camera_gives_every_frame_through_camera_frames():
    with pytest.raises(Exception, match="camera 99 could not be opened"):
        next(camera_frames(Camera(99), max_seconds=1))
