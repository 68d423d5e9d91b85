import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fer_lib.paper_cnn import PAPER_CNN_PARAMETERS, build_paper_cnn, layer_table  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return build_paper_cnn()


def test_layers_follow_the_paper(model):
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D"] * 3 + ["Flatten", "Dense", "Dense"]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    dense, head = model.layers[-2:]
    assert dense.units == 132 and dense.activation.__name__ == "relu"
    assert head.units == 7 and head.activation.__name__ == "softmax"
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)


def test_parameter_count(model):
    assert model.count_params() == PAPER_CNN_PARAMETERS == 702_887


def test_compiled_with_the_papers_configuration(model):
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.loss == "categorical_crossentropy"
    assert build_paper_cnn(learning_rate=5e-4).optimizer.learning_rate.numpy() == pytest.approx(5e-4)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_outputs_are_float32_probabilities_in_every_precision(precision):
    """The softmax computes in float32 even when the layers before it compute in bfloat16 (whose rounding would
    leave the rows summing to 1 only within about 1%)."""
    model = build_paper_cnn(precision=precision)
    probabilities = model(np.random.default_rng(0).random((3, 48, 48, 1), np.float32), training=False)
    assert probabilities.dtype == "float32"
    np.testing.assert_allclose(np.asarray(probabilities).sum(axis=1), 1.0, rtol=1e-6)


def test_layer_table(model):
    table = layer_table(model)
    assert table.index.tolist()[:4] == ["conv1", "batchnorm1", "relu1", "maxpool1"] and len(table) == 15
    assert table.loc["conv1", "details"] == "32 filters 3x3, same" and table.loc["conv1", "output shape"] == (48, 48, 32)
    assert table.loc["maxpool3", "output shape"] == (6, 6, 128) and table.loc["dense", "details"] == "132 units, relu"
    assert table["parameters"].sum() == PAPER_CNN_PARAMETERS
