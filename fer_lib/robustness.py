"""The special-conditions benchmark: a model's PublicTest accuracy under every condition and severity.

One row per (condition, severity) with the accuracy and the drop against the clean faces; the summary figure
of a model is its mean accuracy over all conditions and severities. `end_to_end` measures the same faces placed
into whole frames, found by a face detector first.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .conditions import CONDITIONS, SEVERITIES, apply
from .dataset import IMAGE_SIZE, Subset

MIDDLE_SEVERITY = 3


def benchmark(model, subset: Subset, conditions=tuple(CONDITIONS), severities=SEVERITIES, seed: int = 0,
              progress: bool = False) -> pd.DataFrame:
    """Accuracy of `model` on `subset` clean (condition "clean", severity 0) and under each condition x severity."""
    from .evaluation import score
    from .inference import predict_proba

    clean = score(subset.y, predict_proba(model, subset.x).argmax(axis=1)).accuracy
    rows = [{"condition": "clean", "severity": 0, "accuracy": clean, "drop": 0.0}]
    for name in conditions:
        for severity in severities:
            shifted = apply(name, subset.x, severity, seed)
            accuracy = score(subset.y, predict_proba(model, shifted).argmax(axis=1)).accuracy
            rows.append({"condition": name, "severity": severity, "accuracy": accuracy, "drop": clean - accuracy})
            if progress:
                print(f"{name} {severity}: {accuracy:.4f}", flush=True)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict:
    """Clean accuracy, the mean over all conditions and severities, and per condition its mean and middle-severity drop."""
    shifted = table[table["condition"] != "clean"]
    per_condition = shifted.groupby("condition", sort=False)
    return {
        "clean_accuracy": float(table.loc[table["condition"] == "clean", "accuracy"].iloc[0]),
        "mean_accuracy": float(shifted["accuracy"].mean()),
        "per_condition_mean": {name: float(v) for name, v in per_condition["accuracy"].mean().items()},
        f"drop_at_severity_{MIDDLE_SEVERITY}": {
            name: float(group.loc[group["severity"] == MIDDLE_SEVERITY, "drop"].iloc[0])
            for name, group in per_condition if (group["severity"] == MIDDLE_SEVERITY).any()},
    }


def accuracy_grid(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy as condition x severity (the clean accuracy as column 0 of every row)."""
    clean = float(table.loc[table["condition"] == "clean", "accuracy"].iloc[0])
    grid = table[table["condition"] != "clean"].pivot(index="condition", columns="severity", values="accuracy")
    grid = grid.loc[list(dict.fromkeys(table.loc[table["condition"] != "clean", "condition"]))]
    grid.insert(0, 0, clean)
    grid["mean"] = grid.drop(columns=0).mean(axis=1)
    return grid


def to_dict(table: pd.DataFrame) -> dict:
    """JSON-ready: the rows and the summary."""
    return {"rows": table.to_dict(orient="records"), "summary": summary(table)}


def markdown(numbers: dict) -> str:
    """A robustness JSON (rows + summary) as the README's table: accuracy in % by condition and severity."""
    grid = accuracy_grid(pd.DataFrame(numbers["rows"])) * 100
    severities = [c for c in grid.columns if c != "mean"]
    lines = ["| condition | clean | " + " | ".join(map(str, severities[1:])) + " |", "|---" * len(severities) + "|---|"]
    lines += [f"| {name} | " + " | ".join(f"{row[c]:.1f}" for c in severities) + " |" for name, row in grid.iterrows()]
    return "\n".join(lines)


def comparison_markdown(models: dict[str, dict]) -> str:
    """Several models' robustness JSON ({name: rows + summary}) as one table: clean and mean accuracy, and each
    condition's drop at the middle severity, in points."""
    names = list(models)
    summaries = {name: numbers["summary"] for name, numbers in models.items()}
    key = f"drop_at_severity_{MIDDLE_SEVERITY}"
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             "| clean accuracy, % | " + " | ".join(f"{summaries[n]['clean_accuracy'] * 100:.1f}" for n in names) + " |",
             "| mean over all conditions and severities, % | "
             + " | ".join(f"{summaries[n]['mean_accuracy'] * 100:.1f}" for n in names) + " |"]
    for condition in summaries[names[0]][key]:
        lines.append(f"| {condition}: points lost at severity {MIDDLE_SEVERITY} | "
                     + " | ".join(f"{summaries[n][key][condition] * 100:.1f}" for n in names) + " |")
    return "\n".join(lines)


FACE_SIZES = (48, 96, 192)  # end to end: the face's side in the frame, in pixels
MATCH_CENTRE, MATCH_SCALE = 0.25, 2.0  # a detection finds a placed face: centred on it, at most 2x off its size (finds)
MATCH_IOU = 0.5  # the stricter match also reported: the frame a detection implies overlaps the face this much


# scikit-image's photographs without a person (not its coins: they are struck with heads; not the rocket: end_to_end's
# background)
FACE_FREE_PHOTOS = ("brick", "chelsea", "clock", "coffee", "grass", "gravel", "horse", "hubble_deep_field",
                    "immunohistochemistry", "moon", "page", "retina", "text")


def face_free_photos() -> list[np.ndarray]:
    """FACE_FREE_PHOTOS, grayscale uint8 (scikit-image ships them)."""
    try:
        from skimage import data
    except ImportError as error:
        raise ImportError("fer_lib's face-free photographs are scikit-image's: pip install scikit-image") from error
    from .images import to_gray

    return [to_gray(getattr(data, name)()) for name in FACE_FREE_PHOTOS]


# every photograph scikit-image ships without a person, drawn or sculpted face (looked at one by one): the frames of
# face_free_frames, where a detector's every face is a false one
FALSE_FACE_PHOTOS = (*(name for name in FACE_FREE_PHOTOS if name != "horse"), "cell", "stereo_motorcycle/0",
                     "stereo_motorcycle/1", "rocket")
FRAME_SHAPE = (480, 640)  # a webcam's frame: height, width


def face_free_frames(count: int = 480, seed: int = 0, shape=FRAME_SHAPE) -> np.ndarray:
    """`count` grayscale frames (N, 480, 640) uint8 without any face, cut from FALSE_FACE_PHOTOS in turn: a random
    window of 35-100% of the largest 4:3 one, scaled to the frame, mirrored half the time; every third frame dimmed
    (light x0.1-0.5, gamma 1.5) with a dim sensor's noise, as an empty room at night is."""
    import cv2
    from skimage import data

    from .images import to_gray

    def photo(name):
        loader, _, part = name.partition("/")
        image = getattr(data, loader)()
        return to_gray(image[int(part)] if part else image)

    photos = [photo(name) for name in FALSE_FACE_PHOTOS]
    height, width = shape
    frames = np.empty((count, height, width), np.uint8)
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        source = photos[i % len(photos)]
        largest = min(source.shape[0], source.shape[1] * height / width)
        h = max(8, int(largest * rng.uniform(0.35, 1.0)))
        w = int(h * width / height)
        top, left = rng.integers(0, source.shape[0] - h + 1), rng.integers(0, source.shape[1] - w + 1)
        frame = cv2.resize(source[top : top + h, left : left + w], (width, height), interpolation=cv2.INTER_LINEAR)
        frame = frame[:, ::-1] if rng.random() < 0.5 else frame
        if i % 3 == 2:
            dark = 255 * rng.uniform(0.1, 0.5) * (frame / 255.0) ** 1.5 + rng.normal(0, 3, frame.shape)
            frame = np.clip(dark, 0, 255).round()
        frames[i] = frame
    return frames


def ellipse_alpha(size: int, width: float = 0.5, height: float = 0.55, feather: float = 0.15) -> np.ndarray:
    """(size, size) float weights of a face blended into a scene: 1 inside an ellipse of half-axes `width` and `height`
    (fractions of the side), falling to 0 over `feather` of its radius."""
    grid = (np.arange(size) + 0.5) / size - 0.5
    radius = np.hypot(grid[None, :] / width, grid[:, None] / height)
    return np.clip((1.0 - radius) / feather, 0, 1)


def scenes(faces: np.ndarray, face_size: int, background: np.ndarray, seed: int = 0, place: bool = True,
           ellipses: np.ndarray | None = None):
    """Each uint8 face (N, 48, 48) enlarged to `face_size` pixels and blended (a feathered ellipse: ellipse_alpha's
    default, or each face's row of `ellipses` (N, 3) width, height, feather) into its own window of the grayscale
    `background`, at a random place in a frame of max(256, 3 x face_size) pixels. Returns the frames (N, S, S) and
    each face's square (N, 4) x, y, side, side; `place=False`: the same frames without the faces."""
    import cv2

    side = max(256, 3 * face_size)
    cover = side / min(background.shape)
    scenery = cv2.resize(background, None, fx=max(cover, 1.0) * 1.5, fy=max(cover, 1.0) * 1.5)
    alpha = ellipse_alpha(face_size)
    frames, squares = np.empty((len(faces), side, side), np.uint8), np.empty((len(faces), 4), np.int64)
    for i, face in enumerate(np.asarray(faces)):
        rng = np.random.default_rng([seed, face_size, i])
        top, left = rng.integers(0, scenery.shape[0] - side + 1), rng.integers(0, scenery.shape[1] - side + 1)
        frame = scenery[top : top + side, left : left + side].astype(np.float32)
        x, y = rng.integers(0, side - face_size + 1, size=2)
        if place:
            big = cv2.resize(face, (face_size, face_size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
            if ellipses is not None:
                alpha = ellipse_alpha(face_size, *ellipses[i])
            region = frame[y : y + face_size, x : x + face_size]
            frame[y : y + face_size, x : x + face_size] = alpha * big + (1 - alpha) * region
        frames[i], squares[i] = np.clip(frame, 0, 255).round(), (x, y, face_size, face_size)
    return frames, squares


def end_to_end(model, subset: Subset, detectors: dict, background: np.ndarray, conditions=tuple(CONDITIONS),
               severities=(0, *SEVERITIES), face_sizes=FACE_SIZES, seed: int = 0, align: bool = True) -> pd.DataFrame:
    """Faces found and read in whole frames: for each condition (severity 0: clean) and face size, `subset`'s faces
    under the condition are placed into frames (scenes), each detector in `detectors` ({name: detector}) looks for
    them, and the best-matching detection (`finds`) is cropped (aligned where it gives eyes, unless `align` is False)
    and classified. A face not found counts as wrong. One row per detector, condition, severity and size: `found`,
    `found_iou` (found, and the implied frame's IoU with the face at least MATCH_IOU), `accuracy` (end to end) and
    `crop_accuracy` (the same faces classified as cut out, as `benchmark` does)."""
    rows = []
    for name, severity, crop_accuracy, size, frames, squares in _framed(model, subset, background, conditions,
                                                                         severities, face_sizes, seed):
        for detector_name, detector in detectors.items():
            found, overlapping, predicted = _read_scenes(model, detector, frames, squares, align)
            rows.append({"detector": detector_name, "condition": name, "severity": severity, "face_size": size,
                         "found": float(found.mean()), "found_iou": float(overlapping.mean()),
                         "accuracy": float((found & (predicted == subset.y)).mean()), "crop_accuracy": crop_accuracy})
    return pd.DataFrame(rows)


def placed_accuracy(model, subset: Subset, background: np.ndarray, conditions=tuple(CONDITIONS),
                    severities=(0, *SEVERITIES), face_sizes=FACE_SIZES, seed: int = 0) -> pd.DataFrame:
    """What the frames themselves cost, without a detector: `subset`'s faces under each condition placed into frames as
    `end_to_end` places them, cut out again exactly where they were placed (the feathered corners now show the
    background) and read. One row per condition, severity and size: `placed_accuracy` and `crop_accuracy`."""
    from .evaluation import score
    from .inference import predict_proba

    rows = []
    for name, severity, crop_accuracy, size, frames, squares in _framed(model, subset, background, conditions,
                                                                         severities, face_sizes, seed):
        accuracy = score(subset.y, predict_proba(model, placed_crops(frames, squares)).argmax(axis=1)).accuracy
        rows.append({"condition": name, "severity": severity, "face_size": size, "placed_accuracy": accuracy,
                     "crop_accuracy": crop_accuracy})
    return pd.DataFrame(rows)


def placed_crops(frames: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """The faces `scenes` placed, cut out of their frames exactly where they were placed (48x48 uint8)."""
    from .faces import crop_faces
    from .framing import Framing

    exact = Framing(1.0, 0.0, 0.0)
    return np.stack([crop_faces(frame, square[None], exact)[0] for frame, square in zip(frames, squares)])


def _framed(model, subset: Subset, background, conditions, severities, face_sizes, seed):
    """Clean (where severity 0 is asked for), then each condition at each severity: (condition, severity, `model`'s
    crop-level accuracy, face size, frames, squares) for each face size, the frames made by `scenes`."""
    from .evaluation import score
    from .inference import predict_proba

    settings = [("clean", 0)] * (0 in severities) + [(name, level) for name in conditions for level in severities if level]
    for name, severity in settings:
        shifted = apply(name, subset.x, severity, seed) if severity else subset.x
        crop_accuracy = score(subset.y, predict_proba(model, shifted).argmax(axis=1)).accuracy
        for size in face_sizes:
            yield name, severity, crop_accuracy, size, *scenes(shifted, size, background, seed)


def false_faces(detectors: dict, background: np.ndarray, count: int, face_sizes=FACE_SIZES, seed: int = 0) -> pd.DataFrame:
    """How often each detector reports a face where there is none: the share of `count` face-free frames (the
    windows of `background` that `scenes` would place faces of each size into) with at least one detection."""
    rows = []
    for size in face_sizes:
        frames, _ = scenes(np.zeros((count, IMAGE_SIZE, IMAGE_SIZE), np.uint8), size, background, seed, place=False)
        for name, detector in detectors.items():
            rows.append({"detector": name, "face_size": size,
                         "false_faces": float(np.mean([len(detector.detect(frame)) > 0 for frame in frames]))})
    return pd.DataFrame(rows)


def false_faces_in_photos(detectors: dict, count: int = 240, seed: int = 0) -> dict:
    """{name: the share of `count` real 640x480 frames without a face (face_free_frames) in which the detector
    reports one}: false faces on photographs, not on the end-to-end frames' own background."""
    frames = face_free_frames(count, seed)
    return {name: float(np.mean([len(detector.detect(frame)) > 0 for frame in frames]))
            for name, detector in detectors.items()}


def finds(frames_implied: np.ndarray, square) -> tuple[np.ndarray, np.ndarray]:
    """Which detections find a face placed as `square` (x, y, side, side), from the FER2013 frames they imply (N, 3)
    centre x, centre y, side: (found (N,) bool, IoU (N,)). Found: the frame is centred on the face, within
    MATCH_CENTRE of its side, and between 1/MATCH_SCALE and MATCH_SCALE times its size. FER2013's crops do not frame
    faces alike: on its own Training faces, 7.6% of BlazeFace's boxes imply a frame more than sqrt(2) off the crop's
    size (where IoU >= 0.5 cannot hold even centred), 0.2% more than 2x off (`python -m fer_lib framing --detector
    blazeface`: results/face_framing_blazeface.json's spread)."""
    from .detectors.base import overlaps

    x, y, side = float(square[0]), float(square[1]), float(square[2])
    centre_x, centre_y, implied = np.asarray(frames_implied, np.float64).reshape(-1, 3).T
    centred = np.maximum(abs(centre_x - x - side / 2), abs(centre_y - y - side / 2)) <= MATCH_CENTRE * side
    sized = (implied >= side / MATCH_SCALE) & (implied <= MATCH_SCALE * side)
    corners = np.stack([centre_x - implied / 2, centre_y - implied / 2, centre_x + implied / 2, centre_y + implied / 2], 1)
    return centred & sized, overlaps(np.array([x, y, x + side, y + side]), corners)


def _read_scenes(model, detector, frames, squares, align: bool = True):
    """(found (N,) bool, found with IoU >= MATCH_IOU (N,) bool, predicted label (N,), -1 where not found) for each
    frame's placed face."""
    from .inference import predict_proba

    found, overlapping, crops = detected_crops(detector, frames, squares, align)
    predicted = np.full(len(frames), -1)
    if len(crops):
        predicted[found] = predict_proba(model, crops).argmax(axis=1)
    return found, overlapping, predicted


def detected_crops(detector, frames, squares, align: bool = True, views=None):
    """Each frame's placed face as `detector` finds it, cut out as the end-to-end pipeline does: (found (N,) bool,
    found with IoU >= MATCH_IOU (N,) bool, the found faces' crops (found.sum(), 48, 48) uint8). Of the detections that
    find the face (`finds`), the one with the highest IoU is cut out (aligned where it gives eyes, unless `align` is
    False); with `views` (faces.CROP_VIEWS), in each of them: crops (found.sum(), V, 48, 48)."""
    from .faces import crop_faces, crop_views

    cut = crop_faces if views is None else lambda *face: crop_views(*face, views=views)
    found, overlapping, crops = np.zeros(len(frames), bool), np.zeros(len(frames), bool), []
    for i, (frame, square) in enumerate(zip(frames, squares)):
        detections = detector.detect(frame)
        if len(detections) == 0:
            continue
        matched, iou = finds(detector.framing.frames(detections.boxes), square)
        if matched.any():
            best = int(np.flatnonzero(matched)[np.argmax(iou[matched])])
            found[i], overlapping[i] = True, iou[best] >= MATCH_IOU
            eyes = detections.keypoints[best : best + 1, :2] if align else None
            crops.append(cut(frame, detections.boxes[best : best + 1], detector.framing, eyes)[0])
    shape = (0, IMAGE_SIZE, IMAGE_SIZE) if views is None else (0, len(views), IMAGE_SIZE, IMAGE_SIZE)
    return found, overlapping, np.stack(crops) if crops else np.zeros(shape, np.uint8)


# pipeline_faces' ellipses: width, height and feather each drawn from these ranges (scenes' is 0.5, 0.55, 0.15)
PIPELINE_ELLIPSES = ((0.42, 0.62), (0.48, 0.68), (0.08, 0.25))


def pipeline_faces(faces: np.ndarray, detector=None, photos=None, face_sizes=FACE_SIZES, seed: int = 0, chunk: int = 256,
                   progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each uint8 face (N, 48, 48) as the end-to-end pipeline hands it to a classifier: placed into a scene (`scenes`,
    on one of `photos`, default face_free_photos(), at one of `face_sizes`, in an ellipse of its own proportions
    drawn from PIPELINE_ELLIPSES' ranges, all at random), found by `detector` (default: faces.DEFAULT_DETECTOR),
    aligned and cut out. Returns (crops (N, 48, 48) uint8, found (N,) bool); a face not found keeps its own crop.
    `progress`: a progress bar."""
    from .detectors import face_detector
    from .progress import progress_bar

    faces = np.asarray(faces)
    detector = detector or face_detector()
    photos = face_free_photos() if photos is None else photos
    rng = np.random.default_rng(seed)
    photo_of, size_of = rng.integers(len(photos), size=len(faces)), rng.choice(face_sizes, size=len(faces))
    ellipses = rng.uniform(*np.array(PIPELINE_ELLIPSES).T, size=(len(faces), 3))
    crops, found = faces.copy(), np.zeros(len(faces), bool)
    bar = progress_bar(total=len(faces), desc="faces cut out of scenes", unit="face", enable=progress)
    for start in range(0, len(faces), chunk):
        part = np.arange(start, min(start + chunk, len(faces)))
        for photo in np.unique(photo_of[part]):
            for size in np.unique(size_of[part]):
                which = part[(photo_of[part] == photo) & (size_of[part] == size)]
                if len(which) == 0:
                    continue
                frames, squares = scenes(faces[which], int(size), photos[photo], seed + start, ellipses=ellipses[which])
                hit, _, cut = detected_crops(detector, frames, squares)
                found[which[hit]], crops[which[hit]] = True, cut
        bar.update(len(part))
    bar.close()
    return crops, found


def dimmed(image: np.ndarray, light: float) -> np.ndarray:
    """A uint8 image at `light` (0-1] of its light, the shadows darkened most (a gamma, as conditions.low_light
    darkens): tilting_dimming_clip's dimming."""
    return (255.0 * light * (image / 255.0) ** (1 + 1.5 * (1 - light))).round().astype(np.uint8)


def tilting_dimming_clip(photo: np.ndarray, path, seconds: float = 16.0, fps: int = 5, max_tilt: float = 50.0,
                         darkest: float = 0.08) -> pd.DataFrame:
    """Write a video (mp4) made from one photo in which the head tilts and the light dims: over the first half the
    photo turns about its centre to `max_tilt` degrees and back; over the second half, upright, the light falls to
    `darkest` of its level (by a gamma, as conditions.low_light darkens). Returns each frame's time, tilt and light."""
    import cv2

    photo = np.asarray(photo)
    height, width = photo.shape[:2]
    frames = int(round(seconds * fps))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write an mp4 video here")
    rows = []
    try:
        for index in range(frames):
            progress = index / max(1, frames - 1)
            tilt = max_tilt * np.sin(np.pi * min(1.0, 2 * progress))  # 0 -> max_tilt -> 0 over the first half
            light = 1.0 - (1.0 - darkest) * max(0.0, 2 * progress - 1)  # 1 -> darkest over the second half
            turn = cv2.getRotationMatrix2D((width / 2, height / 2), tilt, 1.0)
            frame = cv2.warpAffine(photo, turn, (width, height), borderMode=cv2.BORDER_REFLECT)
            frame = dimmed(frame, light)
            writer.write(frame[..., ::-1] if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
            rows.append({"timestamp_s": index / fps, "tilt_degrees": float(tilt), "light": float(light)})
    finally:
        writer.release()
    return pd.DataFrame(rows)
