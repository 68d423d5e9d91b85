"""The paper's "special conditions" as deterministic image transforms, each at severities 1-5 (0: unchanged).

    low_light       darker exposure and gamma, lost contrast, and the noise a dim camera adds
    glasses         eyeglass frames with lenses from clear to dark sunglasses, drawn over FER2013's measured eyes
    occluder        a plain grey band of the glasses' area over the eyes, as opaque as that severity's lenses
    rotation        in-plane head tilt (roll), 6 to 30 degrees
    camera_above    foreshortening as a camera above the face sees it (pitch): the chin recedes
    camera_beside   foreshortening as a camera beside the face sees it (yaw): one side recedes
    dark+angle      low_light after rotation;  glasses+angle: glasses after rotation

HELD_OUT holds three more, never used in training (random_conditions draws from CONDITIONS only), to tell
robustness to these conditions from a fit to these exact transforms:

    side_light      light from one side: the far half of the face falls into shadow (30% ... 90% darker)
    dim_camera      another dim camera: linear exposure x0.5 ... x0.08 with photon (Poisson) noise, no gamma
    visor           one dark band across both eyes (wrap-around sunglasses), 30% ... 90% dark, soft edges

Every transform takes faces (N, 48, 48), uint8 in [0, 255] or float in [0, 1], and returns the same shape, dtype
and range. Random parts (noise, small shifts, the tilt's direction) come from `seed` and the face's position in
the batch, so the same call gives the same faces.
"""
from __future__ import annotations

import numpy as np

from .dataset import IMAGE_SIZE
from .framing import FER_EYES

SEVERITIES = (1, 2, 3, 4, 5)
LENS_TINT = (0.0, 0.05, 0.3, 0.55, 0.75, 0.9)  # the share of light the lenses take away, by severity
FRAME_WIDTH = (0, 1, 1, 2, 2, 3)  # pixels
SHADOW_DEPTH = (0.0, 0.3, 0.45, 0.6, 0.75, 0.9)  # side_light's shadow and the visor's tint, by severity
FULL_WELL = 1000  # photons a full-scale pixel collects in dim_camera
_S = IMAGE_SIZE


def low_light(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Exposure x0.6 ... x0.1, gamma 1.2 ... 2.0, contrast pulled towards a dark floor, Gaussian sensor noise."""
    exposure = _level((1.0, 0.6, 0.4, 0.25, 0.15, 0.1), severity)
    gamma = 1.0 + 0.2 * severity
    noise = _level((0.0, 0.01, 0.015, 0.02, 0.025, 0.03), severity)

    def darken(x, rng):
        dark = exposure * x**gamma + 0.02 * (1 - exposure)  # a dim sensor's black level lifts a little
        return dark + rng.normal(0.0, noise, x.shape) if noise else dark

    return _apply(faces, severity, seed, darken)


def glasses(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Frames (thicker with severity) and lenses from clear to 90% dark, over the eyes where FER2013 has them."""
    tint, frame = _level(LENS_TINT, severity), _level(FRAME_WIDTH, severity)

    def wear(x, rng):
        lenses, frames = _glasses_masks(rng, frame)
        return x * (1 - tint * lenses) * (1 - frames) + 0.08 * frames

    return _apply(faces, severity, seed, wear)


def occluder(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """A flat mid-grey band over the eyes with the glasses' area, as opaque as that severity's lenses."""
    opacity, frame = _level(LENS_TINT, severity), _level(FRAME_WIDTH, severity)

    def cover(x, rng):
        lenses, frames = _glasses_masks(rng, frame)
        area = float((np.maximum(lenses, frames) > 0.5).sum())
        width = min(_S, area / (FER_EYES.size * 1.4))
        band = np.zeros((_S, _S))
        cx, cy = np.mean([FER_EYES.left[0], FER_EYES.right[0]]), np.mean([FER_EYES.left[1], FER_EYES.right[1]])
        top, left = int(round(cy - FER_EYES.size * 0.7)), int(round(cx - width / 2))
        band[max(0, top) : top + int(round(FER_EYES.size * 1.4)), max(0, left) : left + int(round(width))] = 1
        return x * (1 - opacity * band) + 0.5 * opacity * band

    return _apply(faces, severity, seed, cover)


def rotation(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """In-plane tilt of 6 x severity degrees, to the left or the right (seeded), edges reflected."""
    import cv2

    def tilt(x, rng):
        angle = 6.0 * severity * rng.choice((-1.0, 1.0))
        matrix = cv2.getRotationMatrix2D((_S / 2 - 0.5, _S / 2 - 0.5), angle, 1.0)
        return cv2.warpAffine(x, matrix, (_S, _S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)

    return _apply(faces, severity, seed, tilt)


def camera_above(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Pitch of 10 x severity degrees: the face shortens vertically and its lower part recedes (narrows)."""
    return _foreshorten(faces, severity, seed, vertical=True)


def camera_beside(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Yaw of 10 x severity degrees: the face narrows and one side (seeded) recedes."""
    return _foreshorten(faces, severity, seed, vertical=False)


def _foreshorten(faces, severity, seed, vertical: bool):
    import cv2

    def warp(x, rng):
        angle = np.radians(10.0 * severity)
        squeeze = np.cos(angle)  # the face's extent along the turned axis
        recede = 1 - 0.35 * np.sin(angle)  # the far edge looks shorter
        far, near = (_S / 2) * recede, _S / 2
        half = (_S / 2) * squeeze
        c = _S / 2
        if vertical:  # top edge near (full width), bottom edge far (narrower), height squeezed
            target = [(c - near, c - half), (c + near, c - half), (c + far, c + half), (c - far, c + half)]
        else:
            side = rng.choice((-1.0, 1.0))
            left, right = (far, near) if side < 0 else (near, far)
            target = [(c - half, c - left), (c + half, c - right), (c + half, c + right), (c - half, c + left)]
        source = np.float32([(0, 0), (_S, 0), (_S, _S), (0, _S)])
        matrix = cv2.getPerspectiveTransform(source, np.float32(target))
        return cv2.warpPerspective(x, matrix, (_S, _S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    return _apply(faces, severity, seed, warp)


def dark_and_angle(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    return low_light(rotation(faces, severity, seed), severity, seed)


def glasses_and_angle(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Glasses first (they sit on the face), then the whole head tilts."""
    return rotation(glasses(faces, severity, seed), severity, seed)


def side_light(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Light from the left or the right (seeded): a smooth ramp across the face, the far side 30% ... 90% darker."""
    depth = _level(SHADOW_DEPTH, severity)
    ramp = 1 / (1 + np.exp(-(np.arange(_S) - _S / 2) / 4.0))  # 0 -> 1 across the face, steepest at its middle

    def shade(x, rng):
        light = 1 - depth * (ramp if rng.random() < 0.5 else ramp[::-1])
        return x * light[None, :]

    return _apply(faces, severity, seed, shade)


def dim_camera(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """Linear exposure x0.5 ... x0.08 (no gamma) and photon noise: a full-scale pixel collects 1,000 photons."""
    exposure = _level((1.0, 0.5, 0.3, 0.2, 0.12, 0.08), severity)

    def expose(x, rng):
        return rng.poisson(x * exposure * FULL_WELL) / FULL_WELL

    return _apply(faces, severity, seed, expose)


def visor(faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """One dark band from temple to temple over FER2013's measured eyes, 30% ... 90% dark, 1-px soft edges."""
    tint = _level(SHADOW_DEPTH, severity)
    rows = np.arange(_S)[:, None]
    eye_row = (FER_EYES.left[1] + FER_EYES.right[1]) / 2
    left, right = FER_EYES.left[0] - FER_EYES.size, FER_EYES.right[0] + FER_EYES.size
    columns = np.arange(_S)[None, :]
    band = (np.clip(FER_EYES.size * 0.6 + 0.5 - np.abs(rows - eye_row), 0, 1)
            * np.clip(np.minimum(columns - left, right - columns) + 0.5, 0, 1))

    def wear(x, rng):
        shift = int(rng.integers(-1, 2))  # up to a pixel up or down
        return x * (1 - tint * np.roll(band, shift, axis=0))

    return _apply(faces, severity, seed, wear)


CONDITIONS = {
    "low_light": low_light, "glasses": glasses, "occluder": occluder, "rotation": rotation,
    "camera_above": camera_above, "camera_beside": camera_beside,
    "dark+angle": dark_and_angle, "glasses+angle": glasses_and_angle,
}
HELD_OUT = {"side_light": side_light, "dim_camera": dim_camera, "visor": visor}


def apply(name: str, faces: np.ndarray, severity: int, seed: int = 0) -> np.ndarray:
    """CONDITIONS[name] or HELD_OUT[name] at `severity` (0-5)."""
    transforms = CONDITIONS | HELD_OUT
    if name not in transforms:
        raise ValueError(f"unknown condition {name!r}; choose from {', '.join(transforms)}")
    return transforms[name](faces, severity, seed)


def random_conditions(faces: np.ndarray, share: float, seed, weights: dict | None = None) -> np.ndarray:
    """Training augmentation: each face, with probability `share`, under a random condition at a random severity 1-5.

    `weights`: the relative chance of each condition (those left out: 1; default: all equal). `seed` is anything
    np.random.default_rng takes (e.g. [run seed, *batch indices]); the same seed, the same faces.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"random_conditions: share must lie in [0, 1], got {share}")
    weights = dict(weights or {})
    unknown = set(weights) - set(CONDITIONS)
    if unknown:
        raise ValueError(f"random_conditions: unknown condition(s) {sorted(unknown)} in weights; "
                         f"choose from {', '.join(CONDITIONS)}")
    chance = np.array([float(weights.get(name, 1.0)) for name in CONDITIONS])
    if (chance < 0).any() or not chance.sum() > 0:
        raise ValueError(f"random_conditions: weights must be non-negative and not all zero, got {weights}")
    rng = np.random.default_rng(seed)
    faces = np.asarray(faces)
    chosen = rng.random(len(faces)) < share
    names = rng.choice(len(CONDITIONS), size=len(faces), p=chance / chance.sum())
    severities = rng.integers(SEVERITIES[0], SEVERITIES[-1] + 1, size=len(faces))
    out = faces.copy()
    for name in np.unique(names[chosen]):
        for severity in np.unique(severities[chosen & (names == name)]):
            which = chosen & (names == name) & (severities == severity)
            out[which] = apply(list(CONDITIONS)[name], faces[which], int(severity), int(rng.integers(2**31)))
    return out


def _level(table: tuple, severity: int):
    if severity not in range(len(table)):
        raise ValueError(f"conditions: severity must be 0-5, got {severity}")
    return table[severity]


def _apply(faces: np.ndarray, severity: int, seed: int, transform) -> np.ndarray:
    """Run `transform(face in [0, 1] float64, rng)` on each face; keep dtype and range; severity 0 is a copy."""
    faces = np.asarray(faces)
    if faces.ndim != 3 or faces.shape[1:] != (_S, _S):
        raise ValueError(f"conditions: expected faces shaped (N, {_S}, {_S}), got {faces.shape}")
    _level((0, *SEVERITIES), severity)
    if severity == 0:
        return faces.copy()
    scale = 255.0 if faces.dtype == np.uint8 else 1.0
    out = np.empty(faces.shape, np.float64)
    for i, face in enumerate(faces):
        rng = np.random.default_rng([seed, severity, i])
        out[i] = transform(face.astype(np.float64) / scale, rng)
    out = np.clip(out, 0.0, 1.0) * scale
    return np.round(out).astype(np.uint8) if faces.dtype == np.uint8 else out.astype(faces.dtype)


def _glasses_masks(rng, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Lens and frame masks in [0, 1] (48x48), drawn at 4x and averaged down; the glasses shift up to 1 px."""
    import cv2

    up = 4
    shift = rng.uniform(-1.0, 1.0, 2)
    lenses, frames = np.zeros((_S * up, _S * up), np.uint8), np.zeros((_S * up, _S * up), np.uint8)
    radius = (int(FER_EYES.size * 0.75 * up), int(FER_EYES.size * 0.55 * up))
    centres = [tuple(int(round((v + d) * up)) for v, d in zip(eye, shift)) for eye in (FER_EYES.left, FER_EYES.right)]
    for centre in centres:
        cv2.ellipse(lenses, centre, radius, 0, 0, 360, 255, -1, cv2.LINE_AA)
        if frame:
            cv2.ellipse(frames, centre, radius, 0, 0, 360, 255, frame * up, cv2.LINE_AA)
    if frame:
        bridge_y = int(round((FER_EYES.left[1] + shift[1] - 1) * up))
        cv2.line(frames, (centres[0][0] + radius[0], bridge_y), (centres[1][0] - radius[0], bridge_y), 255, frame * up)
        for (cx, cy), direction in zip(centres, (-1, 1)):  # temples towards the ears
            cv2.line(frames, (cx + direction * radius[0], cy), (cx + direction * (radius[0] + 3 * up), cy - up), 255, frame * up)
    shrink = lambda mask: cv2.resize(mask, (_S, _S), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0  # noqa: E731
    return shrink(lenses), shrink(frames)
