"""`predict` on Ray Data: many photos and long videos spread over the workers of a local Ray or a cluster.

The driver lists the work in order — a few photos per task, and each video cut into ranges of SEGMENT_SECONDS that
start on a frame the whole read would take (`predict.sampled_frame`), so one long video spreads over the workers.
A pool of actors (one CPU each, the models loaded once per actor) detects and classifies; the results stream
back in the order of the tasks and the driver writes exactly the files the one-process `predict` writes, from
the same functions, so the rows, the failures and the annotated copies are the same. A worker that dies has its
tasks run again on a new one (Ray's actor restarts and task retries).
"""
from __future__ import annotations

import os
import pickle
import socket
from collections import Counter
from contextlib import closing
from pathlib import Path

import numpy as np

from .detectors import DEFAULT_DETECTOR
from .predict import (VIDEO_MAX_SIDE, AnnotatedVideo, Outcome, failure_reason, is_video, read_photo, read_video, readers,
                      record_failure, record_rows, run_in_folder, sampled_frame, source_name, write_annotated_photo,
                      write_timeline)

SEGMENT_SECONDS = 60.0  # a video is read in ranges of this many seconds, each a task
PHOTOS_PER_TASK = 8  # photos that a worker reads as one task
CONNECT_SECONDS = 5.0


def predict_on_ray(paths, model=None, output_dir="predictions", *, address: str | None = None, fps: float = 1.0,
                   annotate: bool = True, video_detect_side: int | None = None, detector=DEFAULT_DETECTOR,
                   runtime: str = "keras", workers: int | None = None, parquet: bool = False, overwrite: bool = False,
                   resume: bool = False, log=print) -> Outcome:
    """predict.predict's work and files, spread over Ray Data workers: `address` None starts a local Ray on this
    machine's cores, else that cluster's ("HOST:PORT" of `ray start --head`, "ray://HOST:10001", or "auto").
    `workers`: actors in the pool (default: one per CPU of the cluster). The output folder is handled as predict
    handles it (predict.run_in_folder: claimed, resumable, Ctrl-C safe)."""
    def work(sources, folder, outcome, taken):
        _on_ray(sources, model, folder.path, outcome, taken, address, fps, annotate, video_detect_side, detector,
                runtime, workers, log)

    return run_in_folder(paths, output_dir, work, parquet=parquet, overwrite=overwrite, resume=resume, log=log)


def _on_ray(sources, model, output_dir, outcome, taken: set, address, fps, annotate, video_detect_side, detector,
            runtime, workers, log) -> None:
    """The sources (files) read on Ray into `output_dir`, skipping those the folder's journal has as done, and
    recorded into `outcome` in their order."""
    import ray

    output_dir = Path(output_dir)
    done = outcome.journal.done if outcome.journal is not None else set()
    outcome.items += len(sources)
    outcome.recorded += sum(source_name(source) in done for source in sources)
    sources = [source for source in sources if source_name(source) not in done]
    tasks = _tasks(sources, fps)
    _check_sendable(detector=detector)  # a Keras model pickles; OpenCV's cascade does not
    if not tasks:  # nothing to read: predict writes the empty tables, without starting Ray
        return
    started_here = _connect(ray, address)
    try:
        workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        settings = dict(model=model, detector=detector, runtime=runtime, fps=fps, annotate=annotate,
                        side=video_detect_side or VIDEO_MAX_SIDE)
        counts = Counter(number for task in tasks for number, *_ in task)
        with closing(_results(ray, tasks, workers, settings)) as results:
            for number, source in enumerate(sources):
                pieces = (next(results) for _ in range(counts[number]))
                _write_source(source, pieces, output_dir, fps, annotate, taken, outcome, log)
    finally:
        if started_here:
            ray.shutdown()


def _write_source(source: Path, pieces, output_dir: Path, fps: float, annotate: bool, taken: set, outcome, log):
    """One source's results, as the one-process predict writes them: its annotated copy (a video's frames as each
    range arrives, never the whole video at once), its timeline and rows, or its failure."""
    from .images import ImageError
    
    video = AnnotatedVideo(source, output_dir, fps, taken) if is_video(source) and source.exists() else None
    rows, failure = [], None
    try:
        for piece in pieces:  # every piece is read, a failed video's too: the next source's come after them
            failure = failure or piece["failure"]
            if failure is None:
                rows += piece["rows"]
                for frame in piece["frames"] if video is not None else ():
                    video.add(frame)
    except BaseException:  # stopped part-way (Ctrl-C, a lost cluster): no half-written video is left behind
        if video is not None:
            video.abandon()
        raise
    if failure is not None:
        if video is not None:
            video.abandon()
        return record_failure(outcome, str(source), ImageError(failure), log)
    if video is not None:
        video.finish(outcome)
        write_timeline(rows, source, output_dir, taken, outcome)
    elif annotate:
        write_annotated_photo(piece["frames"][0], source, output_dir, taken, outcome)
    record_rows(outcome, str(source), rows, log)


def _check_sendable(**arguments) -> None:
    """Every argument can be pickled for the workers, or a ValueError says which cannot."""
    from ray import cloudpickle

    for name, value in arguments.items():
        try:
            cloudpickle.dumps(value)
        except Exception as error:  # noqa: BLE001 - whatever pickling raises, the answer is the same
            raise ValueError(f"{name} {value!r} cannot be sent to Ray's workers ({error}); pass its name instead")


def _connect(ray, address: str | None) -> bool:
    """Join the cluster at `address`, or start a local Ray; True when this call started it. An address that does not
    answer is refused at once, with its name, rather than after Ray's own minute of retries."""
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "ERROR")  # its progress notices: predict prints its own lines
    if ray.is_initialized():
        return False
    if address not in (None, "auto"):
        host, _, port = address.removeprefix("ray://").rpartition(":")
        if not (host and port.isdigit()):
            raise ValueError(f"Ray address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
        except OSError as error:
            raise ConnectionError(f"Ray cluster at {address} did not answer ({error}); start one with `ray start "
                                  "--head`, or leave out the address for a local Ray") from None
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's own C++ notices; its errors still raise
    ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    return True


def _tasks(sources: list[Path], fps: float) -> list[list[tuple]]:
    """The work, in order, as tasks of (source number, path, first frame, end frame or -1) items: up to
    PHOTOS_PER_TASK photos in a row make one task; each of a video's ranges is a task of its own."""

    tasks, photos = [], []
    for number, source in enumerate(sources):
        if not is_video(source):
            photos.append((number, str(source), 0, -1))
            if len(photos) == PHOTOS_PER_TASK:
                tasks, photos = [*tasks, photos], []
            continue
        if photos:
            tasks, photos = [*tasks, photos], []
        tasks += [[(number, str(source), start, stop)] for start, stop in video_ranges(source, fps)]
    return tasks + ([photos] if photos else [])


def video_ranges(source: Path, fps: float) -> list[tuple[int, int]]:
    """(first frame, end frame or -1: to the end) of each SEGMENT_SECONDS of the video; one range for a video that
    cannot be opened here (its worker reports why)."""
    import cv2


    capture = cv2.VideoCapture(str(source))
    native, count = capture.get(cv2.CAP_PROP_FPS) or 30.0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    seconds = np.arange(SEGMENT_SECONDS, count / native, SEGMENT_SECONDS)
    starts = sorted({0, *(sampled_frame(second, fps, native) for second in seconds)} - {count})
    return list(zip(starts, [*starts[1:], -1]))  # the last to the end, however many frames the file really has


def _results(ray, tasks: list[list[tuple]], workers: int, settings: dict):
    """Each item's result (rows, annotated frames, failure), in the order of `tasks`, as they come."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    dataset = ray.data.from_items([{"task": pickle.dumps(task)} for task in tasks], override_num_blocks=len(tasks))
    dataset = dataset.map_batches(Worker, fn_constructor_kwargs=settings, batch_size=1,
                                  compute=ray.data.ActorPoolStrategy(size=min(workers, len(tasks))),
                                  num_cpus=1)  # Ray Data restarts a dead actor and retries its tasks by default
    with closing(iter(dataset.iter_rows())) as rows:  # closed before Ray shuts down, however the driver stops
        for row in rows:
            yield from pickle.loads(row["results"])


class Worker:
    """A Ray Data actor: the readers for photos and video frames, loaded once; a batch of tasks -> their results."""

    def __init__(self, model, detector, runtime, fps, annotate, side):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import cv2


        cv2.setNumThreads(1)  # one CPU per actor: the pool, not each actor, spreads over the cores
        _one_thread_tensorflow()
        self.photos, self.videos = readers(model, detector, side, runtime)
        self.fps, self.annotate = fps, annotate

    def __call__(self, batch: dict) -> dict:
        results = [pickle.dumps([self.run(path, start, stop) for _, path, start, stop in pickle.loads(task)])
                   for task in batch["task"]]
        return {"results": np.array(results, dtype=object)}

    def run(self, path: str, start: int, stop: int) -> dict:
        from .images import ImageError

        source = Path(path)
        rows, frames = [], []
        try:
            if not source.exists():
                raise FileNotFoundError(source)
            if is_video(source):
                for frame_rows, annotated in read_video(self.videos, source, self.fps, None, self.annotate, start,
                                                        None if stop < 0 else stop):
                    rows += frame_rows
                    frames.append(annotated)
            else:
                rows, annotated = read_photo(self.photos, source, self.annotate)  # as PNG: encoded here, not
                frames.append(annotated)  # in the driver, which every worker's results go through
        except (ImageError, OSError) as error:
            return {"rows": [], "frames": [], "failure": failure_reason(error)}
        return {"rows": rows, "frames": [frame for frame in frames if frame is not None], "failure": None}


def _one_thread_tensorflow() -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started in this process
        pass
