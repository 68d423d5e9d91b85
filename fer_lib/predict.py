"""Emotions in photos, videos and camera streams: find faces, crop them like FER2013, classify each image's faces
in one batch, and write one row per face (file, frame, timestamp, box, seven probabilities).

Every input is handled on its own: a bad one gets a one-line reason and the rest carry on. Output files are
written under a temporary name and renamed when complete, so a file that looks finished is finished.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cameras import Camera, camera_frames, next_due
from .cameras import camera as as_camera
from .dataset import EMOTIONS
from .output_folder import Interrupted, OutputFolder
from .detectors import DEFAULT_DETECTOR, KEYPOINTS, face_detector
from .detectors.haar import VIDEO_MAX_SIDE
from .faces import crop_faces, crop_views
from .images import DamagedImage, ImageError, ImageTooLarge, NotAnImage, to_gray

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
MAX_PIXELS = 120_000_000  # larger images are refused (a 12,000 x 10,000 photo is the limit)
ASSUMED_FPS = 30.0  # a video's frame rate where its header gives none
COLUMNS = ("file", "frame", "timestamp_s", "face", "x", "y", "width", "height", "emotion", "probability", *EMOTIONS)
CSV_FILE, JSON_FILE, PARQUET_FILE, ANNOTATED_DIR = "predictions.csv", "predictions.json", "predictions.parquet", "annotated"


class EmotionReader:
    """Faces and their emotion probabilities in one image: `reader(image)` -> (boxes (N, 4), probabilities (N, 7)).

    `model`: a shipped model's name, a .keras file or a Keras model (default: the shipped ferplus_cnn); `detector`: a
    name in detectors.DETECTORS (default: yunet+yunet-enhanced+checked) or a detector; `framing`: the detector's
    own unless given; `several_crops`: read each face in the crops of faces.CROP_VIEWS (aligned and not, moved a little each
    way) and average them, which makes a reading less sensitive to where the detector put the box (about six times
    the classifier's work); `runtime`: what runs the classifier (runtimes.RUNTIMES; "litert" reads one face about
    1.7x as fast as Keras, to 0.001 of its probabilities, after a one-time export into the cache)."""

    def __init__(self, model=None, detector=DEFAULT_DETECTOR, framing=None, several_crops: bool = False,
                 runtime: str = "keras"):
        from .pretrained import load_model
        from .runtimes import compile_model

        self.model = compile_model(load_model(model), runtime)
        self.detector = face_detector(detector) if isinstance(detector, str) else detector
        self.framing = framing or self.detector.framing
        self.several_crops = several_crops

    def __call__(self, image: np.ndarray, bgr: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """`image`: an array (gray, RGB or RGBA; `bgr=True` for OpenCV's blue-green-red order)."""
        boxes, _, probabilities = self.read(image, bgr)
        return boxes, probabilities

    def read(self, image: np.ndarray, bgr: bool = False):
        """(boxes (N, 4), keypoints (N, 6, 2) in pixels, NaN where the detector gives none, probabilities (N, 7))."""
        from .inference import predict_proba, predict_proba_averaged

        gray = to_gray(image, bgr)
        found = self.detector.detect(gray)
        if len(found) == 0:
            return found.boxes, found.keypoints, np.zeros((0, len(EMOTIONS)), np.float32)
        eyes = found.keypoints[:, :2]  # eyes level where it gives them
        if self.several_crops:
            views = crop_views(gray, found.boxes, self.framing, eyes)
            return found.boxes, found.keypoints, predict_proba_averaged(self.model, views, views.shape[0] * views.shape[1])
        faces = crop_faces(gray, found.boxes, self.framing, eyes)
        return found.boxes, found.keypoints, predict_proba(self.model, faces, batch_size=len(found))


def detect_emotions(image, model=None, *, bgr: bool = False, detector: str = DEFAULT_DETECTOR) -> list[dict]:
    """Every face in `image` with its emotions, largest face first: one dict per face with `box` [x, y, width,
    height] in pixels, `emotions` (the seven probabilities by name), `emotion` (the likeliest) and its `probability`;
    where the detector gives them, `keypoints` (detectors.KEYPOINTS, [x, y] pixels: YuNet gives the eyes, nose and
    mouth, BlazeFace the ears too, the Haar cascade the eyes where its eye cascade finds a pair).

    `image`: a file's path, a PIL image or an array (gray, RGB or RGBA; `bgr=True` for an array in OpenCV's
    blue-green-red order, as `cv2.imread` gives it). `model`: a shipped model's name (default: ferplus_cnn), a .keras
    file or a Keras model; `detector`: a name in detectors.DETECTORS (default: yunet+yunet-enhanced+checked: YuNet;
    where it finds no face, YuNet on the image denoised and equalized; then BlazeFace, the Haar cascade and the SSD,
    each face confirmed by MediaPipe's face mesh). Shipped
    models and the detectors are loaded once and kept for the next call."""
    boxes, keypoints, probabilities = _reader(model, detector).read(as_array(image), bgr)
    faces = [{"box": [int(v) for v in box], "emotions": {name: float(p) for name, p in zip(EMOTIONS, face)},
              "emotion": EMOTIONS[int(np.argmax(face))], "probability": float(np.max(face))}
             for box, face in zip(boxes, probabilities)]
    for face, points in zip(faces, keypoints):
        given = {name: [round(float(x), 1), round(float(y), 1)] for name, (x, y) in zip(KEYPOINTS, points) if np.isfinite(x)}
        if given:
            face["keypoints"] = given
    return faces


def top_emotion(image, model=None, *, bgr: bool = False, detector: str = DEFAULT_DETECTOR) -> tuple[str, float] | tuple[None, None]:
    """The largest face's likeliest emotion and its probability, e.g. ("happy", 0.93); (None, None) without a face.
    Arguments as for `detect_emotions`."""
    faces = detect_emotions(image, model, bgr=bgr, detector=detector)
    return (faces[0]["emotion"], faces[0]["probability"]) if faces else (None, None)


_READERS: dict[tuple[str, str], EmotionReader] = {}


def _reader(model, detector: str) -> EmotionReader:
    """An EmotionReader for `model` and `detector`; those of shipped models (by name, or None) are made once."""
    from .pretrained import DEFAULT, available

    if model is not None and not (isinstance(model, str) and model in available()):
        return EmotionReader(model, detector)
    key = (model or DEFAULT, detector)
    if key not in _READERS:
        _READERS[key] = EmotionReader(*key)
    return _READERS[key]


def as_array(image) -> np.ndarray:
    """A path (read as `read_image` does), a PIL image or an array, as an array."""
    if image is None:
        raise ImageError("the image is None (cv2.imread gives None for a file it cannot read: check the path)")
    if isinstance(image, (str, os.PathLike)):
        return read_image(image)
    if hasattr(image, "getbands"):  # a PIL image
        from PIL import ImageOps

        return _pil_array(ImageOps.exif_transpose(image))
    array = np.asarray(image)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ImageError(f"expected an image array, a path or a PIL image, got {type(image).__name__}")
    return array


def read_image(path: str | os.PathLike, notes: list | None = None) -> np.ndarray:
    """An image file as an array (gray, RGB or RGBA; 16-bit kept), turned upright as its EXIF orientation tag says
    (as phones save photos). What is wrong with it raises a type that says so: FileNotFoundError, PermissionError,
    IsADirectoryError, or faces.NotAnImage, DamagedImage, ImageTooLarge (ImageErrors). `notes`, a list: gets a line
    for what is read other than the user may expect (an animated image's first frame only)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    text = str(path)
    if "://" in text:
        raise NotAnImage("a URL, not a file: download it first (fer_lib reads local files; cameras: --camera)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # fer_lib's own limit follows
            image = Image.open(path)  # reads the header only
    except UnidentifiedImageError:
        suffix = Path(text).suffix.lower()
        raise NotAnImage(f"not an image Pillow can read{f' ({suffix} is not supported)' if suffix and suffix not in IMAGE_SUFFIXES else ''}"
                         f"; convert it to JPEG or PNG") from None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except OSError as error:
        raise DamagedImage(f"corrupted or truncated image: {error}") from None
    with image:
        if image.width * image.height > MAX_PIXELS:
            raise ImageTooLarge(f"too large: {image.width:,} x {image.height:,} pixels (the limit is {MAX_PIXELS:,}, "
                                "e.g. 12,000 x 10,000); scale it down first")
        frames = getattr(image, "n_frames", 1)
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Image.DecompressionBombError as error:
            raise ImageTooLarge(f"too large: {error}") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise DamagedImage(f"corrupted or truncated image: {error}") from None
        if frames > 1 and notes is not None:
            notes.append(f"animated ({frames} frames): only its first frame is read")
        return _pil_array(upright)


def _pil_array(image) -> np.ndarray:
    """A loaded PIL image as an array: gray, RGB or RGBA (other modes converted to one of them); 16-bit kept."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(image).astype(np.uint16 if image.mode != "I" else np.int64)
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    return np.asarray(image)


def video_frames(source, fps: float = 1.0, max_seconds: float | None = None, start: int = 0, stop: int | None = None,
                 notes: list | None = None, log=print):
    """(frame index, timestamp in seconds, RGB frame) from a video file or a camera (a Camera or an index), `fps`
    frames per second (0: every frame). A camera is read by cameras.camera_frames for `max_seconds` (10 when None),
    its stream's drops and returns told to `log`.
    `start`, `stop`: only the file's frames from index `start` (a frame that the whole read would give:
    `sampled_frame`) up to `stop`, exactly as the whole read gives them. A whole file that ends well before the frame
    count its header announces raises TruncatedVideo after its last frame; `notes`, a list, gets a line where the
    header gives no frame rate (the timestamps then assume 30 frames/s)."""
    import cv2

    if isinstance(source, (int, Camera)):
        yield from camera_frames(as_camera(source), fps, 10.0 if max_seconds is None else max_seconds, log)
        return
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise ImageError("not a readable video")
    native = capture.get(cv2.CAP_PROP_FPS)
    if header_frame_rate(source) == 0:
        native = 0.0  # OpenCV's FFmpeg reads an AVI whose header has no rate as 25 frames/s
    if not 0 < native < 1000:
        if notes is not None:
            notes.append(f"its header gives no frame rate ({native:g}): timestamps assume {ASSUMED_FPS:g} frames/s")
        native = ASSUMED_FPS
    announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if start and not (capture.set(cv2.CAP_PROP_POS_FRAMES, start) and capture.get(cv2.CAP_PROP_POS_FRAMES) == start):
        capture.release()
        raise ImageError(f"cannot seek to frame {start}")
    due, index, produced, ran_out = 0.0, start - 1, 0, False
    try:
        while True:
            if stop is not None and index + 1 >= stop:
                break
            if not capture.grab():
                ran_out = True
                break
            index += 1
            timestamp = index / native
            if fps and timestamp + 1e-9 < due:
                continue
            ok, frame = capture.retrieve()
            if not ok:
                ran_out = True
                break
            due = next_due(timestamp, fps)
            produced += 1
            yield index, round(timestamp, 3), cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if produced == 0 and start == 0:
        raise ImageError("no frames could be read (empty or damaged video)")
    read = index + 1
    if ran_out and start == 0 and stop is None and announced > 0 and read < announced - max(2, announced // 100):
        raise TruncatedVideo(f"truncated or damaged: it ends at frame {read:,} of the {announced:,} its header "
                             f"announces ({read / native:.1f} of {announced / native:.1f} s); the rows read up to "
                             "there are kept")


def header_frame_rate(path) -> float | None:
    """The frame rate an AVI file's video stream header (strh: rate / scale) states, 0 where it states none; None for
    other files and where the header cannot be read."""
    import struct

    try:
        with open(path, "rb") as stream:
            head = stream.read(8192)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return None
    at = head.find(b"strh")
    while at >= 0 and head[at + 8:at + 12] != b"vids":  # the video stream's header (size, then its type)
        at = head.find(b"strh", at + 4)
    if at < 0 or len(head) < at + 36:
        return None
    scale, rate = struct.unpack("<II", head[at + 28:at + 36])
    return rate / scale if scale and rate else 0.0


def sampled_frame(second: float, fps: float, native: float) -> int:
    """The index of the first frame at or after `second` that video_frames reads at `fps` (0: every frame) from a
    file of `native` frames per second: where a range of the file can start and give the whole read's frames."""
    if not fps:
        return int(round(second * native))
    boundary = np.floor(second * fps + 1e-9) / fps  # the sampling interval's start
    index = max(0, int(np.ceil((boundary - 1e-9) * native)) - 1)
    while index / native + 1e-9 < boundary:
        index += 1
    return index


class TruncatedVideo(ImageError):
    """A video that ends well before the frame count its header announces (video_frames)."""


class PartlyRead(Exception):
    """An input read in part: its `rows` are kept, and it fails with `error`."""

    def __init__(self, rows: list[dict], error: Exception):
        super().__init__(str(error))
        self.rows, self.error = rows, error


@dataclass
class Outcome:
    """What a prediction run produced: the rows (one per face), the failures (item, reason) and the files."""

    rows: list[dict] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    items: int = 0
    journal: OutputFolder | None = None  # where each input's rows go as it finishes
    recorded: int = 0  # inputs finished, an earlier run's included
    mark: int = 0  # files[:mark] belong to inputs already recorded


def expand(paths, skipped: list | None = None) -> list[Path]:
    """Files to read: each path as given, a folder's images and videos (sorted, recursively). `skipped`, a list: gets
    the folders' other files (hidden ones left out)."""
    found = []
    for given in paths:
        if "://" in str(given):  # a URL: kept as written (Path would fold its "//"), refused when read
            found.append(str(given))
            continue
        path = Path(given)
        if path.is_dir():
            for inner in sorted(p for p in path.rglob("*") if p.is_file()):
                if inner.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    found.append(inner)
                elif skipped is not None and not inner.name.startswith("."):
                    skipped.append(inner)
        else:
            found.append(path)
    return found


def predict(paths, model=None, output_dir="predictions", *, fps: float = 1.0, camera: int | str | Camera | None = None,
            camera_seconds: float = 10.0,
            annotate: bool = True, video_detect_side: int = VIDEO_MAX_SIDE, detector=DEFAULT_DETECTOR, runtime: str = "keras",
            parquet: bool = False, overwrite: bool = False, resume: bool = False, log=print) -> Outcome:
    """Read every image, video (sampled at `fps`) and the camera (an index or a stream URL: cameras.Camera) for
    `camera_seconds`, if given; write predictions.csv/.json (and
    predictions.parquet with `parquet`), annotated copies and, per video, a timeline plot into `output_dir`.
    `model`, `detector`: as for EmotionReader; `runtime`: what runs the classifier (runtimes.RUNTIMES). The Haar
    cascade searches video frames at `video_detect_side` pixels (longest side), photos at detectors.haar.PHOTO_MAX_SIDE;
    BlazeFace reads every image at its network's input size. The same work spread over Ray Data workers:
    fer_lib.distributed.predict_on_ray.

    `output_dir` is this run's alone while it works, and is checked before any work (output_folder.OutputFolder):
    an earlier run's results there are refused unless `overwrite` (replace them) or `resume` (skip the inputs an
    interrupted run finished). Each input's rows are on disk as soon as it is read; Ctrl-C raises
    output_folder.Interrupted, which says where they are."""
    def work(sources, folder, outcome, taken):
        _predict_here(sources, model, folder, outcome, taken, fps, camera_seconds, annotate, video_detect_side, detector,
                      runtime, log)

    extra = [as_camera(camera)] if camera is not None else []
    return run_in_folder(paths, output_dir, work, extra, parquet=parquet, overwrite=overwrite, resume=resume, log=log)


def run_in_folder(paths, output_dir, work, extra_sources=(), *, parquet: bool = False, overwrite: bool = False,
                  resume: bool = False, log=print) -> Outcome:
    """What every predict run shares, around `work(sources, folder, outcome, taken)`, which reads the sources and
    records them: the output folder claimed (OutputFolder), the inputs listed (`paths` expanded, then
    `extra_sources`), an interrupted run resumed, Ctrl-C turned into Interrupted, and the tables written at the end."""
    with OutputFolder(output_dir, columns=COLUMNS, overwrite=overwrite, resume=resume) as folder:
        skipped: list[Path] = []
        sources = [*expand(paths, skipped), *extra_sources]
        log_skipped(skipped, log)
        outcome = Outcome(rows=list(folder.rows), files=list(folder.files), journal=folder)
        outcome.mark = len(outcome.files)
        taken = {name for file in folder.files for name in (file.name, file.stem)}
        if folder.done:
            log(f"resuming in {folder.path}: {len(folder.done)} input(s) already read")
        try:
            work(sources, folder, outcome, taken)
        except KeyboardInterrupt:
            raise Interrupted(folder.path, outcome.recorded, len(sources)) from None
        write_tables(outcome, folder.path, parquet)
        folder.finished()
    return outcome


def _predict_here(sources, model, folder, outcome, taken, fps, camera_seconds, annotate, video_detect_side, detector,
                  runtime, log) -> None:
    """predict's work in this process."""
    photos, videos = readers(model, detector, video_detect_side, runtime)
    for source in sources:
        outcome.items += 1
        name = source_name(source)
        if name in folder.done:
            outcome.recorded += 1
            continue
        try:
            if is_video(source):
                rows = _predict_video(videos, source, name, folder.path, fps, camera_seconds, annotate, taken, outcome,
                                      log)
            else:
                rows = _predict_image(photos, source, name, folder.path, annotate, taken, outcome, log)
        except PartlyRead as partly:
            record_failure(outcome, name, partly.error, log, partly.rows)
            continue
        except (ImageError, OSError) as error:
            record_failure(outcome, name, error, log)
            continue
        record_rows(outcome, name, rows, log)


def log_skipped(skipped: list[Path], log) -> None:
    """One line for the files in the given folders that are neither images nor videos, by extension."""
    if not skipped:
        return
    kinds = Counter(path.suffix.lower() or "no extension" for path in skipped)
    log(f"skipped {len(skipped)} file(s) in the folders that are not images or videos fer_lib reads: "
        + ", ".join(f"{kind} ({count})" for kind, count in kinds.most_common()))


def readers(model, detector, video_detect_side: int, runtime: str = "keras") -> tuple[EmotionReader, EmotionReader]:
    """The EmotionReaders for photos and for video frames (the cascade's faster video settings)."""
    from .pretrained import load_model
    from .runtimes import compile_model

    model = compile_model(load_model(model), runtime)
    video_detector = face_detector(detector, video=True, video_side=video_detect_side) if isinstance(detector, str) else detector
    return EmotionReader(model, detector, runtime=runtime), EmotionReader(model, video_detector, runtime=runtime)


def source_name(source) -> str:
    return source.name if isinstance(source, Camera) else str(source)


def is_video(source) -> bool:
    return isinstance(source, Camera) or Path(source).suffix.lower() in VIDEO_SUFFIXES


def failure_reason(error: Exception) -> str:
    """What went wrong with an input, in words (the OSErrors' own messages repeat the path)."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied: cannot read it (check its permissions)"
    if isinstance(error, IsADirectoryError):
        return "a folder where a file was expected"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read: {error.strerror}"
    return str(error)


def record_failure(outcome: Outcome, name: str, error: Exception, log, rows: list[dict] = ()) -> None:
    """An input that failed (keeping the `rows` it gave before it failed, if any)."""
    reason = failure_reason(error)
    outcome.failures.append((name, reason))
    outcome.rows += rows
    _journal(outcome, name, list(rows), reason)
    log(f"{name}: FAILED: {reason}" + (f" ({len(rows)} face(s) kept)" if rows else ""))


def record_rows(outcome: Outcome, name: str, rows: list[dict], log) -> None:
    outcome.rows += rows
    _journal(outcome, name, rows, None)
    frames = len({row["frame"] for row in rows})
    log(f"{name}: {len(rows)} face(s)" + (f" in {frames} frame(s)" if rows and rows[0]["frame"] is not None else ""))


def _journal(outcome: Outcome, name: str, rows: list[dict], failure: str | None) -> None:
    """One finished input into the output folder's progress files, with the files written since the last."""
    outcome.recorded += 1
    if outcome.journal is not None:
        outcome.journal.record(name, rows, failure, outcome.files[outcome.mark:])
    outcome.mark = len(outcome.files)


def write_tables(outcome: Outcome, output_dir: Path, parquet: bool = False) -> None:
    """predictions.csv and .json (and .parquet) in `output_dir`, each whole or not there."""
    outcome.files += [_write_csv(outcome.rows, output_dir / CSV_FILE), _write_json(outcome, output_dir / JSON_FILE)]
    if parquet:
        outcome.files.append(_write_parquet(outcome.rows, output_dir / PARQUET_FILE))


def read_photo(reader, path: Path, annotate: bool, notes: list | None = None) -> tuple[list[dict], bytes | None]:
    """A photo's rows and, with `annotate`, its annotated copy as a PNG file's bytes (`notes`: as for read_image)."""
    if "://" not in str(path) and not Path(path).exists():
        raise FileNotFoundError(path)
    image = read_image(path, notes)
    boxes, probabilities = reader(image)
    return face_rows(str(path), None, None, boxes, probabilities), png(draw(image, boxes, probabilities)) if annotate else None


def read_video(reader, source, fps: float, max_seconds: float | None, annotate: bool, start: int = 0,
               stop: int | None = None, notes: list | None = None, log=print):
    """(rows, annotated frame or None) for each frame read (video_frames' arguments). A file's detector keeps its
    time by the video's timestamps (its fallbacks, its following of faces), a camera's by the wall clock."""
    timed = not isinstance(source, (int, Camera)) and hasattr(reader.detector, "use_clock")
    now = [0.0]
    if timed:
        reader.detector.use_clock(lambda: now[0])
    try:
        for index, timestamp, frame in video_frames(source, fps, max_seconds, start, stop, notes, log):
            now[0] = timestamp
            boxes, probabilities = reader(frame)
            yield (face_rows(source_name(source), index, timestamp, boxes, probabilities),
                   draw(frame, boxes, probabilities) if annotate else None)
    finally:
        if timed:
            reader.detector.use_clock(time.monotonic)


def _predict_image(reader, path: Path, name, output_dir, annotate, taken, outcome, log=print) -> list[dict]:
    notes = []
    rows, annotated = read_photo(reader, path, annotate, notes)
    for note in notes:
        log(f"{name}: note: {note}")
    if annotated is not None:
        write_annotated_photo(annotated, path, output_dir, taken, outcome)
    return rows


def write_annotated_photo(annotated: bytes, path: Path, output_dir: Path, taken: set, outcome: Outcome) -> None:
    """`annotated` (PNG bytes, from read_photo) as the photo's annotated copy, under a name no other input took."""
    target = output_dir / ANNOTATED_DIR / _unique(Path(path).stem + ".png", taken)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".partial" + target.suffix)
    partial.write_bytes(annotated)
    os.replace(partial, target)
    outcome.files.append(target)


def _predict_video(reader, source, name, output_dir, fps, camera_seconds, annotate, taken, outcome, log=print) -> list[dict]:
    live = isinstance(source, Camera)
    if "://" in str(source) and not live:
        raise NotAnImage("a URL, not a file: download it first (fer_lib reads local files; a camera's stream: --camera URL)")
    if not live and not Path(source).exists():
        raise FileNotFoundError(source)
    video, rows, notes, truncated = AnnotatedVideo(source, output_dir, fps, taken), [], [], None
    try:
        for frame_rows, annotated in read_video(reader, source, fps, camera_seconds if live else None,
                                                annotate, notes=notes, log=log):
            rows += frame_rows
            video.add(annotated)
    except TruncatedVideo as error:
        truncated = error  # what was read is kept, and the video counts as failed
    except BaseException:
        video.abandon()
        raise
    video.finish(outcome)
    write_timeline(rows, source, output_dir, taken, outcome)
    for note in notes:
        log(f"{name}: note: {note}")
    if truncated is not None:
        raise PartlyRead(rows, truncated)
    return rows


class AnnotatedVideo:
    """A video's annotated copy, written frame by frame under a temporary name: `finish` renames it (if any frame
    came), `abandon` removes it. Its name is taken when it is made, as predict does before reading the video."""

    def __init__(self, source, output_dir: Path, fps: float, taken: set):
        self.target = output_dir / ANNOTATED_DIR / _unique(_stem(source) + ".mp4", taken)
        self.partial, self.fps, self.writer = self.target.with_suffix(".partial.mp4"), fps, None

    def add(self, frame: np.ndarray | None) -> None:
        import cv2

        if frame is None:
            return
        if self.writer is None:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.writer = cv2.VideoWriter(str(self.partial), cv2.VideoWriter_fourcc(*"mp4v"), self.fps or 30.0,
                                          (frame.shape[1], frame.shape[0]))
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def finish(self, outcome: Outcome) -> None:
        if self.writer is not None:
            self.writer.release()
            os.replace(self.partial, self.target)
            outcome.files.append(self.target)

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.release()
        self.partial.unlink(missing_ok=True)


def write_timeline(rows: list[dict], source, output_dir: Path, taken: set, outcome: Outcome) -> None:
    """A video's emotion timeline (plots.emotion_timeline), if it has faces."""
    if not rows:
        return
    import matplotlib.pyplot as plt

    from .plots import emotion_timeline, save_figure

    figure = emotion_timeline(rows, title=source_name(source))
    outcome.files.append(save_figure(figure, output_dir, _unique(_stem(source) + "_timeline", taken)))
    plt.close(figure)  # written, not shown: a folder of videos would keep every figure open


def _stem(source) -> str:
    return source.stem if isinstance(source, Camera) else Path(source).stem


def face_rows(name, frame, timestamp, boxes, probabilities) -> list[dict]:
    """One row per face in COLUMNS' order: where it was read, its box, its likeliest emotion and the seven probabilities."""
    rows = []
    for face, (box, p) in enumerate(zip(boxes, probabilities)):
        rows.append({"file": name, "frame": frame, "timestamp_s": timestamp, "face": face,
                     **dict(zip(("x", "y", "width", "height"), map(int, box))),
                     "emotion": EMOTIONS[int(np.argmax(p))], "probability": round(float(np.max(p)), 4),
                     **{emotion: round(float(v), 4) for emotion, v in zip(EMOTIONS, p)}})
    return rows


def draw(image: np.ndarray, boxes, probabilities) -> np.ndarray:
    """An RGB copy of `image` with each face's box and its top emotion and probability, on a dark band; the text and
    the lines grow with the face and the image (at least 2.5% of the image's longer side, 15% of the face's width)."""
    import cv2

    canvas = np.ascontiguousarray(np.stack([to_gray(image)] * 3, axis=-1) if image.ndim == 2 or image.dtype != np.uint8
                                  else image[..., :3].copy())
    side, font, green = max(canvas.shape[:2]), cv2.FONT_HERSHEY_SIMPLEX, (0, 255, 0)
    for (x, y, w, h), p in zip(np.asarray(boxes, int), probabilities):
        text_height = max(12, round(0.025 * side), round(0.15 * w))
        thickness = max(1, round(text_height / 12))
        scale = cv2.getFontScaleFromHeight(font, text_height, thickness)
        label = f"{EMOTIONS[int(np.argmax(p))]} {float(np.max(p)):.2f}"
        (width, height), baseline = cv2.getTextSize(label, font, scale, thickness)
        cv2.rectangle(canvas, (x, y), (x + w, y + h), green, thickness)
        band = 2 * thickness + height + baseline
        top = y - band if y >= band else y  # above the box, or inside its top where the image ends
        cv2.rectangle(canvas, (x, top), (x + width + 2 * thickness, top + band), (0, 0, 0), cv2.FILLED)
        cv2.putText(canvas, label, (x + thickness, top + thickness + height), font, scale, green, thickness, cv2.LINE_AA)
    return canvas


def _unique(name: str, taken: set) -> str:
    stem, dot, suffix = name.partition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}_{n}{dot}{suffix}"
    taken.add(candidate)
    return candidate


def png(image: np.ndarray) -> bytes:
    """An RGB image as a PNG file's bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_csv(rows: list[dict], target: Path) -> Path:
    partial = target.with_name(target.name + ".partial")
    with open(partial, "w", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, target)
    return target


def _write_parquet(rows: list[dict], target: Path) -> Path:
    import pandas as pd

    partial = target.with_name(target.name + ".partial")
    pd.DataFrame(rows, columns=list(COLUMNS)).astype({"frame": "Int64"}).to_parquet(partial, index=False)
    os.replace(partial, target)
    return target


def _write_json(outcome: Outcome, target: Path) -> Path:
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps({"faces": outcome.rows, "failures": [{"item": item, "reason": reason}
                                                                      for item, reason in outcome.failures]},
                                  indent=1) + "\n")
    os.replace(partial, target)
    return target
