import gzip

import numpy as np
import pytest

from fer_lib import csv_reader
from fer_lib.csv_reader import read_fer_csv
from fer_lib.dataset import USAGES, DataError

from .conftest import csv_text, random_rows


def write(tmp_path, text, name="fer.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_reads_every_row_exactly(tmp_path):
    rows = random_rows(20)
    data = read_fer_csv(write(tmp_path, csv_text(rows)), progress=False)
    assert data.pixels.shape == (20, 48, 48) and data.pixels.dtype == np.uint8
    np.testing.assert_array_equal(data.pixels.reshape(20, -1), np.stack([p for _, p, _ in rows]))
    np.testing.assert_array_equal(data.labels, [label for label, _, _ in rows])
    assert [USAGES[u] for u in data.usage] == [usage for _, _, usage in rows]
    assert data.skipped == ()


def test_extreme_values_and_spacing(tmp_path):
    pixels = np.zeros(2304, int)
    pixels[:6] = [0, 9, 10, 99, 100, 255]
    text = " ".join(map(str, pixels)).replace("9 10", "9   10") + " "  # runs of blanks, trailing blank
    data = read_fer_csv(write(tmp_path, csv_text([(3, text, "Training"), (4, "0255 " + " ".join(["7"] * 2303), "PublicTest")])),
                        progress=False)
    np.testing.assert_array_equal(data.pixels[0].ravel()[:6], [0, 9, 10, 99, 100, 255])
    assert data.pixels[1, 0, 0] == 255 and data.pixels[1, 0, 1] == 7


def test_gzip_crlf_quotes_and_column_order(tmp_path):
    rows = random_rows(5)
    text = "Usage,emotion,pixels\r\n" + "".join(
        f'{usage},{label},"{" ".join(map(str, p))}"\r\n' for label, p, usage in rows
    )
    path = write(tmp_path, gzip.compress(text.encode()), "fer.csv.gz")
    data = read_fer_csv(path, progress=False)
    np.testing.assert_array_equal(data.labels, [r[0] for r in rows])
    np.testing.assert_array_equal(data.pixels[4].ravel(), rows[4][1])


def test_line_numbers_hold_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "BLOCK_BYTES", 20_000)  # a few rows per block
    rows = random_rows(40)
    rows[33] = (1, "1 2 3", "Training")
    text = csv_text(rows).replace("\n", "\n\n", 3)  # blank lines count as lines
    with pytest.raises(DataError, match=r"line 38: pixels has 3 values, expected 2304"):
        read_fer_csv(write(tmp_path, text), progress=False)


@pytest.mark.parametrize(
    "row, message",
    [
        ((0, "1 " * 2303, "Training"), r"line 3: pixels has 2303 values, expected 2304"),
        ((0, "1 " * 2305, "Training"), r"line 3: pixels has 2305 values"),
        ((0, "12 " * 2000 + "x7 " + "1 " * 303, "Training"), r"line 3: pixels holds a non-numeric token 'x7'"),
        ((0, "-5 " + "1 " * 2303, "Training"), r"line 3: pixels holds a non-numeric token '-5'"),
        ((0, "1.5 " + "1 " * 2303, "Training"), r"line 3: pixels holds a non-numeric token"),
        ((0, "256 " + "1 " * 2303, "Training"), r"line 3: pixel value 256 is over 255"),
        ((0, "1000 " + "1 " * 2303, "Training"), r"line 3: pixel value 1000 is over 255"),
        ((7, "1 " * 2304, "Training"), r"line 3: emotion 7 is outside 0-6"),
        ((-1, "1 " * 2304, "Training"), r"line 3: emotion -1 is outside 0-6"),
        (("happy", "1 " * 2304, "Training"), r"line 3: emotion 'happy' is not an integer"),
        ((0, "1 " * 2304, "Test"), r"line 3: Usage 'Test' is not one of Training, PublicTest, PrivateTest"),
        ((0, "1 " * 2304 + ",extra", "Training"), r"line 3: expected 3 comma-separated fields, found 4"),
    ],
)
def test_bad_rows_are_named_by_line(tmp_path, row, message):
    text = csv_text([random_rows(1)[0], row, random_rows(2)[1]])
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as caught:
        read_fer_csv(path, progress=False)
    assert str(path) in str(caught.value)


def test_non_strict_skips_bad_rows_and_lists_them(tmp_path):
    rows = random_rows(6)
    rows[1] = (9, rows[1][1], "Training")
    rows[4] = (2, "5 6", "PublicTest")
    data = read_fer_csv(write(tmp_path, csv_text(rows)), strict=False, progress=False)
    assert len(data) == 4
    np.testing.assert_array_equal(data.labels, [rows[i][0] for i in (0, 2, 3, 5)])
    np.testing.assert_array_equal(data.pixels[3].ravel(), rows[5][1])
    assert [where for where, _ in data.skipped] == ["line 3", "line 6"]
    assert "outside 0-6" in data.skipped[0][1] and "2 values" in data.skipped[1][1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("emotion,pixels,Usage\n", "no data rows"),
        ("emotion,Usage\n0,Training\n", r"line 1: missing column\(s\) pixels; found emotion, Usage"),
        ("pixels\n1 2 3\n", r"missing column\(s\) emotion, Usage"),
    ],
)
def test_bad_files(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_fer_csv(write(tmp_path, text), progress=False)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_fer_csv(tmp_path / "nope.csv")


def test_a_file_without_final_newline(tmp_path):
    data = read_fer_csv(write(tmp_path, csv_text(random_rows(3)).rstrip("\n")), progress=False)
    assert len(data) == 3


def test_truncated_gzip_is_named(tmp_path):
    packed = gzip.compress(csv_text(random_rows(30)).encode())
    path = write(tmp_path, packed[: len(packed) // 2], "fer.csv.gz")
    with pytest.raises(DataError, match=r"fer\.csv\.gz: cannot be read"):
        read_fer_csv(path, progress=False)


def test_an_image_given_as_csv(tmp_path):
    with pytest.raises(DataError, match="line 1: missing column"):
        read_fer_csv(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00binary"), progress=False)
