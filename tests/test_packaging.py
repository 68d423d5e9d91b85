"""pyproject.toml declares what the library imports, each pinned in requirements.txt."""
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_declared_package_is_pinned():
    pinned = {name(line): line for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    declared = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    missing = {name(r) for r in declared} - {"fer-lib"} - set(pinned)
    assert not missing, f"declared in pyproject.toml, not pinned in requirements.txt: {missing}"
    assert all("==" in line for line in pinned.values())


def test_a_plain_install_can_predict():
    """`pip install .` alone gives detect_emotions, predict, evaluate: the model runtime, OpenCV, the figures."""
    runtime = {name(r) for r in PROJECT["dependencies"]}
    assert {"numpy", "pandas", "pillow", "tensorflow", "keras", "opencv-python-headless", "matplotlib"} <= runtime
    assert PROJECT["scripts"] == {"fer-lib": "fer_lib.cli:main"}
