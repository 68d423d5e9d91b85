"""Images at the ground floor: any array as 8-bit grayscale, and the errors that say why an image cannot be used."""
from __future__ import annotations

import numpy as np


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
