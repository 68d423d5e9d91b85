"""The README's numbers are the committed runs' and benchmarks' own, as the repo's commands print them."""
import json
import re
import sys
from pathlib import Path

import pytest

from fer_lib import robustness
from fer_lib.report import markdown_report

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import markdown_table  # noqa: E402

BLOCKS = re.findall(r"<!-- (report|bench|robustness): (\S+) -->\n(.*?)\n<!-- end \1 -->", README, flags=re.S)
RENDER = {"report": markdown_report, "bench": markdown_table, "robustness": robustness.markdown}


def test_the_readme_shows_the_real_run_and_the_benchmarks():
    assert {kind for kind, _, _ in BLOCKS} == {"report", "bench", "robustness"}


@pytest.mark.parametrize("kind, source, shown", BLOCKS, ids=[source for _, source, _ in BLOCKS])
def test_blocks_match_their_json(kind, source, shown):
    data = json.loads((ROOT / source).read_text())
    assert shown.strip() == RENDER[kind](data).strip(), f"README.md is stale for {source}"


def test_the_committed_run_is_the_real_fer2013():
    metrics = json.loads((ROOT / "results/paper_cnn_fer2013/metrics.json").read_text())
    assert metrics["dataset"]["is_demo"] is False
    assert metrics["dataset"]["rows"] == {"train": 28709, "validation": 3589, "test": 3589}
    assert metrics["config"] == {"epochs": 20, "batch_size": 64, "learning_rate": 0.001, "seed": 0, "model": "paper_cnn"}
