import numpy as np

from fer_lib.dataset import EMOTIONS, USAGES
from fer_lib.demo import DEMO_COUNTS, EXPRESSIONS, make_demo_rows, render_face, write_demo_csv


def test_deterministic_under_a_seed(tmp_path):
    a = write_demo_csv(tmp_path / "a.csv", seed=3).read_bytes()
    b = write_demo_csv(tmp_path / "b.csv", seed=3).read_bytes()
    c = write_demo_csv(tmp_path / "c.csv", seed=4).read_bytes()
    assert a == b and a != c
    assert a.startswith(b"emotion,pixels,Usage\n")


def test_counts_and_shapes():
    labels, usage, faces = make_demo_rows(0)
    assert faces.shape == (len(labels), 48, 48) and faces.dtype == np.uint8
    for code, name in enumerate(USAGES):
        assert np.bincount(labels[usage == code], minlength=7).tolist() == list(DEMO_COUNTS[name])


def test_faces_vary_but_expressions_differ():
    rng = np.random.default_rng(0)
    happy = [render_face(EXPRESSIONS["happy"], rng).astype(float) for _ in range(2)]
    assert np.abs(happy[0] - happy[1]).mean() > 5  # position, light and noise change every face
    assert set(EXPRESSIONS) == set(EMOTIONS)
    assert len({tuple(vars(e).values()) for e in EXPRESSIONS.values()}) == 7
