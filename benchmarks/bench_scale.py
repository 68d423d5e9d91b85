"""Scale: faces per second for each runtime (Keras, LiteRT, OpenVINO), batched and one face at a time, their
accuracy on PublicTest, and a folder of photos and a long video through `predict` in one process against Ray Data.

    python benchmarks/bench_scale.py [--data fer2013.csv] [--photos 400] [--video-minutes 4]

Baselines, measured in the same run: Keras' model.predict at batch 64 (batched) and fer_lib's predict_proba
through Keras (one face at a time); the one-process `predict` for photos and video. Ray runs on this machine's
cores, started once before its runs (its start is timed apart: a command pays it once); one Ray worker gives the
per-worker throughput that a cluster multiplies. Parity (each runtime's PublicTest accuracy and agreement with
Keras, for every shipped model) needs --data. Writes results/runtimes.json and results/scale.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402

from common import report  # noqa: E402

from fer_lib.inference import predict_proba  # noqa: E402
from fer_lib.distributed import predict_on_ray  # noqa: E402
from fer_lib.predict import predict  # noqa: E402
from fer_lib.runtimes import RUNTIMES, compile_model  # noqa: E402


def photo_folder(folder: Path, count: int) -> Path:
    """`count` JPEG photos: scikit-image's astronaut (one face) and coffee (none), matplotlib's Grace Hopper (one
    face), at 480 to 640 px and mirrored, in turn."""
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as stream:
        hopper = np.asarray(Image.open(stream).convert("RGB"))
    originals = [skdata.astronaut(), hopper, skdata.coffee()]
    folder.mkdir(parents=True)
    for n in range(count):
        image = originals[n % 3]
        side = 480 + 32 * (n // 3 % 6)
        image = cv2.resize(image, (side, round(side * image.shape[0] / image.shape[1])))
        Image.fromarray(image[:, ::-1] if n // 18 % 2 else image).save(folder / f"photo{n:05d}.jpg", quality=90)
    return folder


def long_video(path: Path, minutes: float) -> Path:
    """A 640x480 video at 10 frames per second of the astronaut, moving a little."""
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[:, 64:576] = skdata.astronaut()[:480, :, ::-1]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 480))
    for i in range(int(minutes * 600)):
        writer.write(np.roll(frame, (i % 20) - 10, axis=1))
    writer.release()
    return path


def runtime_rows(model, rounds: int) -> list[dict]:
    """Faces per second through each runtime: 1,024 random faces batched (64), and one face at a time. The methods
    take turns within each round (the median of the rounds counts), so a slower spell of the machine hits them all."""
    faces = np.random.default_rng(0).integers(0, 256, (1024, 48, 48), dtype=np.uint8)
    floats = (faces.astype(np.float32) / 255)[..., None]
    compiled = {runtime: compile_model(model, runtime) for runtime in RUNTIMES}
    batched = {"Keras model.predict (baseline)": lambda: model.predict(floats, batch_size=64, verbose=0)}
    batched |= {f"predict_proba, {_label(c)}": lambda c=c: predict_proba(c, faces, batch_size=64)
                for c in compiled.values()}
    single = {f"predict_proba, {_label(c)}" + (" (baseline)" if runtime == "keras" else ""):
              lambda c=c: [predict_proba(c, faces[i:i + 1]) for i in range(100)] for runtime, c in compiled.items()}
    rows = []
    for task, methods, count in (("classify 1,024 faces, batch 64", batched, len(faces)),
                                 ("one face at a time (100 calls)", single, 100)):
        seconds = taking_turns(methods, rounds)
        baseline = next(iter(seconds.values()))
        rows += [{"task": task, "method": method, "per_second": round(count / value),
                  "vs_baseline": round(baseline / value, 2)} for method, value in seconds.items()]
    return rows


def taking_turns(methods: dict, rounds: int) -> dict:
    """Each method's median seconds over `rounds` rounds, every method once per round, after one warm-up each."""
    times = {name: [] for name in methods}
    for round_ in range(rounds + 1):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: median(values) for name, values in times.items()}


def parity(data: str) -> list[dict]:
    """Each shipped model's PublicTest accuracy through each runtime, and its agreement with Keras."""
    from fer_lib import load_fer2013
    from fer_lib.pretrained import available, load_pretrained

    test = load_fer2013(data, progress=False).subset("PublicTest")
    results = []
    for name in available():
        model = load_pretrained(name)
        keras_labels = predict_proba(model, test.x).argmax(axis=1)
        for runtime in RUNTIMES:
            labels = predict_proba(compile_model(model, runtime), test.x).argmax(axis=1)
            results.append({"model": name, "runtime": runtime, "faces": len(test.y),
                            "accuracy": round(float((labels == test.y).mean()), 4),
                            "agreement_with_keras": round(float((labels == keras_labels).mean()), 4)})
    return results


def predict_rows(model, photos: Path, video: Path, workers: int, video_minutes: float, scratch: Path):
    """Photos/s and video-seconds/s through `predict`: one process, then Ray with `workers` workers and with one.
    Each way also reads one photo alone: its time is the fixed cost (loading the models; Ray: starting the
    workers), and the rate after it is what more work runs at. The driver's CPU seconds per item bound what any
    number of workers can reach (the driver writes every file). Returns the rows and Ray's start in seconds."""
    import ray

    one_photo = scratch / "one_photo"
    one_photo.mkdir()
    first = sorted(photos.iterdir())[0]
    (one_photo / first.name).write_bytes(first.read_bytes())
    ways = {"one process": lambda source, out: predict([source], model, out, log=_quiet)}
    ways |= {f"Ray, {n} worker{'s' * (n > 1)}": lambda source, out, n=n: predict_on_ray(
        [source], model, out, workers=n, log=_quiet) for n in sorted({workers, 1}, reverse=True)}
    workloads = ((photos, f"{len(list(photos.iterdir()))} photos", len(list(photos.iterdir()))),
                 (video, f"{video_minutes:g}-minute video at 1 fps", video_minutes * 60))
    start = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray_start = time.perf_counter() - start
    try:
        measured = {}
        for way, run in ways.items():
            fixed, _ = _run(run, one_photo, scratch / f"{way}-fixed")
            for source, task, amount in workloads:
                cpu = time.process_time()
                seconds, rows = _run(run, source, scratch / f"{way}-{source.name}")
                measured[task, way] = (seconds, fixed, rows, (time.process_time() - cpu) / amount)
    finally:
        ray.shutdown()
    table = []
    for _, task, amount in workloads:
        baseline, _, expected, _ = measured[task, "one process"]
        for way in ways:
            seconds, fixed, rows, driver_cpu = measured[task, way]
            table.append({"task": task, "method": way + (" (baseline)" if way == "one process" else ""),
                          "per_second": round(amount / seconds, 1), "vs_baseline": round(baseline / seconds, 2),
                          "fixed_s": round(fixed, 1), "after_fixed_per_second": round(amount / max(seconds - fixed, 1e-9), 1),
                          "driver_cpu_s_per_item": round(driver_cpu, 4) if way != "one process" else "",
                          "rows_identical": rows == expected})
    return table, ray_start


def _run(run, source: Path, out: Path) -> tuple[float, list]:
    start = time.perf_counter()
    outcome = run(source, out)
    return time.perf_counter() - start, outcome.rows


def _quiet(line: str) -> None:
    pass


def _label(classifier) -> str:
    return f"{classifier.runtime} ({classifier.precision})" if hasattr(classifier, "runtime") else "keras (float32)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .keras model (default: the shipped model that predict uses)")
    parser.add_argument("--data", help="FER2013's CSV, for each runtime's accuracy on PublicTest")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--video-minutes", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    from fer_lib.pretrained import DEFAULT, load_model

    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("FER_LIB_CACHE", str(Path(folder) / "cache"))  # the first export is part of the run
        runtimes = runtime_rows(model, args.rounds)
        photos = photo_folder(Path(folder) / "photos", args.photos)
        video = long_video(Path(folder) / "long.mp4", args.video_minutes)
        scaled, ray_start = predict_rows(model, photos, video, args.workers, args.video_minutes, Path(folder))
    name = args.model or f"{DEFAULT} (shipped)"
    report("runtimes", runtimes, {"model": name, "parity_publictest": parity(args.data) if args.data
                                  else "not measured: pass --data"})
    report("scale", scaled, {"model": name, "ray_start_seconds": round(ray_start, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
