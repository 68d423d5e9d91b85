"""Fast, strict reader for the Kaggle FER2013 CSV (`emotion,pixels,Usage`, plain or gzip).

The file is decompressed in blocks of whole lines while a worker thread parses the previous
block with vectorised NumPy (digit masks, token edges), so decompression and parsing overlap.
Every bad row is reported with its 1-based line number (the header is line 1).
"""
from __future__ import annotations

import gzip
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import EMOTIONS, N_PIXELS, USAGES, DataError, FERDataset
from .progress import progress_bar

try:  # ISA-L inflates gzip about 4x faster than zlib; fall back to the standard library.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - depends on the environment
    _gzip = gzip

COLUMNS = ("emotion", "pixels", "Usage")
BLOCK_BYTES = 8 << 20
_SPACE, _NEWLINE, _COMMA, _QUOTE, _ZERO = 32, 10, 44, 34, 48
_USAGE_CODES = {name.encode(): code for code, name in enumerate(USAGES)}


@dataclass
class _Block:
    labels: np.ndarray
    usage: np.ndarray
    pixels: np.ndarray
    errors: list[tuple[int, str]]


def read_fer_csv(path: str | os.PathLike, *, strict: bool = True, progress: bool = True) -> FERDataset:
    """Parse a FER2013 CSV. strict=False skips bad rows and lists them in `FERDataset.skipped`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    workers = os.cpu_count() or 2
    blocks: list[_Block] = []

    def collect(future) -> None:
        block = future.result()
        if strict and block.errors:
            first_line, reason = block.errors[0]
            raise DataError(f"{path}: line {first_line}: {reason}")
        blocks.append(block)

    bar = progress_bar(total=path.stat().st_size, desc=f"parse {path.name}", unit="B", enable=progress)
    try:
        with _open(path) as stream, ThreadPoolExecutor(max_workers=workers) as pool:
            header, rest = _read_header(stream, path)
            layout = _column_layout(header, path)
            pending: deque = deque()
            line = 2
            for block in _whole_line_blocks(stream, rest, bar):
                pending.append(pool.submit(_parse_block, block, line, layout))
                line += block.count(b"\n")
                if len(pending) > 2 * workers:  # bounded memory: parse while decompressing
                    collect(pending.popleft())
            while pending:
                collect(pending.popleft())
    except (OSError, EOFError) as error:  # truncated or corrupt gzip, unreadable file
        raise DataError(f"{path}: cannot be read ({type(error).__name__}: {error})") from error
    finally:
        bar.close()
    if not blocks or sum(len(b.labels) for b in blocks) == 0:
        raise DataError(f"{path}: no data rows after the header")
    return FERDataset(
        pixels=np.concatenate([b.pixels for b in blocks]).reshape(-1, 48, 48),
        labels=np.concatenate([b.labels for b in blocks]),
        usage=np.concatenate([b.usage for b in blocks]),
        source=str(path),
        skipped=tuple((f"line {n}", reason) for b in blocks for n, reason in b.errors),
    )


def _open(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return _gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _read_header(stream, path: Path) -> tuple[bytes, bytes]:
    data = b""
    while b"\n" not in data:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        data += chunk
    if not data.strip():
        raise DataError(f"{path}: empty file (expected the header 'emotion,pixels,Usage')")
    header, _, rest = data.partition(b"\n")
    return header, rest


def _column_layout(header: bytes, path: Path) -> tuple[int, int, int, int]:
    """(emotion, pixels, Usage, number of columns) from the header line."""
    names = [name.strip().strip('"').strip() for name in header.decode("utf-8-sig", "replace").strip().split(",")]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(
            f"{path}: line 1: missing column(s) {', '.join(missing)}; found {', '.join(names)} "
            f"(expected the Kaggle layout {','.join(COLUMNS)})"
        )
    return (*(names.index(c) for c in COLUMNS), len(names))


def _whole_line_blocks(stream, carry: bytes, bar):
    """Yield blocks of complete lines (each ending in a newline, CRLF turned into LF)."""
    while True:
        chunk = stream.read(BLOCK_BYTES)
        bar.update_to(stream.fileobj.tell() if hasattr(stream, "fileobj") else stream.tell())
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut].replace(b"\r\n", b"\n")
            carry = data[cut:]
        else:
            carry = data
    if carry.strip():
        carry = carry.replace(b"\r\n", b"\n")
        yield carry if carry.endswith(b"\n") else carry.rstrip(b"\r") + b"\n"


def _parse_block(block: bytes, first_line: int, layout: tuple[int, int, int, int]) -> _Block:
    emotion_col, pixels_col, usage_col, n_cols = layout
    raw = np.frombuffer(block, np.uint8)
    all_line_ends = np.flatnonzero(raw == _NEWLINE)
    line_starts = np.concatenate(([0], all_line_ends[:-1] + 1))
    filled = all_line_ends > line_starts
    line_starts, line_ends = line_starts[filled], all_line_ends[filled]
    line_numbers = first_line + np.flatnonzero(filled)
    commas = np.flatnonzero(raw == _COMMA)
    first_comma = np.searchsorted(commas, line_starts)
    comma_count = np.searchsorted(commas, line_ends) - first_comma
    well_formed = comma_count == n_cols - 1
    comma_index = np.minimum(first_comma[:, None] + np.arange(n_cols - 1), max(len(commas) - 1, 0))
    comma_pos = commas[comma_index] if len(commas) else np.zeros_like(comma_index)
    field_start = np.column_stack([line_starts, comma_pos + 1]).tolist()
    field_end = np.column_stack([comma_pos, line_ends]).tolist()

    errors: dict[int, str] = {}
    n_lines = len(line_starts)
    labels = np.zeros(n_lines, np.int8)
    usage = np.zeros(n_lines, np.uint8)
    pixel_start = np.zeros(n_lines, np.int64)
    pixel_end = np.zeros(n_lines, np.int64)
    work = raw.copy()
    work[all_line_ends] = _SPACE  # blank lines too
    for i, (starts_i, ends_i, ok) in enumerate(zip(field_start, field_end, well_formed.tolist())):
        line_start, line_end = starts_i[0], ends_i[-1]
        if not ok:
            errors[i] = f"expected {n_cols} comma-separated fields, found {comma_count[i] + 1}"
            work[line_start : line_end + 1] = _SPACE
            continue
        labels[i], usage[i], reason = _label_and_usage(
            block[starts_i[emotion_col] : ends_i[emotion_col]], block[starts_i[usage_col] : ends_i[usage_col]]
        )
        if reason:
            errors[i] = reason
        pixel_start[i], pixel_end[i] = starts_i[pixels_col], ends_i[pixels_col]
        work[line_start : starts_i[pixels_col]] = _SPACE
        work[ends_i[pixels_col] : line_end + 1] = _SPACE
    if b'"' in block:
        work[work == _QUOTE] = _SPACE

    is_digit = np.less(work - _ZERO, 10)
    if np.count_nonzero(is_digit) + np.count_nonzero(work == _SPACE) != len(work):
        for pos in np.flatnonzero(~is_digit & (work != _SPACE)):
            i = int(np.searchsorted(line_starts, pos, side="right") - 1)
            if i not in errors:
                token = block[pos : pos + 12].split(b" ")[0].split(b",")[0]
                errors[i] = f"pixels holds a non-numeric token {token.decode('latin-1')!r}"
    # Every digit run ends before a blank (the block ends in a blanked newline): `stops` are exclusive ends.
    stops = np.flatnonzero(is_digit[:-1] > is_digit[1:]) + 1
    values = _token_values(work, stops)

    first_token = np.searchsorted(stops, pixel_start, side="right")
    counts = np.searchsorted(stops, pixel_end, side="right") - first_token
    for i in np.flatnonzero(well_formed & (counts != N_PIXELS)):
        errors.setdefault(int(i), f"pixels has {counts[i]} values, expected {N_PIXELS} (48x48)")
    if values.size and values.max() > 255:
        for k in np.flatnonzero(values > 255):
            i = int(np.searchsorted(line_starts, stops[k], side="right") - 1)
            errors.setdefault(i, f"pixel value {values[k]} is over 255")

    good = np.ones(n_lines, bool)
    good[list(errors)] = False
    if good.all() and len(values) == n_lines * N_PIXELS:
        pixels = values.astype(np.uint8).reshape(n_lines, N_PIXELS)
    else:
        pixels = values[first_token[good, None] + np.arange(N_PIXELS)].astype(np.uint8)
    return _Block(
        labels=labels[good],
        usage=usage[good],
        pixels=pixels,
        errors=sorted((int(line_numbers[i]), reason) for i, reason in errors.items()),
    )


def _label_and_usage(label_field: bytes, usage_field: bytes) -> tuple[int, int, str]:
    label_text = label_field.strip().strip(b'"')
    usage_text = usage_field.strip().strip(b'"')
    try:
        label = int(label_text)
    except ValueError:
        return 0, 0, f"emotion {label_text.decode('latin-1')!r} is not an integer 0-6"
    if not 0 <= label < len(EMOTIONS):
        return 0, 0, f"emotion {label} is outside 0-6 ({', '.join(EMOTIONS)})"
    code = _USAGE_CODES.get(usage_text)
    if code is None:
        return 0, 0, f"Usage {usage_text.decode('latin-1')!r} is not one of {', '.join(USAGES)}"
    return label, code, ""


def _token_values(text: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Value of the digit run ending before each stop, read four bytes at a time.

    `text` holds only ASCII digits and blanks. In the little-endian word of the four bytes before a
    stop, byte 3 is the units digit, byte 2 the tens and byte 1 the hundreds; `& 15` maps a blank
    (0x20) to 0 and bit 4 is set for digits only (0x30-0x39), which tells where a run begins.
    """
    padded = np.concatenate((np.full(4, _SPACE, np.uint8), text))
    words = np.ndarray((len(text) + 1,), dtype="<u4", buffer=padded, strides=(1,))[stops]
    tens_is_digit = (words >> 20) & 1
    values = (words >> 24) & 15
    values += ((words >> 16) & 15) * 10
    values += ((words >> 8) & 15) * (100 * tens_is_digit)
    for k in np.flatnonzero(tens_is_digit & (words >> 12) & (words >> 4) & 1):  # four digits or more
        run = text[: stops[k]].tobytes().rsplit(b" ", 1)[-1]
        values[k] = min(int(run), 65535)
    return values
