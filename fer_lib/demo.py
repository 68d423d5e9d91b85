"""The demo dataset: synthetic 48x48 cartoon faces, one geometric expression per emotion.

Used when FER2013 is absent, so every notebook and test runs on a fresh clone. It is NOT FER2013:
numbers measured on it say that the code works, not how well a model reads real faces.
Each emotion has its own mouth (curve, opening, shape), brows (height, slant) and eye opening;
every face gets a random position, scale, tilt, brightness, contrast and noise.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, IMAGE_SIZE, USAGES

DEMO_VERSION = 1

# Rows per Usage and emotion (angry, disgust, fear, happy, sad, surprise, neutral): FER2013's shape,
# disgust the rare class, at about a tenth of its size.
DEMO_COUNTS = {
    "Training": (400, 120, 400, 700, 480, 320, 480),
    "PublicTest": (60, 20, 60, 100, 70, 50, 70),
    "PrivateTest": (60, 20, 60, 100, 70, 50, 70),
}


@dataclass(frozen=True)
class Expression:
    """Face geometry in face coordinates (x right, y down, the face spans about -1..1)."""

    mouth_curve: float  # > 0 smiles (corners up), < 0 frowns
    mouth_open: float  # gap between the lips
    mouth_width: float
    mouth_tilt: float  # one corner higher than the other (disgust)
    round_mouth: bool  # an "O" (surprise)
    brow_raise: float  # > 0 lifts the brows
    brow_slant: float  # > 0 inner ends down (anger), < 0 inner ends up (sadness, fear)
    eye_open: float  # eye height


EXPRESSIONS = {
    "angry": Expression(-0.05, 0.00, 0.32, 0.00, False, -0.10, 0.22, 0.06),
    "disgust": Expression(-0.10, 0.04, 0.30, 0.16, False, -0.08, 0.08, 0.04),
    "fear": Expression(0.00, 0.10, 0.44, 0.00, False, 0.12, -0.16, 0.14),
    "happy": Expression(0.30, 0.05, 0.42, 0.00, False, 0.00, 0.00, 0.08),
    "sad": Expression(-0.28, 0.00, 0.32, 0.00, False, 0.02, -0.20, 0.07),
    "surprise": Expression(0.00, 0.22, 0.20, 0.00, True, 0.22, 0.00, 0.14),
    "neutral": Expression(0.00, 0.00, 0.34, 0.00, False, 0.00, 0.00, 0.09),
}

_GRID = (np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) - (IMAGE_SIZE - 1) / 2) / (IMAGE_SIZE / 2)


def render_face(expression: Expression, rng: np.random.Generator) -> np.ndarray:
    """One 48x48 uint8 face with `expression`, randomly placed, tilted, lit and noised."""
    jitter = lambda scale: rng.normal(0.0, scale)  # noqa: E731 - a local shorthand
    angle = np.deg2rad(rng.uniform(-15, 15))
    scale = rng.uniform(0.85, 1.1)
    shift_x, shift_y = rng.uniform(-0.12, 0.12, size=2)
    # Image coordinates -> face coordinates (inverse of scale, rotation and shift).
    y_img, x_img = _GRID
    x0, y0 = (x_img - shift_x) / scale, (y_img - shift_y) / scale
    x = np.cos(angle) * x0 + np.sin(angle) * y0
    y = -np.sin(angle) * x0 + np.cos(angle) * y0

    face = ((x / 0.78) ** 2 + (y / 0.95) ** 2) <= 1.0
    dark = np.zeros_like(x, dtype=bool)
    eye_open = max(0.02, expression.eye_open + jitter(0.01))
    brow_y = -0.42 - expression.brow_raise + jitter(0.02)
    slant = expression.brow_slant + jitter(0.03)
    for side in (-1, 1):
        ex = side * 0.32
        dark |= ((x - ex) / 0.13) ** 2 + ((y + 0.22) / eye_open) ** 2 <= 1.0
        # A brow: a thick segment above the eye whose inner end moves by `slant`.
        inner = np.clip((ex - x) * side / 0.16, -1, 1)  # +1 at the end nearer the nose
        brow_line = brow_y + 0.5 * slant * inner
        dark |= (np.abs(x - ex) <= 0.17) & (np.abs(y - brow_line) <= 0.035)
    mouth_y = 0.45 + jitter(0.02)
    width = expression.mouth_width + jitter(0.02)
    if expression.round_mouth:
        opening = expression.mouth_open + jitter(0.02)
        dark |= ((x / (width / 2)) ** 2 + ((y - mouth_y) / (opening / 2)) ** 2) <= 1.0
    else:
        u = x / width
        curve = mouth_y - (expression.mouth_curve + jitter(0.03)) * (u**2 - 0.5) - expression.mouth_tilt * u
        half_gap = 0.03 + max(0.0, expression.mouth_open + jitter(0.01)) / 2
        dark |= (np.abs(u) <= 1.0) & (np.abs(y - curve) <= half_gap)

    background = rng.uniform(20, 90)
    skin = rng.uniform(140, 220)
    ink = rng.uniform(10, 60)
    image = np.where(face, np.where(dark, ink, skin), background)
    contrast = rng.uniform(0.7, 1.2)
    image = (image - image.mean()) * contrast + image.mean() + rng.uniform(-25, 25)
    image += rng.normal(0.0, rng.uniform(2, 10), size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_demo_rows(seed: int = 0):
    """(labels, usage codes, faces) of the demo dataset, in a shuffled, deterministic order."""
    rng = np.random.default_rng(seed)
    labels, usage = [], []
    for code, name in enumerate(USAGES):
        for label, count in enumerate(DEMO_COUNTS[name]):
            labels += [label] * count
            usage += [code] * count
    order = rng.permutation(len(labels))
    labels = np.asarray(labels, np.int8)[order]
    usage = np.asarray(usage, np.uint8)[order]
    faces = np.stack([render_face(EXPRESSIONS[EMOTIONS[label]], rng) for label in labels])
    return labels, usage, faces


def write_demo_csv(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write the demo dataset to `path` in FER2013's Kaggle CSV layout (emotion,pixels,Usage)."""
    path = Path(path)
    labels, usage, faces = make_demo_rows(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="ascii") as out:
        out.write("emotion,pixels,Usage\n")
        for label, code, face in zip(labels, usage, faces):
            out.write(f"{label},{' '.join(map(str, face.ravel().tolist()))},{USAGES[code]}\n")
    os.replace(partial, path)
    return path
