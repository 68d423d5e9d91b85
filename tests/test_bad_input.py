"""What `predict` does with a user's real files and habits (issue 41), one test per case, each with the files it makes:

| case                                             | what happens                                              |
|--------------------------------------------------|-----------------------------------------------------------|
| another live run writes into --output            | refused before any work, naming that run                   |
| a lock left by a run that was killed             | taken over                                                 |
| an earlier run's results in --output             | refused; --overwrite replaces them, --resume carries on     |
| a phone photo stored sideways (EXIF orientation) | turned upright before the faces are found                  |
| Ctrl-C (or SIGTERM) part-way                     | one line; every finished input's rows kept; --resume reads the rest |
| a run killed part-way (SIGKILL)                  | the rows on disk kept; --resume reads the rest              |
| a video cut short (its header announces more)    | its rows kept, the video counted as failed, exit code 1     |
| a video header without a frame rate              | a note: the timestamps assume 30 frames/s                  |
| --output read-only, or below a file              | one line before any work, exit code 2                      |
| too large, unreadable, missing, a URL            | a failure line that names the problem                      |
| a broken --model file                            | "not a Keras model file", exit code 2                      |
| detect_emotions(None)                            | "the image is None"                                        |
| files of other kinds in a folder (.heic, .txt)   | listed once, by extension                                  |
| a 16-bit image holding 8-bit values              | read as the 8-bit image                                    |
| an animated GIF                                  | its first frame, with a note saying so                     |
| a plain `fer-lib predict photo.jpg`              | prints its own lines only                                  |
"""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

cv2 = pytest.importorskip("cv2")
skdata = pytest.importorskip("skimage.data")
pytest.importorskip("tensorflow")

from PIL import Image  # noqa: E402

from fer_lib import predict as module  # noqa: E402
from fer_lib.cli import main  # noqa: E402
from fer_lib.images import ImageError, to_gray  # noqa: E402
from fer_lib.output_folder import LOCK, PARTIAL_CSV, PROGRESS, FolderBusy, Interrupted  # noqa: E402
from fer_lib.paper_cnn import build_paper_cnn  # noqa: E402
from fer_lib.predict import predict, read_image  # noqa: E402
from fer_lib.training import set_seed  # noqa: E402


def quiet(line):
    pass


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An untrained paper CNN, saved: these tests check what happens to the files, not the emotions."""
    set_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_paper_cnn().save(path)
    return str(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Five photographs: the astronaut (a face) and four face-free ones."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket", "moon"):
        Image.fromarray(getattr(skdata, name)()).save(folder / f"{name}.png")
    return folder


def avi(path, frames=40, fps=10):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (256, 256))
    for _ in range(frames):
        writer.write(cv2.resize(skdata.astronaut(), (256, 256))[..., ::-1].copy())
    writer.release()
    return path


def test_a_folder_another_live_run_holds_is_refused_before_any_work(model, photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": os.getpid(), "host": os.uname().nodename, "started": "10:00",
                                        "command": "fer-lib predict clips/"}))
    with pytest.raises(FolderBusy, match=f"another run is writing here \\(process {os.getpid()}.*fer-lib predict clips/"):
        predict([photos], "no-such-model.keras", out, log=quiet)  # refused before the model is even looked for


def test_a_lock_left_by_a_killed_run_is_taken_over(model, photos, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": int(dead.stdout), "host": os.uname().nodename, "started": "10:00",
                                        "command": "fer-lib predict"}))
    outcome = predict([photos / "coffee.png"], model, out, log=quiet)
    assert outcome.items == 1 and not (out / LOCK).exists()


def test_an_earlier_runs_results_are_refused_unless_replaced(model, photos, tmp_path, capsys):
    out = tmp_path / "out"
    predict([photos], model, out, log=quiet)
    assert len(list((out / "annotated").iterdir())) == 5
    assert main(["predict", str(photos / "coffee.png"), "--model", model, "--output", str(out)]) == 2
    assert "holds an earlier run's results (predictions.csv, predictions.json, annotated/); pass --overwrite" in \
        capsys.readouterr().err
    assert main(["predict", str(photos / "coffee.png"), "--model", model, "--output", str(out), "--overwrite"]) == 0
    assert [p.name for p in (out / "annotated").iterdir()] == ["coffee.png"]  # the old run's copies are gone
    assert pd.read_csv(out / "predictions.csv").empty and not (out / PARTIAL_CSV).exists()


def test_a_phone_photo_stored_sideways_is_read_upright(model, tmp_path):
    upright = Image.fromarray(skdata.astronaut())
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone held on its side stores the pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright.save(tmp_path / "upright.jpg", quality=95)
    read = read_image(tmp_path / "phone.jpg")
    assert read.shape == (512, 512, 3)
    assert np.abs(read.astype(int) - read_image(tmp_path / "upright.jpg").astype(int)).mean() < 3
    boxes = {name: module.detect_emotions(tmp_path / f"{name}.jpg", model)[0]["box"] for name in ("phone", "upright")}
    assert np.abs(np.subtract(boxes["phone"], boxes["upright"])).max() <= 4


def test_ctrl_c_keeps_every_finished_input_and_resume_reads_the_rest(model, photos, tmp_path, monkeypatch, capsys):
    out, calls = tmp_path / "out", []
    real = module.read_photo

    def interrupted_at_the_third(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "read_photo", interrupted_at_the_third)
    assert main(["predict", str(photos), "--model", model, "--output", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted after 2 of 5 input(s)" in err and "--resume" in err and "Traceback" not in err
    assert not (out / LOCK).exists() and not (out / "predictions.csv").exists()
    partial = pd.read_csv(out / PARTIAL_CSV)
    assert set(partial["file"]) == {str(photos / "astronaut.png")}  # the two finished photos: one face in all
    monkeypatch.setattr(module, "read_photo", real)
    calls.clear()
    assert main(["predict", str(photos), "--model", model, "--output", str(out), "--resume"]) == 0
    assert "resuming in" in capsys.readouterr().out
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == 1 and len(list((out / "annotated").iterdir())) == 5
    assert not (out / PARTIAL_CSV).exists() and not (out / PROGRESS).exists()


def test_a_killed_run_keeps_its_rows_and_resume_reads_the_rest(model, photos, tmp_path):
    out = tmp_path / "out"
    outcome = predict([photos / "astronaut.png", photos / "coffee.png"], model, out, log=quiet)
    rows = outcome.rows
    # the state a SIGKILL leaves after the astronaut: its rows and progress line, a torn line, a dead run's lock
    (out / "predictions.csv").unlink()
    (out / "predictions.json").unlink()
    header = ",".join(module.COLUMNS)
    line = ",".join("" if rows[0][c] is None else str(rows[0][c]) for c in module.COLUMNS)
    (out / PARTIAL_CSV).write_text(f"{header}\n{line}\n{line.replace('astronaut', 'coffee')}\n")
    (out / PROGRESS).write_text(json.dumps({"item": str(photos / "astronaut.png"), "rows": 1, "failure": None,
                                            "files": ["annotated/astronaut.png"]}) + '\n{"item": "torn')
    resumed = predict([photos / "astronaut.png", photos / "coffee.png"], model, out, resume=True, log=quiet)
    assert resumed.items == 2 and resumed.rows == rows  # the coffee's torn rows dropped, then read again
    assert sorted(p.name for p in (out / "annotated").iterdir()) == ["astronaut.png", "coffee.png"]


def test_a_video_cut_short_keeps_its_rows_and_counts_as_failed(model, tmp_path, capsys):
    whole = avi(tmp_path / "clip.avi")
    (tmp_path / "cut.avi").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "cut.avi"), str(whole), "--model", model, "--output", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "cut.avi: FAILED: truncated or damaged: it ends at frame 20 of the 40 its header announces" in printed
    assert "(2 face(s) kept)" in printed and "clip.avi: 4 face(s) in 4 frame(s)" in printed
    table = pd.read_csv(out / "predictions.csv")
    assert (table["file"] == str(tmp_path / "cut.avi")).sum() == 2
    assert json.loads((out / "predictions.json").read_text())["failures"][0]["item"] == str(tmp_path / "cut.avi")


def test_a_video_header_without_a_frame_rate_gets_a_note(model, tmp_path, capsys):
    data = bytearray(avi(tmp_path / "clip.avi").read_bytes())
    at = data.find(b"strh")
    data[at + 32:at + 36] = bytes(4)  # the video stream's rate: 0
    (tmp_path / "norate.avi").write_bytes(bytes(data))
    outcome = predict([tmp_path / "norate.avi"], model, tmp_path / "out", fps=0, annotate=False)
    assert "norate.avi: note: its header gives no frame rate" in capsys.readouterr().out
    assert [row["timestamp_s"] for row in outcome.rows[:3]] == [0.0, 0.033, 0.067]  # 30 frames/s assumed, not 25


def test_a_bad_output_folder_is_one_line_before_any_work(model, photos, tmp_path, monkeypatch, capsys):
    (tmp_path / "afile").write_text("")
    assert main(["predict", str(photos), "--model", "missing.keras", "--output", str(tmp_path / "afile/out")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'afile/out'}: a path below a file: choose another --output"
    real_open = os.open

    def read_only(path, flags, *args):
        if str(path).endswith(LOCK):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)  # as a folder this user may not write in (root may write anywhere)
    assert main(["predict", str(photos), "--model", "missing.keras", "--output", str(tmp_path / "ro")]) == 2
    err = capsys.readouterr().err
    assert "cannot write in the output folder (permission denied)" in err and "missing.keras" not in err


def test_each_unreadable_input_says_what_is_wrong(model, photos, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.jpg").write_text("not an image")
    (folder / "holiday.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (folder / "readme.txt").write_text("")
    (folder / "big.png").write_bytes((photos / "astronaut.png").read_bytes())
    monkeypatch.setattr(module, "MAX_PIXELS", 200_000)  # the astronaut has 262,144 pixels
    out = tmp_path / "out"
    assert main(["predict", str(folder), str(folder / "missing.png"), "https://example.com/face.jpg",
                 str(folder / "holiday.heic"), "--model", model, "--output", str(out)]) == 1
    printed = capsys.readouterr().out
    for line in ("skipped 2 file(s) in the folders that are not images or videos fer_lib reads: .heic (1), .txt (1)",
                 "big.png: FAILED: too large: 512 x 512 pixels (the limit is 200,000",
                 "notes.jpg: FAILED: not an image Pillow can read",
                 "missing.png: FAILED: no such file",
                 "https://example.com/face.jpg: FAILED: a URL, not a file",
                 "holiday.heic: FAILED: not an image Pillow can read (.heic is not supported)"):
        assert line in printed
    monkeypatch.setattr(Image, "open", lambda path: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(PermissionError):
        read_image(photos / "coffee.png")
    assert module.failure_reason(PermissionError(13, "x")) == "permission denied: cannot read it (check its permissions)"


def test_a_broken_model_file_and_a_none_image_say_so(photos, tmp_path, capsys):
    (tmp_path / "broken.keras").write_text("not a zip")
    assert main(["predict", str(photos / "coffee.png"), "--model", str(tmp_path / "broken.keras"),
                 "--output", str(tmp_path / "out")]) == 2
    assert "broken.keras: not a Keras model file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written: the folder made for the run is removed
    with pytest.raises(ImageError, match="the image is None"):
        module.detect_emotions(None)


def test_a_16_bit_image_of_8_bit_values_reads_as_the_8_bit_one():
    gray = to_gray(skdata.astronaut())
    assert np.array_equal(to_gray(gray.astype(np.uint16)), gray)  # values 0-255 kept
    assert np.abs(to_gray(gray.astype(np.uint16) * 16).astype(int) - gray).max() <= 1  # a 12-bit sensor's 0-4095
    assert np.array_equal(to_gray(gray.astype(np.uint16) * 257), gray)  # the whole 16-bit range


def test_an_animated_gif_is_read_from_its_first_frame_with_a_note(model, tmp_path, capsys):
    frames = [Image.fromarray(skdata.astronaut()), Image.fromarray(skdata.coffee()).resize((512, 512))]
    frames[0].save(tmp_path / "moving.gif", save_all=True, append_images=frames[1:], duration=100)
    predict([tmp_path / "moving.gif"], model, tmp_path / "out")
    assert "moving.gif: note: animated (2 frames): only its first frame is read" in capsys.readouterr().out


def test_a_plain_predict_prints_only_its_own_lines(photos, tmp_path):
    done = subprocess.run([sys.executable, "-m", "fer_lib", "predict", str(photos / "coffee.png"), "--output",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [f"{photos / 'coffee.png'}: 0 face(s)",
                                        f"1 item(s), 0 face(s), 0 failed; written to {tmp_path / 'out/predictions.csv'} and .json"]
