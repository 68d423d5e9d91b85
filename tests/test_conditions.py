import json

import numpy as np
import pytest

from fer_lib.conditions import CONDITIONS, HELD_OUT, SEVERITIES, apply, dim_camera, glasses, low_light, random_conditions, visor
from fer_lib.framing import FER_EYES, Eyes
from fer_lib.loading import PROJECT_ROOT

NAMES = list(CONDITIONS) + list(HELD_OUT)


@pytest.fixture(scope="module")
def faces(demo):
    return demo.test.x[:16]


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_keeps_shape_dtype_range(name, faces):
    for severity in SEVERITIES:
        out = apply(name, faces, severity, seed=3)
        assert out.shape == faces.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out, apply(name, faces, severity, seed=3))
    floats = faces.astype(np.float32) / 255
    out = apply(name, floats, 4, seed=3)
    assert out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    np.testing.assert_allclose(out * 255, apply(name, faces, 4, seed=3), atol=1.01)  # the same transform in both ranges


@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_is_the_identity_and_change_grows_with_severity(name, faces):
    np.testing.assert_array_equal(apply(name, faces, 0), faces)
    change = [np.abs(apply(name, faces, s).astype(float) - faces).mean() for s in (0, *SEVERITIES)]
    assert all(a < b for a, b in zip(change, change[1:])), f"{name}: {np.round(change, 2)}"


@pytest.mark.parametrize("darken", [low_light, dim_camera])
def test_low_light_darkens_monotonically(darken, faces):
    brightness = [darken(faces, s).mean() for s in (0, *SEVERITIES)]
    assert all(a > b for a, b in zip(brightness, brightness[1:]))
    assert brightness[3] < 0.35 * brightness[0]


@pytest.mark.parametrize("eyewear", [glasses, visor])
def test_eyewear_sits_on_the_measured_eyes(eyewear, faces):
    dark = eyewear(faces, 5).astype(float) - faces
    eye_x, eye_y = (int(round(v)) for v in FER_EYES.left)
    eyes = dark[:, eye_y - 2 : eye_y + 3, eye_x - 2 : eye_x + 3].mean()
    mouth = dark[:, 36:42, 18:30].mean()
    assert eyes < -40 and mouth == 0


def test_held_out_conditions_are_never_trained_on(faces):
    assert not set(HELD_OUT) & set(CONDITIONS)
    with pytest.raises(ValueError, match="unknown condition"):
        random_conditions(faces, 1.0, 0, {"side_light": 1})


def test_a_seed_changes_the_random_parts(faces):
    assert not np.array_equal(low_light(faces, 3, seed=0), low_light(faces, 3, seed=1))


@pytest.mark.parametrize("call, message", [
    (lambda f: apply("fog", f, 1), "unknown condition 'fog'"),
    (lambda f: apply("glasses", f, 6), "severity must be 0-5"),
    (lambda f: apply("glasses", f[:, :40], 1), "expected faces shaped (N, 48, 48)"),
])
def test_bad_arguments_are_named(call, message, faces):
    with pytest.raises(ValueError) as error:
        call(faces)
    assert message in str(error.value)


def test_the_eye_constant_is_the_committed_measurement():
    eyes = json.loads((PROJECT_ROOT / "results" / "face_framing.json").read_text())["eyes"]
    assert Eyes(tuple(eyes["left"]), tuple(eyes["right"]), eyes["size"], eyes["measured_on"], eyes["sample"]) == FER_EYES
