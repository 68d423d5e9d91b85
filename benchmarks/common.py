"""Helpers shared by the benchmark scripts: timing, the machine's description, the result table and JSON."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(fn, repeats: int) -> tuple[float, object]:
    """(fastest wall time in seconds over `repeats` calls, the last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def report(name: str, rows: list[dict], extra: dict) -> None:
    """Print `rows` as a table and write them, with `extra` and the machine, to results/<name>.json."""
    columns = list(rows[0])
    widths = [max(len(str(c)), *(len(_fmt(r[c])) for r in rows)) for c in columns]
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(_fmt(row[c]).ljust(w) for c, w in zip(columns, widths)))
    for key, value in extra.items():
        print(f"{key}: {value}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({"rows": rows, **extra, "machine": machine()}, indent=2) + "\n")
    print(f"written: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


def frames_options(parser, name: str) -> None:
    """The options of the scripts that count faces found in bench_detection's frames and faces reported in real
    face-free frames (bench_check.py, bench_enhanced.py): which faces, photograph and frames, and the result's name."""
    parser.add_argument("--data", help="FER2013 (default: as fer_lib finds it, else the demo dataset)")
    parser.add_argument("--rows", type=int, default=200, help="PublicTest faces (default: %(default)s)")
    parser.add_argument("--skip", type=int, default=0, help="start at PublicTest face SKIP (held out: 1000)")
    parser.add_argument("--background", default="rocket", help="the scikit-image photograph (held out: coffee)")
    parser.add_argument("--seed", type=int, default=0, help="face-free frames' seed (held out: 1)")
    parser.add_argument("--free-frames", type=int, default=480, help="real face-free frames (default: %(default)s)")
    parser.add_argument("--name", default=name, help="the result's file name (default: %(default)s)")


def faces_and_background(args):
    """(the dataset, its PublicTest faces that `args` (frames_options) name, the grayscale photograph)."""
    from skimage import data as photos

    from fer_lib import load_fer2013
    from fer_lib.images import to_gray

    dataset = load_fer2013(args.data, progress=False)
    return dataset, dataset.subset("PublicTest").rows(args.skip, args.rows), to_gray(getattr(photos, args.background)())


def markdown_table(result: dict) -> str:
    """A benchmark's JSON result as the Markdown table the README shows."""
    columns = list(result["rows"][0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row[c]) for c in columns) + " |" for row in result["rows"]]
    return "\n".join(lines)


def _fmt(value) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
