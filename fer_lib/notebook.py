"""What every notebook of the series does first, the same locally, under papermill and in Google Colab:
`RUN_DIR = notebook.setup(RUN_DIR)` says what it runs on and resolves its run folder; `dataset = notebook.load(DATA)`
finds FER2013 (in Colab: Google Drive, the Kaggle CLI or an upload), loads it and says what it is.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import loading
from .dataset import FERDataset
from .loading import DEMO

REPOSITORY = "https://github.com/fer-lib/fer_lib"  # the Colab setup cell and the README's badges point here
COLAB_DRIVE = Path("/content/drive")
COLAB_DATA = Path("/content/data")
KAGGLE_DATASET = "deadskull7/fer2013"  # one fer2013.csv in the Kaggle layout
KAGGLE_CREDENTIALS = Path("~/.kaggle/kaggle.json")


def setup(run_dir: str | os.PathLike) -> Path:
    """A notebook's first call: prints the environment (versions, CPU or GPU, Colab or local) and returns its run
    folder, relative paths taken from the project folder (project_path)."""
    print(environment())
    return project_path(run_dir)


def load(data: str | None) -> FERDataset:
    """The dataset the DATA parameter names (locate_data: None finds FER2013, else the demo), loaded; prints where it
    came from, loudly when it is the demo dataset."""
    dataset = loading.load_fer2013(locate_data(data))
    print(describe(dataset))
    return dataset


def in_colab() -> bool:
    """Whether this runs inside Google Colab."""
    return "google.colab" in sys.modules


def project_path(path: str | os.PathLike) -> Path:
    """`path` as given when absolute, else relative to the project folder (wherever the notebook runs from)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else loading.PROJECT_ROOT / path


def locate_data(data: str | None) -> str | None:
    """The DATA parameter, resolved: unchanged outside Colab (load_fer2013 searches FER2013_PATH and data/).

    In Colab, when DATA is None: FER2013 on Google Drive (MyDrive/fer2013.csv, .csv.gz or fer2013/), else a
    download with the Kaggle CLI when Kaggle credentials exist; else None (the demo) with a note on how to
    upload the file (upload_fer2013()).
    """
    if data is not None or not in_colab():
        return data
    from google.colab import drive

    if not (COLAB_DRIVE / "MyDrive").is_dir():
        try:
            drive.mount(str(COLAB_DRIVE))
        except Exception as error:  # the user may decline the Drive permission prompt
            print(f"Google Drive not mounted ({error}); looking elsewhere")
    for name in loading.DATA_NAMES:
        if (COLAB_DRIVE / "MyDrive" / name).exists():
            return str(COLAB_DRIVE / "MyDrive" / name)
    if _kaggle_ready():
        COLAB_DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(["kaggle", "datasets", "download", "-d", KAGGLE_DATASET, "-p", str(COLAB_DATA), "--unzip"],
                       check=True)
        return str(COLAB_DATA / "fer2013.csv")
    print("FER2013 not found: put fer2013.csv in your Google Drive (MyDrive/), add Kaggle credentials, or run "
          "`DATA = notebook.upload_fer2013()`; until then the notebooks use the demo dataset.")
    return None


def _kaggle_ready() -> bool:
    has_credentials = KAGGLE_CREDENTIALS.expanduser().is_file() or {"KAGGLE_USERNAME", "KAGGLE_KEY"} <= set(os.environ)
    return has_credentials and shutil.which("kaggle") is not None


def upload_fer2013() -> str:
    """Colab only: upload fer2013.csv (or .csv.gz) from this computer; returns its path for DATA."""
    from google.colab import files

    uploaded = files.upload()
    if not uploaded:
        raise FileNotFoundError("no file uploaded")
    name = next(iter(uploaded))
    COLAB_DATA.mkdir(parents=True, exist_ok=True)
    target = COLAB_DATA / name
    target.write_bytes(uploaded[name])
    return str(target)


def environment() -> str:
    """One line: library versions and the device TensorFlow computes on (a GPU is used when one is attached)."""
    import keras
    import tensorflow as tf

    from . import __version__

    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU: {', '.join(g.name for g in gpus)}" if gpus else f"CPU only ({os.cpu_count()} cores)"
    where = "Colab" if in_colab() else "local"
    return f"fer_lib {__version__}, TensorFlow {tf.__version__}, Keras {keras.__version__}; {device}; {where}"


def describe(dataset: FERDataset) -> str:
    """Where the data came from, loudly when it is the demo dataset."""
    if dataset.is_demo:
        return ("*** DEMO DATASET, NOT FER2013: synthetic cartoon faces; the numbers below show that the code works, "
                f"not how well it reads real faces. Set DATA (or FER2013_PATH) to FER2013 for the real thing "
                f"(DATA = {DEMO!r} asks for the demo on purpose). ***")
    return f"FER2013 from {dataset.source}: {len(dataset)} rows"
