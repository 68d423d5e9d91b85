"""Cameras: a local one by OpenCV's index or a network camera's stream URL (RTSP, HTTP MJPEG), read live and
reconnected when its stream drops; and what stands in for a camera in tests and benchmarks (a clip made from a
photograph that scikit-image ships, as a y4m file for Chromium's fake camera or as a local MJPEG stream).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .images import ImageError

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
TIMEOUT_MS = 5000  # a stream that opens or sends nothing for this long counts as dropped
RECONNECT_EVERY = 1.0  # seconds between tries to open a dropped stream again


@dataclass(frozen=True)
class Camera:
    """A camera to read live: `address` is OpenCV's index of a local camera (0, 1, ...) or a stream URL."""
    address: int | str

    @property
    def is_stream(self) -> bool:
        return isinstance(self.address, str)

    @property
    def name(self) -> str:
        """How rows and messages name it: the URL without a user name or password."""
        if not self.is_stream:
            return f"camera {self.address}"
        parts = urlsplit(self.address)
        host = parts.hostname or ""
        host = f"{host}:{parts.port}" if parts.port else host
        return f"camera {urlunsplit((parts.scheme, host, parts.path, parts.query, ''))}"

    @property
    def stem(self) -> str:
        """A file name's stem for its outputs."""
        if not self.is_stream:
            return f"camera{self.address}"
        parts = urlsplit(self.address)
        words = "".join(c if c.isalnum() else "_" for c in f"{parts.hostname or ''}{parts.path}").strip("_")
        return f"camera_{words or 'stream'}"


def camera(value) -> Camera:
    """A Camera from what a user gives: a Camera, an index (int or digits) or a stream URL; ValueError otherwise."""
    if isinstance(value, Camera):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return Camera(int(value))
    text = str(value).strip()
    if text.isdigit():
        return Camera(int(text))
    scheme = urlsplit(text).scheme.lower()
    if scheme in STREAM_SCHEMES and urlsplit(text).hostname:
        return Camera(text)
    raise ValueError(f"--camera {value!r}: expected a camera's index (0, 1, ...) or a stream URL "
                     f"({', '.join(s + '://' for s in STREAM_SCHEMES)}host/...)")


def open_capture(source: Camera):
    """An opened cv2.VideoCapture for `source`, or None; streams give up after TIMEOUT_MS without data."""
    import cv2

    if source.is_stream:
        capture = cv2.VideoCapture(source.address, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, TIMEOUT_MS])
    else:
        capture = cv2.VideoCapture(source.address)
    if capture.isOpened():
        return capture
    capture.release()
    return None


def next_due(timestamp: float, fps: float) -> float:
    """When the next frame is due after one kept at `timestamp` seconds, reading `fps` frames a second (0: every)."""
    return (np.floor(timestamp * fps + 1e-9) + 1) / fps if fps else 0.0


def camera_frames(source: Camera, fps: float = 1.0, max_seconds: float = 10.0, log=print):
    """(frame index, seconds since the first frame, RGB frame) from a camera, `fps` frames per second (0: every
    frame), for `max_seconds`. A stream that drops is opened again every RECONNECT_EVERY seconds until it is back or
    the time is up, and `log` gets a line for the drop and one for the return; the frame index counts on."""
    import cv2

    capture = open_capture(source)
    if capture is None:
        raise ImageError(f"{source.name} could not be opened"
                         + (" (is the address right and the camera on?)" if source.is_stream else " (is one connected?)"))
    started, due, index = time.monotonic(), 0.0, -1
    try:
        while (now := time.monotonic() - started) < max_seconds:
            if capture is None:
                time.sleep(min(RECONNECT_EVERY, max(0.0, max_seconds - now)))
                capture = open_capture(source)
                if capture is not None:
                    log(f"{source.name}: reconnected at {time.monotonic() - started:.1f} s")
                continue
            ok, frame = capture.read()
            if not ok or frame is None:
                capture.release()
                capture = None
                if not source.is_stream:
                    raise ImageError(f"{source.name} stopped giving frames after {now:.1f} s")
                log(f"{source.name}: the stream dropped at {now:.1f} s; reconnecting")
                continue
            index += 1
            timestamp = time.monotonic() - started
            if fps and timestamp + 1e-9 < due:
                continue
            due = next_due(timestamp, fps)
            yield index, round(timestamp, 3), cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        if capture is not None:
            capture.release()
    if index < 0:
        raise ImageError(f"{source.name} gave no frame in {max_seconds:g} s")


# What stands in for a camera -------------------------------------------------------------------------------------

def astronaut_clip(frames: int = 60, size: tuple[int, int] = (640, 480), tilt: float = 15.0, dim: float = 0.4,
                   face: bool = True) -> np.ndarray:
    """(frames, height, width, 3) uint8 RGB: scikit-image's astronaut photograph (one real face), the head tilting
    up to `tilt` degrees each way and the light dimming to `dim` of its level and back, once over the clip.
    `face=False`: the same motion over its coffee photograph, which has no face."""
    import cv2
    from skimage import data

    photo = data.astronaut() if face else data.coffee()
    width, height = size
    scale = height / photo.shape[0]
    base = cv2.resize(photo, (round(photo.shape[1] * scale), height), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 96, np.uint8)
    left = (width - base.shape[1]) // 2
    canvas[:, max(left, 0):max(left, 0) + min(base.shape[1], width)] = base[:, max(-left, 0):max(-left, 0) + min(base.shape[1], width)]
    clip = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        phase = np.sin(2 * np.pi * i / frames)
        turn = cv2.getRotationMatrix2D((width / 2, height / 3), tilt * phase, 1.0)
        moved = cv2.warpAffine(canvas, turn, (width, height), borderMode=cv2.BORDER_REFLECT)
        light = 1.0 - (1.0 - dim) * (1 - np.cos(2 * np.pi * i / frames)) / 2
        clip[i] = np.clip(moved.astype(np.float32) * light, 0, 255).astype(np.uint8)
    return clip


def write_y4m(clip: np.ndarray, path: str | Path, fps: int = 30) -> Path:
    """`clip` (frames, height, width, 3) RGB as an uncompressed y4m video (4:2:0), the format Chromium's
    --use-file-for-fake-video-capture plays as a camera, looping."""
    import cv2

    frames, height, width = clip.shape[:3]
    if width % 2 or height % 2:
        raise ValueError(f"a y4m clip needs an even width and height, not {width}x{height}")
    path = Path(path)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in clip:
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


class MjpegStream:
    """`clip` served on 127.0.0.1 as an HTTP MJPEG stream (multipart/x-mixed-replace, as IP cameras serve it), looping
    at `fps`: a network camera for `predict --camera URL` to read. `drop_after`: the first connection is cut after
    that many seconds (a stream that drops), later ones are not. Use as a context manager; `url` is its address."""

    def __init__(self, clip: np.ndarray, fps: float = 15.0, drop_after: float | None = None):
        import cv2

        self.jpegs = [cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))[1].tobytes() for frame in clip]
        self.fps, self.drop_after, self.connections = fps, drop_after, 0
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stream.connections += 1
                first = stream.connections == 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                started, index = time.monotonic(), 0
                try:
                    while not stream.closed.is_set():
                        if first and stream.drop_after is not None and time.monotonic() - started > stream.drop_after:
                            return
                        jpeg = stream.jpegs[index % len(stream.jpegs)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                         % len(jpeg) + jpeg + b"\r\n")
                        index += 1
                        time.sleep(1 / stream.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.closed = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"

    def __enter__(self) -> "MjpegStream":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
