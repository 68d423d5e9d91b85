"""FER2013 CSV loading: the naive way against fer_lib's parser and its cache, measured in one run.

    python benchmarks/bench_load.py [--data PATH]      (default: FER2013 as fer_lib finds it, else the demo CSV)

Baseline: pandas.read_csv, then np.array(row.split(), dtype=uint8) for every row. Checks that both give
the same pixels, then prints seconds and the speed-up; writes benchmarks/results/load.json.
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile

import numpy as np
import pandas as pd

from common import best_of, report

from fer_lib import csv_reader, loading


def naive(path) -> np.ndarray:
    frame = pd.read_csv(path)
    return np.array([np.array(row.split(), dtype=np.uint8) for row in frame["pixels"]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a FER2013 CSV (.csv or .csv.gz)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = loading.find_fer2013(args.data) or loading.demo_csv()
    if path.is_dir():
        sys.exit(f"{path}: bench_load measures the CSV parser; give a .csv or .csv.gz with --data")
    print(f"data: {path} ({path.stat().st_size / 1e6:.1f} MB)")

    baseline_s, expected = best_of(lambda: naive(path), 1)
    parse_s, parsed = best_of(lambda: csv_reader.read_fer_csv(path, progress=False), args.repeats)
    assert np.array_equal(parsed.pixels.reshape(len(parsed), -1), expected), "fer_lib and the baseline disagree"
    isal_module, csv_reader._gzip = csv_reader._gzip, gzip  # the same parser with the standard library's zlib
    try:
        zlib_s, _ = best_of(lambda: csv_reader.read_fer_csv(path, progress=False), args.repeats)
    finally:
        csv_reader._gzip = isal_module
    with tempfile.TemporaryDirectory() as cache:
        os.environ[loading.CACHE_VARIABLE] = cache
        first_s, _ = best_of(lambda: loading.load_fer2013(path, progress=False), 1)
        cached_s, _ = best_of(lambda: loading.load_fer2013(path, progress=False), args.repeats)

    rows = [
        {"method": "baseline: read_csv + split per row", "seconds": baseline_s, "speedup": 1.0},
        {"method": "fer_lib parse" + (" (isal)" if isal_module is not gzip else ""), "seconds": parse_s,
         "speedup": baseline_s / parse_s},
        {"method": "fer_lib parse (stdlib zlib)", "seconds": zlib_s, "speedup": baseline_s / zlib_s},
        {"method": "load_fer2013, first (parse + write cache)", "seconds": first_s, "speedup": baseline_s / first_s},
        {"method": "load_fer2013, again (cache hit)", "seconds": cached_s, "speedup": baseline_s / cached_s},
    ]
    report("load", rows, {"data": str(path), "data_rows": len(parsed), "targets": "parse >= 3x baseline; cache hit < 0.5 s"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
