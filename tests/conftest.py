"""Shared fixtures: every test gets its own cache folder and sees no FER2013 unless it asks for it."""
from __future__ import annotations

import os

import numpy as np
import pytest

from fer_lib import loading
from fer_lib.dataset import USAGES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Where the real FER2013 is, if anywhere (FER2013_PATH or the project's data/), read before tests hide it.
REAL_FER2013 = loading.find_fer2013()


@pytest.fixture(scope="session")
def test_cache(tmp_path_factory):
    """The test session's cache folder (shared, so the demo dataset is generated once)."""
    return tmp_path_factory.getbasetemp() / "cache"


@pytest.fixture(autouse=True)
def hermetic(test_cache, tmp_path_factory, monkeypatch):
    """The session's cache folder, no FER2013_PATH, and a project whose data/ folder is empty.

    Fixtures of module or session scope run before this one: they must not rely on it.
    """
    monkeypatch.setenv(loading.CACHE_VARIABLE, str(test_cache))
    monkeypatch.delenv(loading.PATH_VARIABLE, raising=False)
    project = tmp_path_factory.mktemp("project")
    monkeypatch.setattr(loading, "PROJECT_ROOT", project)
    monkeypatch.chdir(project)


@pytest.fixture(scope="session")
def fer2013_path():
    """The real FER2013; the test is skipped when it is absent."""
    if REAL_FER2013 is None:
        pytest.skip("FER2013 not found: set FER2013_PATH or put it in data/ (CI does)")
    return REAL_FER2013


def csv_text(rows, header="emotion,pixels,Usage"):
    """A FER2013 CSV from (label, pixels or text, usage) rows; `pixels` may be an array or a string."""
    lines = [header]
    for label, pixels, usage in rows:
        if not isinstance(pixels, str):
            pixels = " ".join(str(v) for v in np.ravel(pixels))
        lines.append(f"{label},{pixels},{usage}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def demo(test_cache):
    """The demo dataset's splits, loaded into the test session's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(loading.CACHE_VARIABLE, str(test_cache))
        data = loading.load_demo(progress=False)
    assert data.is_demo
    return data.split()


def random_rows(n, seed=0):
    """`n` valid rows with random faces, labels cycling 0-6 and every Usage present."""
    rng = np.random.default_rng(seed)
    return [(i % 7, rng.integers(0, 256, 2304), USAGES[i % 3]) for i in range(n)]
