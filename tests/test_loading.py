import os
import stat

import numpy as np
import pytest

from fer_lib import csv_reader, loading
from fer_lib.dataset import DataError
from fer_lib.loading import DEMO_NOTICE, cache_dir, find_fer2013, load_demo, load_fer2013

from .conftest import csv_text, random_rows
from .test_folder_reader import save


@pytest.fixture
def project_data():
    """The (temporary) project's data/ folder."""
    data = loading.PROJECT_ROOT / "data"
    data.mkdir()
    return data


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder for this test alone, so its entries can be counted."""
    monkeypatch.setenv(loading.CACHE_VARIABLE, str(tmp_path / "cache"))


def test_resolution_order(tmp_path, project_data, monkeypatch):
    assert find_fer2013() is None
    save(project_data / "fer2013/train/happy/1.png", np.zeros((48, 48)))
    assert find_fer2013() == project_data / "fer2013"
    (project_data / "fer2013.csv.gz").write_bytes(b"")
    assert find_fer2013() == project_data / "fer2013.csv.gz"
    (project_data / "fer2013.csv").write_text("")
    assert find_fer2013() == project_data / "fer2013.csv"
    from_env = tmp_path / "env.csv"
    from_env.write_text("")
    monkeypatch.setenv("FER2013_PATH", str(from_env))
    assert find_fer2013() == from_env
    explicit = tmp_path / "given.csv"
    explicit.write_text("")
    assert find_fer2013(explicit) == explicit


def test_missing_paths_are_errors_not_demo(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"missing\.csv: no such file or folder \(from argument\)"):
        load_fer2013(tmp_path / "missing.csv")
    monkeypatch.setenv("FER2013_PATH", str(tmp_path / "gone.csv"))
    with pytest.raises(DataError, match=r"gone\.csv: no such file or folder \(from FER2013_PATH\)"):
        load_fer2013()


def test_demo_fallback_says_so(capsys):
    data = load_fer2013(progress=False)
    assert data.is_demo and len(data) > 0
    err = capsys.readouterr().err
    assert DEMO_NOTICE in err and err.count("\n") == 1


def test_load_demo_ignores_fer2013(tmp_path, monkeypatch):
    monkeypatch.setenv("FER2013_PATH", str(tmp_path))
    data = load_demo(progress=False)
    assert data.is_demo and data.source.endswith("seed0.csv")


def test_demo_by_name_ignores_fer2013(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FER2013_PATH", str(tmp_path))
    data = load_fer2013("demo", progress=False)
    assert data.is_demo and DEMO_NOTICE not in capsys.readouterr().err


def test_cache_is_used_until_the_file_changes(tmp_path, monkeypatch, own_cache):
    source = tmp_path / "fer.csv"
    source.write_text(csv_text(random_rows(4)))
    first = load_fer2013(source, progress=False)
    calls = []
    monkeypatch.setattr(loading, "read_fer_csv", lambda *a, **k: calls.append(1) or csv_reader.read_fer_csv(*a, **k))
    again = load_fer2013(source, progress=False)
    assert calls == []
    np.testing.assert_array_equal(first.pixels, again.pixels)
    np.testing.assert_array_equal(first.usage, again.usage)
    assert again.source == str(source)

    rows = random_rows(5, seed=1)
    source.write_text(csv_text(rows))
    os.utime(source, ns=(1, 1))  # a different mtime even on coarse clocks
    changed = load_fer2013(source, progress=False)
    assert calls == [1] and len(changed) == 5
    assert len(list((cache_dir() / "parsed").iterdir())) == 1  # the stale entry is gone


def test_cache_never_writes_beside_a_read_only_source(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    (folder / "fer.csv").write_text(csv_text(random_rows(3)))
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        load_fer2013(folder / "fer.csv", progress=False)
        assert sorted(p.name for p in folder.iterdir()) == ["fer.csv"]
    finally:
        folder.chmod(stat.S_IRWXU)
    assert not str(cache_dir()).startswith(str(folder))


def test_damaged_cache_entry_is_rebuilt(tmp_path, own_cache):
    source = tmp_path / "fer.csv"
    source.write_text(csv_text(random_rows(3)))
    load_fer2013(source, progress=False)
    (entry,) = (cache_dir() / "parsed").iterdir()
    (entry / "pixels.npy").write_bytes(b"garbage")
    assert len(load_fer2013(source, progress=False)) == 3


def test_non_strict_load_is_cached_apart(tmp_path, capsys):
    rows = random_rows(3)
    rows[1] = (8, rows[1][1], "Training")
    source = tmp_path / "fer.csv"
    source.write_text(csv_text(rows))
    with pytest.raises(DataError, match="line 3"):
        load_fer2013(source, progress=False)
    loose = load_fer2013(source, strict=False, progress=False)
    assert len(loose) == 2 and loose.skipped == (("line 3", "emotion 8 is outside 0-6 (angry, disgust, fear, happy, sad, surprise, neutral)"),)
    assert load_fer2013(source, strict=False, progress=False).skipped == loose.skipped
    err = capsys.readouterr().err
    assert err.count("fer_lib: skipped 1 bad row(s) of") == 2 and "line 3: emotion 8 is outside" in err
