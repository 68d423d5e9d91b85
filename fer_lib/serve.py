"""`fer-lib serve`: a web page that reads the emotions of the faces in a webcam live, and in dropped photos and videos.

The page (fer_lib/web/, plain HTML and JavaScript, nothing from a network) sends each camera frame as a JPEG over a
WebSocket. The server reads the latest frame only: frames that arrive while it reads replace each other, so a slow
reader drops frames and never queues them. Each reply holds every face's box, its track (the same number while the
face stays in view) and its seven probabilities. Photos and videos are posted whole and read as `predict` reads them.
Nothing is written to disk, except an uploaded video while it is read (OpenCV reads files), in a temporary folder.
Needs the `web` extra: `pip install "fer_lib[web]"` (Starlette, uvicorn).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import struct
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS
from .detectors import DEFAULT_DETECTOR

WEB = Path(__file__).with_name("web")
HOST, PORT = "127.0.0.1", 8000
MAX_FRAME_BYTES = 4 << 20  # one camera frame: a 1920x1080 JPEG is about 0.5 MB
MAX_UPLOAD_BYTES = 200 << 20  # one photo or video posted to the page
MAX_FRAME_SIDE = 4096
TRACK_IOU = 0.3  # a face in the next reading overlapping a track's last box this much continues it
TRACK_SECONDS = 2.0  # a track unseen this long is forgotten
HEADER = struct.Struct("<d")  # each frame message starts with the page's clock in milliseconds


class FrameError(ValueError):
    """A frame or a file the page sent that cannot be read: told to the page, the server carries on."""


class Tracks:
    """Numbers for the faces of one camera: a face keeps its number while each reading finds it overlapping its last
    box (IoU >= TRACK_IOU), largest faces matched first; new faces get the next number."""

    def __init__(self):
        self.last: dict[int, tuple[np.ndarray, float]] = {}
        self.next_id = 0

    def assign(self, boxes: np.ndarray, now: float) -> list[int]:
        self.last = {i: (box, seen) for i, (box, seen) in self.last.items() if now - seen <= TRACK_SECONDS}
        ids, free = [], dict(self.last)
        for box in boxes:
            best = max(free, key=lambda i: iou(free[i][0], box), default=None)
            if best is not None and iou(free[best][0], box) >= TRACK_IOU:
                free.pop(best)
                ids.append(best)
            else:
                ids.append(self.next_id)
                self.next_id += 1
        for i, box in zip(ids, boxes):
            self.last[i] = (np.asarray(box, float), now)
        return ids


def iou(a, b) -> float:
    """Intersection over union of two [x, y, width, height] boxes."""
    ax, ay, aw, ah = map(float, a)
    bx, by, bw, bh = map(float, b)
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    union = aw * ah + bw * bh - w * h
    return w * h / union if union > 0 else 0.0


class Latest:
    """One slot for a camera's frames: `put` replaces what has not been read yet (counted in `dropped`); `take`
    waits for the next."""

    def __init__(self):
        self.item, self.dropped = None, 0
        self.ready = asyncio.Event()

    def put(self, item) -> None:
        if self.item is not None:
            self.dropped += 1
        self.item = item
        self.ready.set()

    async def take(self):
        await self.ready.wait()
        item, self.item = self.item, None
        self.ready.clear()
        return item


def decode_frame(data: bytes) -> np.ndarray:
    """A JPEG or PNG frame's bytes as an RGB array; FrameError if it is not one."""
    import cv2

    if len(data) > MAX_FRAME_BYTES:
        raise FrameError(f"a frame of {len(data):,} bytes is over the limit of {MAX_FRAME_BYTES:,}")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise FrameError("a frame that is not a JPEG or PNG image")
    if max(image.shape[:2]) > MAX_FRAME_SIDE:
        raise FrameError(f"a frame of {image.shape[1]}x{image.shape[0]} is over {MAX_FRAME_SIDE} pixels a side")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class LiveReader:
    """What the server reads with: EmotionReaders for camera frames (the detector's video settings: its fallbacks
    at most once a second) and for photos, the classifier on `runtime` (runtimes.RUNTIMES), shared by every page
    and used by one thread at a time."""

    def __init__(self, model=None, detector: str = DEFAULT_DETECTOR, runtime: str = "litert"):
        from .predict import readers
        from .pretrained import DEFAULT

        self.photos, self.video = readers(model, detector, video_detect_side=320, runtime=runtime)
        # the name the user gave (a shipped name or a file), not the network's own: ferplus_cnn's is robust_cnn
        self.model_name = model if isinstance(model, str) else DEFAULT if model is None else getattr(model, "name", "a model")
        self.detector = detector
        self.lock = threading.Lock()

    def frame(self, data: bytes, tracks: Tracks) -> dict:
        """One camera frame's faces: box, track, top emotion, its probability, the seven probabilities."""
        image = decode_frame(data)
        started = time.perf_counter()
        with self.lock:
            boxes, probabilities = self.video(image)
        ids = tracks.assign(boxes, time.monotonic())
        faces = [{"track": track, "box": [int(v) for v in box], "emotion": EMOTIONS[int(np.argmax(p))],
                  "probability": round(float(np.max(p)), 4), "emotions": [round(float(v), 4) for v in p]}
                 for track, box, p in zip(ids, boxes, probabilities)]
        return {"faces": faces, "width": image.shape[1], "height": image.shape[0],
                "read_ms": round(1000 * (time.perf_counter() - started), 1)}

    def photo(self, data: bytes, name: str) -> dict:
        """A posted photo's rows (predict's columns) and its annotated copy as a PNG data URL."""
        from PIL import Image, UnidentifiedImageError

        from .images import ImageError
        from .predict import as_array, draw, face_rows, png

        try:
            image = as_array(Image.open(io.BytesIO(data)))
        except (UnidentifiedImageError, OSError, ImageError) as error:
            raise FrameError(f"{name}: not an image fer_lib reads ({error})") from None
        with self.lock:
            boxes, probabilities = self.photos(image)
        annotated = base64.b64encode(png(draw(image, boxes, probabilities))).decode()
        return {"file": name, "rows": face_rows(name, None, None, boxes, probabilities),
                "annotated": f"data:image/png;base64,{annotated}"}

    def video_file(self, data: bytes, name: str, fps: float) -> dict:
        """A posted video's rows, `fps` frames a second (predict's columns); the file lives in a temporary folder
        while it is read."""
        from .images import ImageError
        from .predict import read_video

        rows = []
        with tempfile.TemporaryDirectory(prefix="fer_lib_serve_") as folder:
            path = Path(folder) / ("upload" + (Path(name).suffix.lower() or ".mp4"))
            path.write_bytes(data)
            try:
                with self.lock:
                    for frame_rows, _ in read_video(self.video, str(path), fps, None, annotate=False):
                        rows += [row | {"file": name} for row in frame_rows]
            except ImageError as error:
                if not rows:
                    raise FrameError(f"{name}: {error}") from None
        return {"file": name, "rows": rows}


def make_app(model=None, detector: str = DEFAULT_DETECTOR, reader: LiveReader | None = None,
             max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """The Starlette application: the page, /api/info, /api/photo, /api/video and the /ws camera socket."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    from .predict import COLUMNS

    reader = reader or LiveReader(model, detector)

    async def page(request: Request):
        name = request.path_params.get("name", "index.html")
        if name not in ("index.html", "app.js"):
            return JSONResponse({"error": f"no page {name}"}, status_code=404)
        return FileResponse(WEB / name, headers={"Cache-Control": "no-store"})

    async def info(request: Request):
        return JSONResponse({"emotions": list(EMOTIONS), "columns": list(COLUMNS), "model": reader.model_name,
                             "detector": reader.detector, "max_frame_bytes": MAX_FRAME_BYTES,
                             "max_upload_bytes": max_upload_bytes})

    async def body(request: Request) -> tuple[bytes, str]:
        name = Path(request.query_params.get("name", "upload")).name or "upload"
        data, received = bytearray(), 0
        async for chunk in request.stream():  # read to the end even when over the limit: the client then hears why
            received += len(chunk)
            if received <= max_upload_bytes:
                data += chunk
        if received > max_upload_bytes:
            raise FrameError(f"{name}: {received:,} bytes is over the upload limit of {max_upload_bytes:,}")
        if not data:
            raise FrameError(f"{name}: an empty file")
        return bytes(data), name

    async def photo(request: Request):
        try:
            data, name = await body(request)
            return JSONResponse(await run_in_threadpool(reader.photo, data, name))
        except FrameError as error:
            return JSONResponse({"error": str(error)}, status_code=400)

    async def video(request: Request):
        try:
            fps = float(request.query_params.get("fps", "1"))
            if not 0 < fps <= 30:
                raise FrameError(f"fps={fps:g}: expected more than 0 and at most 30 frames a second")
            data, name = await body(request)
            return JSONResponse(await run_in_threadpool(reader.video_file, data, name, fps))
        except ValueError as error:  # FrameError, or fps that is not a number
            return JSONResponse({"error": str(error)}, status_code=400)

    async def camera(socket: WebSocket):
        await socket.accept()
        latest, tracks = Latest(), Tracks()

        async def read_latest():
            while True:
                clock, data = await latest.take()
                try:
                    reply = await run_in_threadpool(reader.frame, data, tracks)
                except FrameError as error:
                    reply = {"error": str(error)}
                except Exception as error:  # the page hears of it, and the next frame is read
                    reply = {"error": f"the frame could not be read: {type(error).__name__}: {error}"}
                await socket.send_json(reply | {"clock": clock, "dropped": latest.dropped})

        reading = asyncio.create_task(read_latest())
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if not data or len(data) <= HEADER.size:
                    latest.put((None, b""))  # answered with an error, in turn
                    continue
                latest.put((HEADER.unpack_from(data)[0], data[HEADER.size:]))
        except WebSocketDisconnect:
            pass
        finally:
            reading.cancel()

    return Starlette(routes=[Route("/", page), Route("/api/info", info), Route("/api/photo", photo, methods=["POST"]),
                             Route("/api/video", video, methods=["POST"]), WebSocketRoute("/ws", camera),
                             Route("/{name}", page)])


def serve(host: str = HOST, port: int = PORT, model=None, detector: str = DEFAULT_DETECTOR,
          max_upload_bytes: int = MAX_UPLOAD_BYTES, log=print, runtime: str = "litert") -> None:
    """Run the page's server until Ctrl-C: http://HOST:PORT/ (127.0.0.1 unless `host` opens it to others);
    `runtime`: what runs the classifier (runtimes.RUNTIMES)."""
    import uvicorn

    check_free(host, port)
    app = make_app(model, detector, max_upload_bytes=max_upload_bytes, reader=LiveReader(model, detector, runtime))
    shown = f"[{host}]" if ":" in host else host
    log(f"fer_lib's live page: http://{shown}:{port}/ (Ctrl-C stops it)"
        + ("" if host in ("127.0.0.1", "localhost", "::1") else f"; open to other machines on {host}"))
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=MAX_FRAME_BYTES + HEADER.size)


def check_free(host: str, port: int) -> None:
    """OSError with one line if `port` on `host` cannot be listened on (taken, or not this machine's address)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port}: {error.strerror or error} (another --port or --host?)") from None


@contextlib.contextmanager
def running(app, host: str = HOST, port: int = 0):
    """`app` served by uvicorn in a background thread while the block runs; yields its base URL (port 0: a free
    one). For tests, benchmarks and notebooks; `serve` is the command's foreground server."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           ws_max_size=MAX_FRAME_BYTES + HEADER.size))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise OSError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
