import json

import numpy as np
import pandas as pd
import pytest

from fer_lib.report import save_numbers, write_run_metrics


def test_save_numbers_takes_numpy_values(tmp_path):
    path = save_numbers(tmp_path / "run", "01_data", {"n": np.int64(3), "mean": np.float32(0.5), "shape": (2, 48),
                                                      "counts": np.arange(3)})
    assert path == tmp_path / "run" / "01_data.json"
    assert json.loads(path.read_text()) == {"n": 3, "mean": 0.5, "shape": [2, 48], "counts": [0, 1, 2]}
    with pytest.raises(TypeError, match="save_numbers: set is not JSON-serializable"):
        save_numbers(tmp_path, "bad", {"x": {1}})


def test_training_time_comes_from_the_history(demo, tmp_path):
    pytest.importorskip("tensorflow")
    from fer_lib import Splits
    from fer_lib.paper_cnn import build_paper_cnn
    from fer_lib.training import TrainConfig, train

    run = tmp_path / "run"
    splits = Splits(demo.train.head(64), demo.validation.head(64), demo.test.head(64))
    config = TrainConfig(epochs=1)
    history = train(build_paper_cnn(), splits.train, splits.validation, run, config, verbose=0)
    dataset = type("Demo", (), {"source": "demo.csv", "is_demo": True})()
    metrics = write_run_metrics(run, dataset, splits, config)
    assert metrics["training_seconds"] == round(float(history["seconds"].sum()), 1) > 0

    # a run trained before history.csv had seconds keeps its recorded time, and without one it is an error
    pd.read_csv(run / "history.csv").drop(columns="seconds").to_csv(run / "history.csv", index=False)
    (run / "metrics.json").write_text(json.dumps(metrics | {"training_seconds": 3060.5}))
    assert write_run_metrics(run, dataset, splits, config)["training_seconds"] == 3060.5
    (run / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match="no seconds column"):
        write_run_metrics(run, dataset, splits, config)
