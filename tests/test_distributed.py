import os

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
pytest.importorskip("tensorflow")
ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from PIL import Image  # noqa: E402

from fer_lib import distributed  # noqa: E402
from fer_lib.cli import main  # noqa: E402
from fer_lib.detectors import face_detector  # noqa: E402
from fer_lib.distributed import predict_on_ray  # noqa: E402
from fer_lib.predict import predict, sampled_frame, video_frames  # noqa: E402


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Two photos (a face, none), a bad file and a 9.5-second clip at 10 fps that alternates face and no face."""
    folder = tmp_path_factory.mktemp("media")
    Image.fromarray(skdata.astronaut()).save(folder / "astronaut.jpg")
    Image.fromarray(skdata.coffee()).save(folder / "coffee.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    writer = cv2.VideoWriter(str(folder / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for i in range(95):
        frame = skdata.astronaut() if i // 20 % 2 == 0 else cv2.resize(skdata.coffee(), (512, 512))
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return folder


@pytest.fixture
def local_ray():
    """A local Ray of 2 CPUs, started by the test (predict_on_ray joins it rather than starting its own)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def outputs(folder):
    """Every file `predict` wrote under `folder` -> its bytes (an annotated video's: its frames, not its container)."""
    return {path.relative_to(folder): [frame.tobytes() for _, _, frame in video_frames(str(path), fps=0)]
            if path.suffix == ".mp4" else path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("fps", [1.0, 3.0])
def test_video_ranges_give_the_whole_reads_frames(media, fps):
    whole = [(index, timestamp) for index, timestamp, _ in video_frames(str(media / "clip.mp4"), fps)]
    starts = [0] + [sampled_frame(second, fps, 10.0) for second in (2.5, 5.0, 7.5)]
    pieces = [(index, timestamp) for start, stop in zip(starts, [*starts[1:], None])
              for index, timestamp, _ in video_frames(str(media / "clip.mp4"), fps, start=start, stop=stop)]
    assert pieces == whole and len(whole) == int(np.ceil(9.5 * fps))


def test_ray_gives_the_rows_files_and_failures_of_one_process(media, tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "SEGMENT_SECONDS", 3.0)  # the clip spreads over 4 tasks
    paths = [media, media / "missing.jpg"]
    lines_one, lines_ray = [], []
    one = predict(paths, None, tmp_path / "one", fps=2.0, parquet=True, log=lines_one.append)
    spread = predict_on_ray(paths, None, tmp_path / "ray", fps=2.0, parquet=True, log=lines_ray.append)
    assert len(distributed.video_ranges(media / "clip.mp4", 2.0)) == 4
    assert spread.rows == one.rows and len(one.rows) == 12 and spread.failures == one.failures
    assert one.failures == [(str(media / "broken.jpg"), "not an image Pillow can read; convert it to JPEG or PNG"),
                            (str(media / "missing.jpg"), "no such file")]
    assert lines_ray == lines_one
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "one")


def test_a_worker_that_dies_has_its_work_done_again(media, tmp_path, local_ray, monkeypatch):
    monkeypatch.setattr(distributed, "SEGMENT_SECONDS", 3.0)
    marker = tmp_path / "died"

    class DyingOnce:
        """Haar, but the first detection anywhere kills its process (as an out-of-memory kill would)."""

        def __init__(self):
            self.framing, self.inner = face_detector("haar").framing, None  # the cascade itself cannot be pickled

        def detect(self, gray):
            if not marker.exists():
                marker.touch()
                os._exit(1)
            self.inner = self.inner or face_detector("haar")
            return self.inner.detect(gray)

    marker.touch()
    one = predict([media], None, tmp_path / "one", detector=DyingOnce(), log=lambda line: None)
    marker.unlink()
    spread = predict_on_ray([media], None, tmp_path / "ray", detector=DyingOnce(), log=lambda line: None)
    assert marker.exists(), "no worker died: the test tested nothing"
    assert spread.rows == one.rows and spread.failures == one.failures
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "one")


def test_an_unreachable_cluster_is_one_line_exit_1(media, tmp_path, capsys):
    assert main(["predict", str(media / "coffee.png"), "--output", str(tmp_path), "--ray", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: Ray cluster at 127.0.0.1:1 did not answer") and "\n" not in err
    assert not ray.is_initialized()


def test_a_camera_is_not_read_on_ray(tmp_path, capsys):
    assert main(["predict", "--camera", "0", "--ray", "--output", str(tmp_path / "out")]) == 2
    assert "--camera cannot be read on Ray" in capsys.readouterr().err


def test_a_detector_that_cannot_go_to_the_workers_is_refused(media, tmp_path):
    with pytest.raises(ValueError, match="cannot be sent to Ray's workers"):
        predict_on_ray([media / "coffee.png"], None, tmp_path, detector=face_detector("haar"))
