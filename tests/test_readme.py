"""The documents' numbers (README.md and the READMEs beside what they describe) are the committed runs' and
benchmarks' own, as the repo's commands print them."""
import json
import re
import sys
from pathlib import Path

import pytest

from fer_lib import robustness, shipping
from fer_lib.report import markdown_report, results_table

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([*ROOT.glob("*.md"), *ROOT.glob("[!.]*/README.md")])
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import markdown_table  # noqa: E402

KINDS = {"report": markdown_report, "bench": markdown_table, "robustness": robustness.markdown,
         "robustness-comparison": robustness.comparison_markdown, "model": shipping.readme_summary,
         "summary": results_table}
BLOCKS = [(document.relative_to(ROOT).as_posix(), *block) for document in DOCUMENTS
          for block in re.findall(r"<!-- ([a-z-]+): (\S+) -->\n(.*?)<!-- end \1 -->", document.read_text(), flags=re.S)]


def test_the_documents_show_the_real_run_and_the_benchmarks():
    assert {kind for _, kind, _, _ in BLOCKS} == set(KINDS)


@pytest.mark.parametrize("document, kind, source, shown", BLOCKS,
                         ids=[f"{document}:{source}" for document, _, source, _ in BLOCKS])
def test_blocks_match_their_json(document, kind, source, shown):
    """A block's source is a JSON file, or FILE#KEY/KEY for a part of one."""
    file, _, keys = source.partition("#")
    data = json.loads((ROOT / file).read_text())
    for key in filter(None, keys.split("/")):
        data = data[key]
    assert shown.strip() == KINDS[kind](data).strip(), f"{document} is stale for {source}"


def test_the_committed_run_is_the_real_fer2013():
    metrics = json.loads((ROOT / "results/paper_cnn_fer2013/metrics.json").read_text())
    assert metrics["dataset"]["is_demo"] is False
    assert metrics["dataset"]["rows"] == {"train": 28709, "validation": 3589, "test": 3589}
    assert metrics["config"] == {"epochs": 20, "batch_size": 64, "learning_rate": 0.001, "precision": "float32", "seed": 0,
                                 "model": "paper_cnn"}


@pytest.mark.fer2013
@pytest.mark.parametrize("kind", ["final", "best"])
def test_the_committed_runs_models_score_what_its_metrics_say(kind, fer2013_path):
    """The paper CNN's committed models (which notebooks 5-8 read) are the ones its metrics.json measured."""
    keras = pytest.importorskip("keras")
    from fer_lib import load_fer2013
    from fer_lib.evaluation import evaluate

    run = ROOT / "results/paper_cnn_fer2013"
    recorded = json.loads((run / "metrics.json").read_text())[kind]
    model = keras.models.load_model(run / recorded["file"], compile=False)
    measured = evaluate(model, load_fer2013(fer2013_path).split().test).accuracy
    assert measured == pytest.approx(recorded["test"]["accuracy"], abs=0.001)  # a few faces, for another CPU's kernels


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_the_readmes_python_example_prints_what_it_shows(capsys):
    """The first ```python block of the README, run as it is, prints the ```text block after it."""
    pytest.importorskip("skimage")
    readme = (ROOT / "README.md").read_text()
    code, shown = re.search(r"```python\n(.*?)```\n\n```text\n(.*?)```", readme, flags=re.S).groups()
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown
