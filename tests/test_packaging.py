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


def fer_lib_imports() -> dict[str, set[str]]:
    """Each fer_lib module's imports of other fer_lib modules, at any depth (inside functions too), relative ones
    resolved; `from .pkg import name` counts as importing pkg.name where that is a module, else pkg."""
    import ast

    package = ROOT / "fer_lib"
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
               for path in package.rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        base = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    parts = base.split(".")
                    target = ".".join(parts[: len(parts) - node.level + 1] + ([target] if target else []))
                for alias in node.names:
                    child = f"{target}.{alias.name}"
                    edges.add(child if child in modules else target)
        graph[module] = {edge for edge in edges if edge in modules and edge != module}
    return graph


def test_fer_lib_has_no_import_cycle():
    graph = fer_lib_imports()
    assert {"fer_lib.detectors.yunet", "fer_lib.faces", "fer_lib.images"} <= set(graph)
    state, cycles = {}, []

    def visit(module, trail):
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(" -> ".join(trail[trail.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported, trail + [imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles in fer_lib: " + "; ".join(cycles)
