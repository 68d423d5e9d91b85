"""On the real FER2013 (skipped when it is absent; CI points FER2013_PATH at it)."""
import numpy as np
import pytest

from fer_lib import EMOTIONS, load_fer2013
from fer_lib.loading import CACHE_VARIABLE

# ../shared/data/README.md
EXPECTED_COUNTS = {
    "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "PublicTest": [467, 56, 496, 895, 653, 415, 607],
    "PrivateTest": [491, 55, 528, 879, 594, 416, 626],
}

pytestmark = pytest.mark.fer2013


@pytest.fixture(scope="module")
def fer2013(fer2013_path, test_cache):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_VARIABLE, str(test_cache))
        return load_fer2013(fer2013_path, progress=False)


def test_split_and_class_counts(fer2013):
    counts = fer2013.class_counts()
    assert counts.columns.tolist() == list(EMOTIONS)
    for usage, expected in EXPECTED_COUNTS.items():
        assert counts.loc[usage].tolist() == expected
    splits = fer2013.split()
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (28709, 3589, 3589)
    assert not fer2013.is_demo and fer2013.skipped == ()
    assert fer2013.pixels.dtype == np.uint8 and 60 < fer2013.pixels.mean() < 200


def test_short_training_beats_chance(fer2013, tmp_path):
    pytest.importorskip("tensorflow")
    from fer_lib.evaluation import evaluate
    from fer_lib.paper_cnn import build_paper_cnn
    from fer_lib.training import TrainConfig, set_seed, train

    splits = fer2013.split()
    set_seed(0)
    model = build_paper_cnn()
    train(model, splits.train.head(10000), splits.validation.head(1000), tmp_path / "run",
          TrainConfig(epochs=5), verbose=0)
    result = evaluate(model, splits.test)
    majority = np.bincount(splits.test.y).max() / len(splits.test)  # always "happy": 24.9%
    assert result.accuracy > majority + 0.05, result.per_class
