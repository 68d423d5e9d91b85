"""Faces in real photos: read any image as grayscale, find faces, crop them the way FER2013 frames its faces.

Four detectors, none downloaded (`face_detector(name)`): "haar", OpenCV's frontal-face Haar cascade, shipped
inside opencv-python-headless (4.x; OpenCV 5 dropped it), whose faces get their eyes from OpenCV's eye cascade where
it finds a pair (`find_eyes`); "blazeface", MediaPipe's BlazeFace (fer_lib.blazeface), which also finds faces at
an angle, in low light and behind glasses and gives each face's eyes, nose, mouth and ears; "ssd", OpenCV's SSD
face detector, each of its faces checked by BlazeFace and the face mesh (fer_lib.ssd); and "tiles", BlazeFace on nine
smaller tiles of the frame, for faces small in it (blazeface.TileSearch). The default, "blazeface+haar+ssd+tiles", is
BlazeFace, then the cascade where it finds nothing or only doubtful faces (BlazeFace.doubtful), then the SSD, then
the tiles (bench_detection.py).

FER2013's faces were cut out by a detector too: run on FER2013's own faces, the cascade's box matches the 48x48
frame to within a few percent (`measure_framing`, `python -m fer_lib framing`), so a face is cropped as its detected
box scaled by FER_FRAMING.scale around its centre, shifted by (dx, dy); each detector has its framing, measured the
same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np

from .dataset import IMAGE_SIZE

CASCADE_FILE = "haarcascade_frontalface_default.xml"
EYE_CASCADE_FILE = "haarcascade_eye.xml"
EYE_SEARCH_WIDTH = 96  # a face's box is searched for its eyes at this width (the eye cascade's window is 20 px)
# Images are searched on a copy scaled down to this longest side: photos keep detail for small faces; video
# frames trade it for speed (a 640x480 frame is searched at 320x240: faces from 48 px, about 45 frames/s here).
PHOTO_MAX_SIDE, VIDEO_MAX_SIDE = 1280, 320
MIN_FACE_FRACTION = 0.05  # faces smaller than this share of the image's shorter side are ignored (and >= 24 px)


@dataclass(frozen=True)
class Framing:
    """FER2013's frame relative to a detected box: side = scale x box width, centre moved by (dx, dy) box widths."""

    scale: float
    dx: float
    dy: float
    measured_on: int = 0  # faces with exactly one detection
    sample: int = 0  # faces tried

    def frames(self, boxes: np.ndarray) -> np.ndarray:
        """The FER2013 frames detected boxes (N, 4) x, y, width, height imply: (N, 3) centre x, centre y, side."""
        x, y, w, h = np.asarray(boxes, np.float64).reshape(-1, 4).T
        return np.stack([x + w / 2 + self.dx * w, y + h / 2 + self.dy * w, self.scale * w], axis=1)


# Measured on the first 2,000 Training faces of Kaggle's FER2013, original pixels (python -m fer_lib framing --data
# fer2013_original.csv.gz; results/face_framing.json).
FER_FRAMING = Framing(scale=1.016, dx=-0.003, dy=0.0, measured_on=1506, sample=2000)


@dataclass(frozen=True)
class Eyes:
    """Where the eyes sit in a 48x48 FER2013 face: centres (x, y) in pixels (image-left eye first), eye box side."""

    left: tuple[float, float]
    right: tuple[float, float]
    size: float
    measured_on: int = 0
    sample: int = 0


# Measured on the same 2,000 faces with OpenCV's eye cascade (python -m fer_lib framing; results/face_framing.json).
FER_EYES = Eyes(left=(14.375, 18.375), right=(32.75, 18.25), size=11.625, measured_on=1136, sample=2000)


DETECTORS = ("haar", "blazeface", "blazeface-full", "ssd", "tiles", "blazeface+haar", "blazeface+haar+ssd",
             "blazeface+haar+ssd+tiles")
DEFAULT_DETECTOR = "blazeface+haar+ssd+tiles"  # finds the most faces, clean and under every condition
# (benchmarks/bench_detection.py)
KEYPOINTS = ("eye_left", "eye_right", "nose", "mouth", "ear_left", "ear_right")  # as seen in the image


@dataclass(frozen=True)
class Detections:
    """Faces in one image, largest first: `boxes` (N, 4) int x, y, width, height; `scores` (N,); `keypoints`
    (N, 6, 2) float pixel (x, y) in the order of KEYPOINTS, NaN where the detector does not give them."""

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def from_corners(cls, corners: np.ndarray, scores: np.ndarray, keypoints: np.ndarray, shape) -> Detections:
        """Detections from boxes as x_min, y_min, x_max, y_max in an image of `shape` (height, width, ...): clipped to
        the image, those over a pixel wide and high kept, largest first."""
        height, width = shape[:2]
        xy = np.clip(corners[:, :2], 0, [width, height])
        wh = np.clip(corners[:, 2:], 0, [width, height]) - xy
        kept = (wh > 1).all(axis=1)
        boxes = np.round(np.concatenate([xy, wh], axis=1)[kept]).astype(np.int64)
        order = np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")
        return cls(boxes[order], scores[kept][order].astype(np.float32), keypoints[kept][order].astype(np.float32))


def face_detector(name: str = DEFAULT_DETECTOR, video: bool = False, video_side: int | None = None):
    """The face detector `name` names (DETECTORS): the Haar cascade, BlazeFace's short-range or full-range model,
    OpenCV's SSD checked by BlazeFace and the face mesh (fer_lib.ssd), BlazeFace on smaller tiles
    (blazeface.TileSearch), or, for names joined by "+", the first that finds a face (FirstFound); `video`: the
    cascade's faster settings for video frames.
    A detector's `detect(gray)` gives Detections, `detector(gray)` their boxes; `framing` is its own."""
    if name not in DETECTORS:
        raise ValueError(f"face detector {name!r}: choose from {', '.join(DETECTORS)}")
    if "+" in name:
        return FirstFound(*(face_detector(part, video, video_side) for part in name.split("+")))
    if name == "haar":
        return FaceDetector.for_video(video_side or VIDEO_MAX_SIDE) if video else FaceDetector()
    if name == "ssd":
        from .ssd import SSD

        return SSD()
    from .blazeface import BlazeFace, TileSearch

    if name == "tiles":
        return TileSearch()
    return BlazeFace(name.removeprefix("blazeface").removeprefix("-") or "short")


class FirstFound:
    """The first detector's faces; in an image where it finds none, the next one's, and so on, their boxes
    re-expressed in the first one's framing. Faces a detector finds doubtful (its `doubtful`, where it has one) are
    kept only where no later detector finds a face, or where its faces are only larger ones around them."""

    def __init__(self, *detectors):
        self.detectors, self.framing = detectors, detectors[0].framing

    def detect(self, gray: np.ndarray) -> Detections:
        doubted = None
        for detector in self.detectors:
            found = detector.detect(gray)
            if not len(found):
                continue
            if doubted and around(detector.framing.frames(found.boxes), doubted[0].framing.frames(doubted[1].boxes)):
                detector, found = doubted
                break
            if not (hasattr(detector, "doubtful") and detector.doubtful(gray, found)):
                break
            doubted = doubted or (detector, found)
        else:
            if doubted:
                detector, found = doubted
        if detector.framing == self.framing:
            return found
        return Detections(reframe(found.boxes, detector.framing, self.framing), found.scores, found.keypoints)

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        return self.detect(gray).boxes


def around(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether each of the FER2013 frames `outer` (N, 3: centre x, centre y, side) is larger than one of `inner`'s and
    holds its centre."""
    holds = np.abs(outer[:, None, :2] - inner[None, :, :2]).max(axis=2) <= outer[:, None, 2] / 2
    return bool((holds & (outer[:, None, 2] > inner[None, :, 2])).any(axis=1).all())


def reframe(boxes: np.ndarray, source: Framing, target: Framing) -> np.ndarray:
    """Boxes found by a detector framed by `source`, as the boxes that give the same FER2013 frames under `target`."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centre_x, centre_y, side = source.frames(boxes).T
    width = side / target.scale
    height = boxes[:, 3] * width / np.maximum(boxes[:, 2], 1)
    x, y = centre_x - target.dx * width - width / 2, centre_y - target.dy * width - height / 2
    return np.round(np.stack([x, y, width, height], axis=1)).astype(np.int64)


class ImageError(ValueError):
    """An image that cannot be used; the message says why. The subclasses name the kind of problem."""


class NotAnImage(ImageError):
    """A file that is not an image in any format Pillow reads (or an unsupported one, e.g. HEIC)."""


class DamagedImage(ImageError):
    """An image file that is truncated or corrupted."""


class ImageTooLarge(ImageError):
    """An image over predict.MAX_PIXELS pixels."""


def to_gray(image: np.ndarray, bgr: bool = False) -> np.ndarray:
    """Any image array as uint8 grayscale (H, W): gray, RGB, RGBA (alpha dropped), 16-bit or float in [0, 1].
    `bgr`: its colour channels are blue, green, red, as OpenCV's `cv2.imread` and video frames give them."""
    image = np.asarray(image)
    dtype = image.dtype
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        channels = image[..., 2::-1] if bgr else image[..., :3]
        image = channels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as OpenCV
    if image.ndim != 2:
        raise ImageError(f"expected a gray (H, W), RGB or RGBA (H, W, 3|4) image, got shape {image.shape}")
    if image.size == 0:
        raise ImageError("the image is empty")
    if dtype == np.uint8:
        return np.clip(image, 0, 255).round().astype(np.uint8) if image.dtype != np.uint8 else image
    if dtype == np.uint16 or image.max() > 255:  # more than 8 bits: scaled by the bit depth its values use
        return np.clip(image * (255.0 / bit_depth_maximum(image)), 0, 255).round().astype(np.uint8)
    if np.issubdtype(dtype, np.floating) and image.max() <= 1.0:
        return np.clip(image * 255.0, 0, 255).round().astype(np.uint8)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def bit_depth_maximum(image: np.ndarray) -> int:
    """The largest value of the smallest bit depth (8 to 16 bits) that holds every value of `image`: a 16-bit image
    whose values are 8-bit (0-255) stays as it is, one from a 12-bit sensor is scaled from 0-4095, a full one from
    0-65535."""
    top = float(np.max(image)) if np.size(image) else 0.0
    bits = 8
    while bits < 16 and top > 2 ** bits - 1:
        bits += 1
    return 2 ** bits - 1


class FaceDetector:
    """Frontal faces in a grayscale image as (N, 4) int boxes x, y, width, height, largest first.

    For video frames use FaceDetector.for_video(): a smaller search size and coarser scale steps.
    """

    framing = FER_FRAMING

    def __init__(self, max_side: int = PHOTO_MAX_SIDE, scale_factor: float = 1.1, min_neighbors: int = 5,
                 min_fraction: float = MIN_FACE_FRACTION, eyes: bool = True):
        self.cascade = load_cascade(CASCADE_FILE)
        self.eye_cascade = load_cascade(EYE_CASCADE_FILE) if eyes else None
        self.max_side, self.scale_factor = max_side, scale_factor
        self.min_neighbors, self.min_fraction = min_neighbors, min_fraction

    @classmethod
    def for_video(cls, max_side: int = VIDEO_MAX_SIDE) -> FaceDetector:
        return cls(max_side=max_side, scale_factor=1.2)

    def detect(self, gray: np.ndarray) -> Detections:
        """The boxes, each scored 1; the keypoints are NaN but for the eyes where the eye cascade finds a pair."""
        boxes = self(gray)
        keypoints = np.full((len(boxes), len(KEYPOINTS), 2), np.nan, np.float32)
        for face, box in zip(keypoints, boxes if self.eye_cascade is not None else []):
            face[:2] = find_eyes(gray, box, self.eye_cascade)
        return Detections(boxes, np.ones(len(boxes), np.float32), keypoints)

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        import cv2

        shrink = min(1.0, self.max_side / max(gray.shape))
        small = gray if shrink == 1.0 else cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        side = max(24, int(self.min_fraction * min(small.shape)))
        boxes = self.cascade.detectMultiScale(small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
                                              minSize=(side, side))
        boxes = np.round(np.asarray(boxes, np.float64).reshape(-1, 4) / shrink).astype(np.int64)
        return boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")]


def load_cascade(file: str):
    """One of the cascades opencv-python-headless ships, by file name; a clear error where it does not."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + file)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {file} did not load: install opencv-python-headless 4.x "
                           "(OpenCV 5 no longer ships Haar cascades)")
    return cascade


def find_eyes(gray: np.ndarray, box, cascade) -> np.ndarray:
    """The image-left and image-right eye centres (2, 2) x, y in a face's `box` (x, y, width, height), from OpenCV's
    eye `cascade`; NaN unless it finds a pair: one eye in each half of the box's upper 60%, 25-70% of the box's
    width apart, tilted at most 30 degrees and of like size. Of several pairs, the one whose midpoint lies nearest
    to where FER2013's eyes sit (FER_EYES)."""
    import cv2

    x, y, width, height = (int(v) for v in box)
    top = gray[max(0, y) : y + int(height * 0.6), max(0, x) : x + width]
    pair = np.full((2, 2), np.nan)
    if min(top.shape) < 8:
        return pair
    shrink = EYE_SEARCH_WIDTH / top.shape[1]
    small = cv2.resize(top, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA if shrink < 1 else cv2.INTER_LINEAR)
    found = cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=3, minSize=(12, 12),
                                     maxSize=(EYE_SEARCH_WIDTH * 2 // 5,) * 2)
    eyes = np.asarray(found, np.float64).reshape(-1, 4)
    centres, sizes = eyes[:, :2] + eyes[:, 2:] / 2, eyes[:, 2]
    half = EYE_SEARCH_WIDTH / 2
    expected = np.array([(FER_EYES.left[0] + FER_EYES.right[0]) / 2, (FER_EYES.left[1] + FER_EYES.right[1]) / 2])
    expected *= EYE_SEARCH_WIDTH / IMAGE_SIZE
    best = np.inf
    for a, b in permutations(range(len(eyes)), 2):
        apart, rise = centres[b] - centres[a]
        alike = max(sizes[a], sizes[b]) <= 1.6 * min(sizes[a], sizes[b])
        if (centres[a, 0] < half <= centres[b, 0] and 0.25 <= apart / EYE_SEARCH_WIDTH <= 0.7
                and abs(rise) <= apart * np.tan(np.radians(30)) and alike):
            distance = np.hypot(*((centres[a] + centres[b]) / 2 - expected))
            if distance < best:
                best, pair = distance, centres[[a, b]] / shrink + [max(0, x), max(0, y)]
    return pair


def crop_faces(gray: np.ndarray, boxes: np.ndarray, framing: Framing = FER_FRAMING,
               eyes: np.ndarray | None = None) -> np.ndarray:
    """uint8 faces (N, 48, 48) framed like FER2013's; parts of a frame outside the image repeat its edge. `eyes`:
    (N, 2, 2) each face's image-left and image-right eye centres (x, y); each frame is then turned about its centre
    so that the eyes are level (alignment), where they are given (not NaN)."""
    import cv2

    crops = []
    frames = framing.frames(boxes)
    eyes = [None] * len(frames) if eyes is None else np.asarray(eyes, np.float64)
    for (cx, cy, side), pair in zip(frames, eyes):
        size = max(1, int(round(side)))
        if pair is None or not np.isfinite(pair).all():
            left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
            pad = max(0, -left, -top, left + size - gray.shape[1], top + size - gray.shape[0])
            padded = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else gray
            window = padded[top + pad : top + pad + size, left + pad : left + pad + size]
        else:
            turn = cv2.getRotationMatrix2D((cx, cy), eye_angle(pair), 1.0)
            turn[:, 2] += (size / 2 - cx, size / 2 - cy)
            window = cv2.warpAffine(gray, turn, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crops.append(cv2.resize(window, (IMAGE_SIZE, IMAGE_SIZE),
                                interpolation=cv2.INTER_AREA if size >= IMAGE_SIZE else cv2.INTER_LINEAR))
    return np.stack(crops) if crops else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


# The crops a face is read in when its reading averages several (EmotionReader's several_crops): (dx, dy, aligned), the
# frame moved by dx and dy of the box's width and turned to level the eyes or not; the first is crop_faces' own crop.
# Chosen by a one-off probe on PrivateTest (not in the repo) against one crop and fewer or other views; measured on
# PublicTest by benchmarks/bench_pipeline_models.py --several-crops.
CROP_VIEWS = ((0.0, 0.0, True), (0.0, 0.0, False), (0.05, 0.0, True), (-0.05, 0.0, True), (0.0, 0.05, True),
              (0.0, -0.05, True))


def crop_views(gray: np.ndarray, boxes: np.ndarray, framing: Framing = FER_FRAMING, eyes: np.ndarray | None = None,
               views=CROP_VIEWS) -> np.ndarray:
    """uint8 (N, V, 48, 48): each face cut out as crop_faces cuts it, once per view in `views` ((dx, dy, aligned): the
    box moved by dx and dy of its width, the eyes levelled where `aligned` and they are given)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    crops = [crop_faces(gray, boxes + np.outer(boxes[:, 2], [dx, dy, 0, 0]), framing, eyes if aligned else None)
             for dx, dy, aligned in views]
    return np.stack(crops, axis=1)


def eye_angle(eyes: np.ndarray) -> float:
    """The degrees by which a pair of eyes (2, 2), image-left first, rises to the image's right: turning the image
    by it about any point levels them."""
    (left_x, left_y), (right_x, right_y) = eyes
    return float(np.degrees(np.arctan2(right_y - left_y, right_x - left_x)))


def framing_relations(faces: np.ndarray, upscale: int = 4, border: float = 0.5, detector=None) -> np.ndarray:
    """Run `detector` (default: the Haar cascade) on FER2013 faces (uint8 (N, 48, 48)): for each face with exactly
    one detection, the 48x48 frame's relation to the box (scale, dx, dy, as Framing has them); (M, 3).

    Each face is enlarged `upscale` times and given a replicated border of `border` x its side, so that a box
    reaching the frame's edge can still be found; faces with no or several detections are left out.
    """
    import cv2

    detector = detector or FaceDetector(min_fraction=0.3)
    relations = []
    for face in np.asarray(faces):
        big = cv2.resize(face, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        pad = int(border * big.shape[0])
        boxes = detector(cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE))
        if len(boxes) == 1:
            x, y, w, h = (boxes[0] - [pad, pad, 0, 0]) / upscale
            half = IMAGE_SIZE / 2
            relations.append((IMAGE_SIZE / w, (half - (x + w / 2)) / w, (half - (y + h / 2)) / w))
    return np.array(relations, np.float64).reshape(-1, 3)


def measure_framing(faces: np.ndarray, relations: np.ndarray | None = None, **options) -> Framing:
    """The median frame-to-box relation of FER2013 faces (uint8 (N, 48, 48)), from `framing_relations(faces,
    **options)` unless they are given."""
    relations = framing_relations(faces, **options) if relations is None else relations
    if not len(relations):
        raise ValueError(f"measure_framing: no face found in any of the {len(faces)} faces")
    scale, dx, dy = np.median(relations, axis=0)
    return Framing(round(float(scale), 3), round(float(dx), 3), round(float(dy), 3), len(relations), len(faces))


def framing_spread(relations: np.ndarray, framing: Framing) -> dict:
    """How far single faces' frames stray from the median framing in size: percentiles of each frame's side over the
    side `framing` implies, and the shares more than sqrt(2) off (no IoU of 0.5 even centred) and more than 2x off."""
    ratio = relations[:, 0] / framing.scale
    off = np.maximum(ratio, 1 / ratio)
    return {"side_over_median_percentiles": {str(q): round(float(np.percentile(ratio, q)), 3) for q in (1, 5, 95, 99)},
            "share_off_by_more_than_sqrt2": round(float(np.mean(off > np.sqrt(2))), 4),
            "share_off_by_more_than_2": round(float(np.mean(off > 2)), 4)}


def measure_eyes(faces: np.ndarray, upscale: int = 4) -> Eyes:
    """Median eye centres and size in FER2013 faces (uint8 (N, 48, 48)), from OpenCV's eye cascade.

    Only faces where exactly two eyes are found in the upper 60% of the face, level (centres within 6 px) and
    apart (more than 10 px), count.
    """
    import cv2

    cascade = load_cascade(EYE_CASCADE_FILE)
    left, right = [], []
    for face in np.asarray(faces):
        big = cv2.resize(face, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        boxes = cascade.detectMultiScale(big[: big.shape[0] * 6 // 10], scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        if len(boxes) == 2:
            a, b = sorted(((x + w / 2) / upscale, (y + h / 2) / upscale, w / upscale) for x, y, w, h in boxes)
            if abs(a[1] - b[1]) < 6 and b[0] - a[0] > 10:
                left.append(a)
                right.append(b)
    if not left:
        raise ValueError(f"measure_eyes: no pair of eyes found in any of the {len(faces)} faces")
    (lx, ly, lw), (rx, ry, rw) = np.median(left, axis=0), np.median(right, axis=0)
    return Eyes((float(lx), float(ly)), (float(rx), float(ry)), float((lw + rw) / 2), len(left), len(faces))
