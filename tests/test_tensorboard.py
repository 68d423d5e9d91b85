import pytest

pytest.importorskip("tensorflow")

from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.tensorboard import export_graph, read_graph  # noqa: E402
from fer_lib.training import TrainConfig, train  # noqa: E402


def test_the_event_file_holds_the_op_graph(tmp_path):
    event_file = export_graph(build_paper_cnn(), tmp_path / "graph")
    assert event_file.parent == tmp_path / "graph" and event_file.name.startswith("events.out.tfevents.")
    graph = read_graph(event_file)
    ops = [node.op for node in graph.node]
    assert ops.count("Conv2D") == 3 and ops.count("MaxPool") == 3 and ops.count("MatMul") == 2
    assert ops.count("Softmax") == 1
    for layer in ("conv1", "batchnorm2", "maxpool3", "dense", "emotion"):
        assert any(f"/{layer}_" in node.name for node in graph.node), layer


def test_a_second_export_writes_a_second_file(tmp_path):
    model = build_paper_cnn()
    assert export_graph(model, tmp_path) != export_graph(model, tmp_path)


def test_files_without_a_traced_graph_are_refused(demo, tmp_path):
    train(build_paper_cnn(), demo.train.head(64), demo.validation.head(64), tmp_path / "run",
          TrainConfig(epochs=1), verbose=0)
    (keras_events,) = (tmp_path / "run" / "logs" / "train").glob("events.out.tfevents.*")
    with pytest.raises(ValueError, match="no traced graph"):
        read_graph(keras_events)
