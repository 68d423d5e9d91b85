"""Reader for FER2013 as image folders: `train/` and `test/` (optionally `validation/`), one subfolder per emotion.

The Usage of each image:
1. a file name starting `Training_`, `PublicTest_` or `PrivateTest_` keeps that split (the common
   download names its files this way, with PublicTest and PrivateTest mixed in `test/`);
2. otherwise the folder decides: `train/` -> Training, `validation/` (or `val/`) -> PrivateTest,
   `test/` -> PublicTest.
Images that are not 48x48 grayscale are converted to grayscale and resized to 48x48.
Hidden files (a leading dot, such as .DS_Store) are ignored; any other file must be an image.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, IMAGE_SIZE, USAGES, DataError, FERDataset
from .progress import progress_bar

SPLIT_FOLDERS = {"train": "Training", "validation": "PrivateTest", "val": "PrivateTest", "test": "PublicTest"}
EMOTION_FOLDERS = {name: i for i, name in enumerate(EMOTIONS)} | {
    "anger": 0, "disgusted": 1, "fearful": 2, "happiness": 3, "sadness": 4, "surprised": 5,
}


def is_image_folder(path: Path) -> bool:
    """True when `path` is a folder with at least one of the split subfolders."""
    return path.is_dir() and any((path / name).is_dir() for name in SPLIT_FOLDERS)


def list_images(root: str | os.PathLike) -> list[tuple[Path, int, int]]:
    """(file, label, usage code) for every image under `root`, in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    if not is_image_folder(root):
        raise DataError(f"{root}: expected subfolders {', '.join(SPLIT_FOLDERS)} (FER2013 image-folder layout)")
    items = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower() in SPLIT_FOLDERS):
        folder_usage = SPLIT_FOLDERS[split_dir.name.lower()]
        for emotion_dir in sorted(p for p in split_dir.iterdir() if not p.name.startswith(".")):
            label = EMOTION_FOLDERS.get(emotion_dir.name.lower())
            if label is None or not emotion_dir.is_dir():
                raise DataError(f"{emotion_dir}: not an emotion folder (expected one of {', '.join(EMOTIONS)})")
            for file in sorted(emotion_dir.iterdir()):
                if file.name.startswith("."):
                    continue
                prefix = file.name.split("_", 1)[0]
                usage = prefix if prefix in USAGES else folder_usage
                items.append((file, label, USAGES.index(usage)))
    if not items:
        raise DataError(f"{root}: no images found")
    return items


def read_image_folder(root: str | os.PathLike, *, strict: bool = True, progress: bool = True) -> FERDataset:
    """Read every image under `root`. strict=False skips unreadable files and lists them in `skipped`."""
    from PIL import Image, UnidentifiedImageError

    items = list_images(root)
    pixels = np.empty((len(items), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    keep = np.ones(len(items), bool)
    skipped = []
    bar = progress_bar(total=len(items), desc=f"read {Path(root).name}/", unit="img", enable=progress)
    for i, (file, _, _) in enumerate(items):
        try:
            with Image.open(file) as image:
                image = image.convert("L")
                if image.size != (IMAGE_SIZE, IMAGE_SIZE):
                    image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
                pixels[i] = np.asarray(image)
        except (UnidentifiedImageError, OSError, ValueError) as error:
            reason = f"not a readable image ({type(error).__name__}: {error})"
            if strict:
                raise DataError(f"{file}: {reason}") from error
            keep[i] = False
            skipped.append((str(file), reason))
        bar.update(1)
    bar.close()
    return FERDataset(
        pixels=pixels[keep],
        labels=np.array([label for _, label, _ in items], np.int8)[keep],
        usage=np.array([usage for _, _, usage in items], np.uint8)[keep],
        source=str(root),
        skipped=tuple(skipped),
    )


def folder_fingerprint(root: str | os.PathLike) -> tuple[int, int, int]:
    """(file count, total bytes, newest mtime in ns) of the images under `root`, for the cache key."""
    stats = [file.stat() for file, _, _ in list_images(root)]
    return len(stats), sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)
