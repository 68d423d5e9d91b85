"""FER+ as a second label set: the vote majority, the checks that the votes belong to the dataset's rows, and the
commands that report both label sets."""
import json

import numpy as np
import pytest

from fer_lib import DataError, load_fer2013
from fer_lib.cli import main
from fer_lib.dataset import EMOTIONS, USAGES
from fer_lib.evaluation import evaluate_all, labelled, labels, score_split
from fer_lib.dataset import Subset
from fer_lib.ferplus import COLUMNS, majority_labels, read_votes, teaches, vote_distribution
from fer_lib.training import target_matrix, with_targets

from .conftest import csv_text

HEADER = "Usage,Image name," + ",".join(COLUMNS)


def votes_for(emotion: str) -> list[int]:
    """Ten votes whose majority is `emotion` (a FER2013 name, or a FER+ column such as contempt)."""
    column = {"happy": "happiness", "sad": "sadness", "angry": "anger"}.get(emotion, emotion)
    row = [0] * len(COLUMNS)
    row[COLUMNS.index(column)] = 7
    row[COLUMNS.index("neutral" if column != "neutral" else "surprise")] += 3
    return row


def write_pair(folder, n=42, agree=True, name="fer2013new.csv"):
    """A FER2013 CSV of `n` rows and its FER+ file beside it; the votes' majority is each row's label where `agree`,
    else the label of the row after it."""
    rng = np.random.default_rng(0)
    rows = [(i % 7, np.clip(rng.normal(110, 30, 2304), 0, 255).astype(int), USAGES[i % 3]) for i in range(n)]
    (folder / "fer2013.csv").write_text(csv_text(rows))
    lines = [HEADER]
    for i, (label, _, usage) in enumerate(rows):
        shown = label if agree else rows[(i + 1) % n][0]
        lines.append(f"{usage},fer{i:07d}.png," + ",".join(map(str, votes_for(EMOTIONS[shown]))))
    (folder / name).write_text("\n".join(lines) + "\n")
    return folder / "fer2013.csv", folder / name


def test_the_majority_is_the_one_emotion_with_most_votes():
    votes = np.array([votes_for("happy"), votes_for("contempt"), votes_for("unknown"), votes_for("NF"),
                      [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], [0] * 10, votes_for("fear")])
    assert majority_labels(votes).tolist() == [EMOTIONS.index("happy"), -1, -1, -1, -1, -1, EMOTIONS.index("fear")]


def test_labelled_keeps_the_faces_with_a_majority_among_the_seven():
    votes = np.array([votes_for("happy"), votes_for("contempt"), votes_for("NF"), votes_for("fear")])
    x = np.stack([np.full((48, 48), i, np.uint8) for i in range(4)])
    subset = Subset(x, np.array([0, 1, 2, 3]), votes)
    assert labelled(subset, "fer2013") is subset
    kept = labelled(subset, "ferplus")
    assert kept.y.tolist() == [EMOTIONS.index("happy"), EMOTIONS.index("fear")]
    assert kept.x[:, 0, 0].tolist() == [0, 3] and kept.votes.tolist() == votes[[0, 3]].tolist()
    with pytest.raises(ValueError, match="no FER\\+ votes"):
        labelled(Subset(x, subset.y), "ferplus")


def test_votes_beside_the_data_are_attached_and_score_the_majority(tmp_path):
    data, _ = write_pair(tmp_path)
    dataset = load_fer2013(data, progress=False)
    assert dataset.votes.shape == (42, len(COLUMNS))
    test = dataset.split().test
    assert labels(test, "ferplus").tolist() == test.y.tolist()
    assert test.head(3).votes.shape == (3, len(COLUMNS))
    assert score_split(test, test.y, "ferplus").accuracy == 1.0
    with pytest.raises(ValueError, match="no FER\\+ votes"):
        labels(load_fer2013(data, progress=False, ferplus=False).split().test, "ferplus")


@pytest.mark.parametrize("change, message", [
    (lambda lines: lines[:-1], "41 rows, the dataset 42"),
    (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]], "line 2 is PublicTest, the dataset's row 1 Training"),
    (lambda lines: [lines[0]] + [line.replace(",7,", ",x,") for line in lines[1:]], "must hold counts"),
    (lambda lines: ["a,b", *lines[1:]], "no column Usage"),
])
def test_votes_that_do_not_line_up_are_refused_naming_the_file(tmp_path, change, message):
    data, votes = write_pair(tmp_path)
    votes.write_text("\n".join(change(votes.read_text().splitlines())) + "\n")
    with pytest.raises(DataError, match=message) as error:
        load_fer2013(data, progress=False, ferplus=votes)
    assert str(votes) in str(error.value)


def test_a_model_taught_the_votes_is_scored_against_them_and_evaluate_says_so(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from fer_lib.pretrained import DEFAULT, model_card
    from fer_lib.shipping import scored_against, shipped_targets, taught

    data, _ = write_pair(tmp_path, n=21)
    test = load_fer2013(data, progress=False).split().test
    assert taught(model_card("ferplus_cnn")) == "ferplus" and taught(model_card("robust_cnn")) == "fer2013"
    assert scored_against("ferplus_cnn", test) == "ferplus" and scored_against("robust_cnn", test) == "fer2013"
    assert scored_against(None, test) == scored_against(DEFAULT, test)
    assert scored_against("ferplus_cnn", Subset(test.x, test.y)) == "fer2013"  # no votes to score against
    assert scored_against("runs/x/best.keras", test) == "fer2013" and shipped_targets("runs/x/best.keras") is None
    assert main(["evaluate", "--data", str(data), "--model", "ferplus_cnn"]) == 0
    assert "note: ferplus_cnn learned FER+'s votes, not FER2013's labels: --labels ferplus" in capsys.readouterr().out
    assert main(["evaluate", "--data", str(data), "--model", "ferplus_cnn", "--labels", "ferplus"]) == 0
    assert "note:" not in capsys.readouterr().out
    assert main(["evaluate", "--data", str(data), "--model", "robust_cnn"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_votes_of_other_faces_are_refused_and_left_out_when_only_found(tmp_path, capsys):
    data, votes = write_pair(tmp_path, agree=False)  # same Usage row by row, each row another face's votes
    with pytest.raises(DataError, match="agree with the vote majority on 0% of the rows"):
        read_votes(votes, load_fer2013(data, progress=False, ferplus=False).labels,
                   load_fer2013(data, progress=False, ferplus=False).usage)
    assert load_fer2013(data, progress=False).votes is None
    assert "FER+ labels not used" in capsys.readouterr().err


def test_evaluate_reports_either_label_set(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from fer_lib.paper_cnn import build_paper_cnn

    data, _ = write_pair(tmp_path, n=63)
    model = tmp_path / "m.keras"
    build_paper_cnn().save(model)
    results = evaluate_all(build_paper_cnn(), load_fer2013(data, progress=False).split().test)
    assert set(results) == {"fer2013", "ferplus"}
    for label_set in ("fer2013", "ferplus"):
        out = tmp_path / f"{label_set}.json"
        assert main(["evaluate", "--data", str(data), "--model", str(model), "--labels", label_set,
                     "--output", str(out)]) == 0
        assert json.loads(out.read_text())["labels"] == label_set
    assert "against the FER+ vote majority" in capsys.readouterr().out
    assert main(["evaluate", "--data", str(data), "--model", str(model), "--labels", "ferplus", "--ferplus", "x.csv"]) == 2
    assert "x.csv: no such FER+ file (from argument)" in capsys.readouterr().err


def test_info_says_when_faces_look_equalized(tmp_path, capsys):
    cv2 = pytest.importorskip("cv2")
    data, _ = write_pair(tmp_path)
    assert main(["info", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "FER+ votes attached" in out and "look histogram-equalized" not in out
    rng = np.random.default_rng(1)
    faces = [np.clip(rng.normal(90, 20, (48, 48)), 0, 255).astype(np.uint8) for _ in range(30)]
    rows = [(i % 7, cv2.equalizeHist(face), USAGES[i % 3]) for i, face in enumerate(faces)]
    (tmp_path / "eq").mkdir()
    (tmp_path / "eq/fer2013.csv").write_text(csv_text(rows))
    assert main(["info", "--data", str(tmp_path / "eq/fer2013.csv")]) == 0
    out = capsys.readouterr().out
    assert "look histogram-equalized" in out and "no FER+ votes" in out


def test_vote_targets_teach_the_distribution_and_leave_out_what_is_not_a_face():
    votes = np.array([votes_for("happy"), votes_for("contempt"), votes_for("NF"), [0] * 10])
    shares = vote_distribution(votes)
    assert shares[0, EMOTIONS.index("happy")] == pytest.approx(0.7) and shares[0].sum() == pytest.approx(1)
    assert shares[1].tolist() == [0, 0, 0, 0, 0, 0, 1] and shares[3].sum() == 0  # contempt's 7 votes are left out
    assert teaches(votes).tolist() == [True, True, False, False]
    subset = Subset(np.zeros((4, 48, 48), np.uint8), np.array([3, 0, 1, 2]), votes)
    kept = with_targets(subset, "mix")
    assert len(kept) == 2 and with_targets(subset, "fer2013") is subset
    mixed = target_matrix(kept, "mix")
    assert mixed[0, 3] == pytest.approx(0.85) and mixed.sum(axis=1) == pytest.approx([1, 1])
    with pytest.raises(ValueError, match="2 face\\(s\\) \\(first: row 2\\)"):
        target_matrix(subset, "ferplus")
    with pytest.raises(DataError, match="need FER\\+'s votes"):
        with_targets(Subset(subset.x, subset.y), "ferplus")


def test_train_with_vote_targets_records_them(tmp_path, capsys):
    data, _ = write_pair(tmp_path, n=63)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--run-dir", str(run), "--epochs", "1", "--targets", "mix"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["targets"] == "mix" and "ferplus" in metrics["final"]
    assert main(["train", "--data", str(data), "--ferplus", "no-such.csv", "--run-dir", str(tmp_path / "r2"),
                 "--targets", "ferplus"]) == 2
    assert "no such FER+ file" in capsys.readouterr().err
