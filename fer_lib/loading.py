"""Find FER2013, load it (CSV or image folders) through a parse cache, or fall back to the demo dataset."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import demo
from .csv_reader import read_fer_csv
from .dataset import DataError, FERDataset
from .folder_reader import folder_fingerprint, is_image_folder, read_image_folder

PATH_VARIABLE = "FER2013_PATH"
CACHE_VARIABLE = "FER_LIB_CACHE"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_NAMES = ("fer2013.csv", "fer2013.csv.gz", "fer2013")
DEMO = "demo"  # the path that asks for the demo dataset by name (--data demo, DATA = "demo")
CACHE_FORMAT = 2
DEMO_NOTICE = (
    "fer_lib: FER2013 not found (pass a path, set FER2013_PATH or see data/README.md) -> using the synthetic "
    "DEMO dataset; results are NOT FER2013's."
)


def relative_to_project(path: str | os.PathLike) -> Path:
    """`path`, resolved, relative to the project folder when it lies inside it (as run folders and parents are
    recorded), else absolute."""
    path = Path(path).resolve()
    try:
        return path.relative_to(PROJECT_ROOT.resolve())
    except ValueError:
        return path


def cache_dir() -> Path:
    """$FER_LIB_CACHE, else $XDG_CACHE_HOME/fer_lib, else ~/.cache/fer_lib (never beside the data)."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fer_lib"


def find_fer2013(path: str | os.PathLike | None = None) -> Path | None:
    """The FER2013 source to use: `path`, then $FER2013_PATH, then data/fer2013.csv[.gz], then data/fer2013/.

    `data/` is looked for in the working directory and in the project folder. None: not found.
    """
    for given, origin in ((path, "argument"), (os.environ.get(PATH_VARIABLE) or None, PATH_VARIABLE)):
        if given is not None:
            given = Path(given).expanduser()
            if not given.exists():
                raise DataError(f"{given}: no such file or folder (from {origin})")
            return given
    for data_dir in dict.fromkeys([Path.cwd() / "data", PROJECT_ROOT / "data"]):
        for name in DATA_NAMES:
            candidate = data_dir / name
            if candidate.is_file() or is_image_folder(candidate):
                return candidate
    return None


def load_fer2013(
    path: str | os.PathLike | None = None,
    *,
    strict: bool = True,
    use_cache: bool = True,
    progress: bool = True,
    demo_seed: int = 0,
    ferplus: str | os.PathLike | bool | None = None,
) -> FERDataset:
    """Load FER2013 from `path` (see find_fer2013), or the demo dataset, with a notice, when there is none.

    A CSV (Kaggle layout, plain or gzip) or an image-folder tree; parsed once, then read back from the
    cache in cache_dir() while the source is unchanged. strict=False skips bad rows (see `skipped`).
    `path="demo"` loads the demo dataset even when FER2013 is around.
    `ferplus`: FER+'s votes become the dataset's `votes` (fer_lib.ferplus): None looks for them ($FERPLUS_PATH, then
    fer2013new.csv beside the data) and says in one line why it leaves out a file that does not line up; a path
    must line up (DataError otherwise); False: none.
    """
    if path is not None and str(path) == DEMO:
        return load_demo(demo_seed, use_cache=use_cache, progress=progress)
    source = find_fer2013(path)
    if source is None:
        print(DEMO_NOTICE, file=sys.stderr, flush=True)
        return load_demo(demo_seed, use_cache=use_cache, progress=progress)
    dataset = _load(source, strict=strict, use_cache=use_cache, progress=progress)
    if dataset.skipped:
        shown = "; ".join(f"{where}: {reason}" for where, reason in dataset.skipped[:5])
        more = f" (and {len(dataset.skipped) - 5} more, listed in .skipped)" if len(dataset.skipped) > 5 else ""
        print(f"fer_lib: skipped {len(dataset.skipped)} bad row(s) of {source}: {shown}{more}", file=sys.stderr)
    if ferplus is False:
        return dataset
    return with_votes(dataset, None if ferplus in (None, True) else ferplus)


def with_votes(dataset: FERDataset, path: str | os.PathLike | None = None) -> FERDataset:
    """`dataset` with FER+'s votes from `path` (DataError where they do not line up), or from the file
    ferplus.find_votes finds (left out, with a one-line notice, where it does not line up)."""
    from . import ferplus

    votes_path = ferplus.find_votes(None if dataset.is_demo else dataset.source, path)
    if votes_path is None:
        return dataset
    try:
        votes = ferplus.read_votes(votes_path, dataset.labels, dataset.usage)
    except DataError as error:
        if path is not None:
            raise
        print(f"fer_lib: FER+ labels not used: {error}", file=sys.stderr)
        return dataset
    return dataclasses.replace(dataset, votes=votes)


def load_demo(seed: int = 0, *, use_cache: bool = True, progress: bool = True) -> FERDataset:
    """The synthetic demo dataset (see fer_lib.demo), whether or not FER2013 is around."""
    return dataclasses.replace(_load(demo_csv(seed), strict=True, use_cache=use_cache, progress=progress), is_demo=True)


def demo_csv(seed: int = 0) -> Path:
    """The demo dataset's CSV in the cache folder, generated on first use."""
    path = cache_dir() / "demo" / f"fer2013-demo-v{demo.DEMO_VERSION}-seed{seed}.csv"
    if not path.is_file():
        demo.write_demo_csv(path, seed=seed)
    return path


def _load(source: Path, *, strict: bool, use_cache: bool, progress: bool) -> FERDataset:
    if source.is_dir():
        read, fingerprint = read_image_folder, folder_fingerprint(source)
    else:
        read, stat = read_fer_csv, source.stat()
        fingerprint = (stat.st_size, stat.st_mtime_ns)
    if not use_cache:
        return read(source, strict=strict, progress=progress)
    source_id = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    version_id = hashlib.sha1(repr((CACHE_FORMAT, fingerprint, strict)).encode()).hexdigest()[:12]
    cached = cache_dir() / "parsed" / f"{source_id}-{version_id}"
    if cached.is_dir():
        try:
            return _read_cache(cached)
        except (OSError, ValueError, KeyError):
            shutil.rmtree(cached, ignore_errors=True)  # a damaged cache entry is rebuilt below
    dataset = read(source, strict=strict, progress=progress)
    _write_cache(cached, dataset)
    return dataset


def _read_cache(entry: Path) -> FERDataset:
    meta = json.loads((entry / "meta.json").read_text())
    return FERDataset(
        **{name: np.load(entry / f"{name}.npy") for name in _CACHED_ARRAYS},
        source=meta["source"],
        skipped=tuple(tuple(item) for item in meta["skipped"]),
    )


def _write_cache(entry: Path, dataset: FERDataset) -> None:
    """One folder of .npy files per source version (plain .npy reads back faster than .npz)."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    for stale in entry.parent.glob(entry.name.split("-")[0] + "-*"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=entry.name + ".", suffix=".partial", dir=entry.parent))
    for name in _CACHED_ARRAYS:
        np.save(partial / f"{name}.npy", getattr(dataset, name))
    (partial / "meta.json").write_text(json.dumps({"source": dataset.source, "skipped": dataset.skipped}))
    os.replace(partial, entry)


_CACHED_ARRAYS = ("pixels", "labels", "usage")
