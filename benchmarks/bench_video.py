"""Photos and video speed: batched classification, Keras against TensorFlow Lite per face, the end-to-end frame
rate on a 640x480 frame with one face (and, per detector, with one face, with none, and with a small dim face; the
default's classifier also on LiteRT, as predict and serve run it), and a 10-minute video read at 1 frame per second
as predict reads it (the default detector, the classifier on LiteRT; time and memory).

    python benchmarks/bench_video.py [--model PATH] [--rounds 3] [--video-minutes 10]

The baseline of each comparison is measured in the same run: Keras' model.predict for classification, the
Keras model for per-face latency. The model is --model, else the shipped one that `predict` uses by default
(fer_lib.load_pretrained()). Writes results/video.json.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import data as skdata  # noqa: E402

from common import report  # noqa: E402

from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.export import TFLiteModel, export  # noqa: E402
from fer_lib.detectors import DEFAULT_DETECTOR, face_detector  # noqa: E402
from fer_lib.detectors.haar import HaarCascade  # noqa: E402
from fer_lib.predict import EmotionReader, video_frames  # noqa: E402
from fer_lib.robustness import dimmed  # noqa: E402


def frame_with_one_face() -> np.ndarray:
    """A 640x480 RGB frame: the astronaut photo (one real face, about 95 px wide) on a grey background."""
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[:, 64:576] = skdata.astronaut()[:480]
    return frame


def frame_without_a_face() -> np.ndarray:
    """A 640x480 RGB frame of scikit-image's cat, Chelsea: no human face."""
    return cv2.resize(skdata.chelsea(), (640, 480))


def frame_with_a_small_dim_face() -> np.ndarray:
    """A 640x480 grayscale frame: frame_with_one_face at half size in its top-left corner, on grey, all dimmed to 6%
    of its light (fer_lib.robustness.dimmed, as the notebooks' clip dims): a face about 48 px wide in the dark."""
    half = cv2.resize(cv2.cvtColor(frame_with_one_face(), cv2.COLOR_RGB2GRAY), (320, 240), interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640), 128, np.uint8)
    frame[:240, :320] = half
    return dimmed(frame, 0.06)


SEVERAL_CROPS = f"{DEFAULT_DETECTOR}, several crops"  # the default, each face read in faces.CROP_VIEWS' crops
LITERT = f"{DEFAULT_DETECTOR}, classifier on LiteRT"  # as predict and serve read by default (--runtime litert)
OLD_DEFAULT = "blazeface+haar+ssd+tiles"  # the default until issue 42
VIDEO_DETECTORS = ("haar", "yunet", "blazeface", "blazeface+haar+ssd", OLD_DEFAULT, DEFAULT_DETECTOR, SEVERAL_CROPS,
                   LITERT)


def detector_rows(model, frame: np.ndarray, seconds: float = 3.0) -> list[dict]:
    """Frames per second, detect + align + crop + classify, for each detector with its video settings (and the
    default reading each face in several crops), on a frame with one face, on one without and on one with a small
    dim face: frames read in `seconds` of reading the same frame over and over, so a chain's fallbacks (at most once
    a second in video) count as often as they run. The classifier runs on Keras, and for the default also on LiteRT,
    as predict and serve run it. Haar is the baseline; `faces` says what each found."""
    rows = []
    for task, image, faces in (("640x480 frame, one face, by detector", frame, 1),
                               ("640x480 frame, no face, by detector", frame_without_a_face(), 0),
                               ("640x480 frame, a small dim face, by detector", frame_with_a_small_dim_face(), None)):
        rates, found = {}, {}
        for name in VIDEO_DETECTORS:
            several = name == SEVERAL_CROPS
            detector = DEFAULT_DETECTOR if name in (SEVERAL_CROPS, LITERT) else name
            reader = EmotionReader(model, face_detector(detector, video=True), several_crops=several,
                                   runtime="litert" if name == LITERT else "keras")
            found[name] = len(reader(image)[0])  # the first frame: a chain's fallbacks run on it
            if faces is not None and name in ("haar", "yunet", DEFAULT_DETECTOR, LITERT):
                assert found[name] == faces, f"{name} finds {found[name]} face(s) in the benchmark frame of {task!r}"
            rates[name] = rate(lambda: reader(image), seconds)
        rows += [{"task": task, "method": name + (" (baseline)" if name == "haar" else ""), "faces": found[name],
                  "per_second": round(value, 1), "vs_baseline": round(value / rates["haar"], 2)}
                 for name, value in rates.items()]
    return rows


def rate(fn, seconds: float) -> float:
    """Calls per second of `fn` over at least `seconds` of calling it, after one warm-up call."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - start)


def timed(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def rss_mb() -> float:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model, fer_lib.load_pretrained())")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--video-minutes", type=float, default=10.0)
    args = parser.parse_args()
    import keras

    from fer_lib.pretrained import DEFAULT, load_pretrained

    model = keras.models.load_model(args.model, compile=False) if args.model else load_pretrained()
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (1024, 48, 48), dtype=np.uint8)
    floats = (faces.astype(np.float32) / 255)[..., None]
    rows = []

    predict_keras = timed(lambda: model.predict(floats, batch_size=64, verbose=0), args.rounds)
    for batch in (1, 16, 64, 256):
        seconds = timed(lambda: predict_proba(model, faces, batch_size=batch), args.rounds)
        rows.append({"task": "classify 1,024 faces", "method": f"fer_lib predict_proba, batch {batch}",
                     "per_second": round(len(faces) / seconds), "vs_baseline": round(predict_keras / seconds, 2)})
    rows.insert(0, {"task": "classify 1,024 faces", "method": "model.predict, batch 64 (baseline)",
                    "per_second": round(len(faces) / predict_keras), "vs_baseline": 1.0})

    with tempfile.TemporaryDirectory() as folder:
        paths = export(model, folder, faces[:100])
        lite = {name: TFLiteModel(paths[name]) for name in ("tflite_float32", "tflite_int8")}
        one = floats[:1]
        keras_face = timed(lambda: predict_proba(model, faces[:1]), 50)
        rows.append({"task": "one face", "method": "Keras (fer_lib predict_proba) (baseline)",
                     "per_second": round(1 / keras_face), "vs_baseline": 1.0})
        for name, forward in lite.items():
            seconds = timed(lambda: forward(one), 200)
            rows.append({"task": "one face", "method": name.replace("_", " "), "per_second": round(1 / seconds),
                         "vs_baseline": round(keras_face / seconds, 2)})

    frame = frame_with_one_face()
    photo, reader = EmotionReader(model, "haar"), EmotionReader(model, HaarCascade.for_video())  # Haar: both settings
    for each in (photo, reader):
        assert len(each(frame)[0]) == 1, "the benchmark frame must hold exactly one detected face"
    photo_seconds = timed(lambda: photo(frame), 20)
    end_to_end = timed(lambda: reader(frame), 50)
    rows.append({"task": "640x480 frame, one face", "method": "photo settings (baseline)",
                 "per_second": round(1 / photo_seconds, 1), "vs_baseline": 1.0})
    rows.append({"task": "640x480 frame, one face", "method": "video settings: detect + crop + classify",
                 "per_second": round(1 / end_to_end, 1), "vs_baseline": round(photo_seconds / end_to_end, 2)})
    rows += detector_rows(model, frame)

    seconds_of_video = int(args.video_minutes * 60)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
        bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        for i in range(seconds_of_video * 10):
            writer.write(np.roll(bgr, (i % 20) - 10, axis=1))  # the face moves a little
        writer.release()
        default = EmotionReader(model, face_detector(DEFAULT_DETECTOR, video=True), runtime="litert")  # as predict reads
        memory, faces_found, start = [], 0, time.perf_counter()
        for n, (_, _, image) in enumerate(video_frames(str(path), fps=1)):
            faces_found += len(default(image)[0])
            if n % max(1, seconds_of_video // 10) == 0:
                memory.append(round(rss_mb()))
        elapsed = time.perf_counter() - start
    rows.append({"task": f"{args.video_minutes:g}-minute video at 1 fps", "method": f"read + detect ({DEFAULT_DETECTOR}) + classify (LiteRT): video seconds per second",
                 "per_second": round(seconds_of_video / elapsed, 1), "vs_baseline": ""})
    report("video", rows, {
        "end_to_end_fps_640x480": round(1 / end_to_end, 1),
        "video_detector": DEFAULT_DETECTOR, "video_seconds": seconds_of_video, "video_processing_seconds": round(elapsed, 1),
        "video_faces_found": faces_found, "video_rss_mb_every_tenth": memory,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3),
        "model": args.model or f"{DEFAULT} (shipped)",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
