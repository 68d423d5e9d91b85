import json

import numpy as np
import pytest

from fer_lib.evaluation import score


def test_score_by_hand():
    y_true = np.array([0, 0, 1, 3, 3, 3])
    y_pred = np.array([0, 3, 1, 3, 3, 0])
    result = score(y_true, y_pred)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.confusion.loc["angry", "happy"] == 1 and result.confusion.loc["happy", "angry"] == 1
    assert result.confusion.values.sum() == 6
    row = result.per_class.loc["happy"]
    assert (row["support"], row["recall"], row["precision"]) == (3, pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert result.per_class.loc["disgust", "recall"] == 1.0
    assert result.per_class.loc["fear", "support"] == 0 and result.per_class.loc["fear", "recall"] == 0.0


def test_to_dict_is_json():
    d = json.loads(json.dumps(score(np.array([0, 1, 6]), np.array([0, 2, 6])).to_dict()))
    assert d["n"] == 3 and d["per_class"]["neutral"]["recall"] == 1.0
    assert d["confusion"]["rows_true_columns_predicted"][1][2] == 1


@pytest.mark.parametrize("y_true, y_pred", [([], []), ([0, 1], [0]), ([0, 7], [0, 1]), ([[0]], [[0]])])
def test_bad_labels(y_true, y_pred):
    with pytest.raises(ValueError, match="score:"):
        score(np.array(y_true, int), np.array(y_pred, int))


def test_predict_proba_checks_its_input():
    pytest.importorskip("tensorflow")
    from fer_lib.inference import predict_proba

    with pytest.raises(ValueError, match=r"expected uint8 faces shaped \(N, 48, 48\), got float64"):
        predict_proba(None, np.zeros((2, 48, 48)))
