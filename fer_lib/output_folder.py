"""The folder a `predict` run writes into: one run owns it at a time, it is checked before any work, and every
finished input's rows are on disk at once, so an interrupted run loses nothing and `--resume` carries on.

While a run works, the folder holds:
    .fer_lib.lock                  the owner: process id, host, start time and command (removed at the end)
    predictions.partial.csv        the rows so far, one input's rows appended as it finishes (predict's columns)
    predictions.progress.jsonl     one line per finished input: its name, its failure (or null), the files it wrote
When the run ends, predictions.csv and .json replace the two partial files. A folder with an earlier run's results is
refused unless the run asks to replace them (`overwrite`) or to carry on an interrupted run there (`resume`); a
folder another live run holds is refused, naming it; a lock left by a process that no longer exists is taken over.
"""
from __future__ import annotations

import csv
import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK = ".fer_lib.lock"
PARTIAL_CSV, PROGRESS = "predictions.partial.csv", "predictions.progress.jsonl"
RESULTS = ("predictions.csv", "predictions.json", "predictions.parquet", PARTIAL_CSV, PROGRESS)
ANNOTATED = "annotated"
INTEGER_COLUMNS = ("face", "x", "y", "width", "height")


class FolderBusy(FileExistsError):
    """The output folder is another live run's, or holds an earlier run's results."""


class Interrupted(Exception):
    """A run stopped by Ctrl-C (or SIGTERM) after `done` of `total` inputs; what it read is kept."""

    def __init__(self, folder: Path, done: int, total: int):
        self.folder, self.done, self.total = folder, done, total
        super().__init__(f"interrupted after {done} of {total} input(s): their rows are in {folder / PARTIAL_CSV}; "
                         f"run the same command with --resume to read the other {total - done}" if done else
                         "interrupted before any input was read; nothing was written")


class OutputFolder:
    """`with OutputFolder(path, overwrite=..., resume=...) as folder:` owns `path` for one run (see the module).

    `done`: on resume, the inputs an earlier run finished without failing (read again: those that failed), with
    `rows` and `files` their rows and files; `record(item, rows, failure, files)` appends one finished input."""

    def __init__(self, path, *, columns, overwrite: bool = False, resume: bool = False):
        if overwrite and resume:
            raise ValueError("--overwrite and --resume exclude each other: replace the results, or carry on")
        self.path, self.columns, self.overwrite, self.resume = Path(path), tuple(columns), overwrite, resume
        self.done: set[str] = set()
        self.rows: list[dict] = []
        self.files: list[Path] = []
        self._lock = None
        self._made = False

    def __enter__(self) -> OutputFolder:
        self._made = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(f"{self.path}: a file, not a folder: choose another --output") from None
        except NotADirectoryError:
            raise NotADirectoryError(f"{self.path}: a path below a file: choose another --output") from None
        except PermissionError:
            raise PermissionError(f"{self.path}: cannot create the output folder (permission denied): choose "
                                  "another --output") from None
        self._take_lock()
        try:
            self._prepare()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._release()
        if self._made and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()  # made for a run that wrote nothing (it failed before its first input)

    # -- ownership -------------------------------------------------------------------------------------------------
    def _take_lock(self) -> None:
        lock = self.path / LOCK
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "command": _command()}
        for _ in range(2):
            try:
                descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = _read_json(lock)
                if holder is None and time.time() - _mtime(lock) < 10:  # being written by a run starting now
                    holder = {"pid": "?", "host": "?", "started": "just now", "command": "?"}
                if holder and _alive(holder):
                    raise FolderBusy(f"{self.path}: another run is writing here (process {holder['pid']} on "
                                     f"{holder['host']}, started {holder['started']}: {holder['command']}); wait for "
                                     "it to end or choose another --output") from None
                lock.unlink(missing_ok=True)  # left by a run that no longer exists
                continue
            except PermissionError:
                raise PermissionError(f"{self.path}: cannot write in the output folder (permission denied): choose "
                                      "another --output") from None
            except OSError as error:
                raise OSError(error.errno, f"{self.path}: cannot write in the output folder ({error.strerror}): "
                                           "choose another --output") from None
            with os.fdopen(descriptor, "w") as stream:
                json.dump(owner, stream)
            self._lock = lock
            return
        raise FolderBusy(f"{self.path}: another run took the output folder at the same moment; choose another --output")

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.unlink(missing_ok=True)
            self._lock = None

    # -- earlier results -------------------------------------------------------------------------------------------
    def earlier_results(self) -> list[Path]:
        """The files and folders of an earlier run in the folder."""
        found = [self.path / name for name in RESULTS if (self.path / name).exists()]
        if (self.path / ANNOTATED).is_dir() and any((self.path / ANNOTATED).iterdir()):
            found.append(self.path / ANNOTATED)
        return found + sorted(self.path.glob("*_timeline.png"))

    def _prepare(self) -> None:
        earlier = self.earlier_results()
        if self.resume and (self.path / PROGRESS).is_file():
            self._load_progress()
            return
        if self.resume and earlier:
            raise FolderBusy(f"{self.path}: nothing to resume: the run there finished (or left no progress file); "
                             "--overwrite reads everything again")
        if earlier and not self.overwrite:
            names = ", ".join(path.name + "/" * path.is_dir() for path in earlier[:4]) + ", ..." * (len(earlier) > 4)
            raise FolderBusy(f"{self.path}: holds an earlier run's results ({names}); pass --overwrite to replace "
                             "them, --resume to carry on an interrupted run, or choose another --output")
        for path in earlier:
            if path.is_dir():
                for inner in sorted(path.rglob("*"), reverse=True):
                    inner.rmdir() if inner.is_dir() else inner.unlink()
                path.rmdir()
            else:
                path.unlink()

    def _write_header(self) -> None:
        with open(self.path / PARTIAL_CSV, "w", newline="") as stream:
            csv.DictWriter(stream, self.columns).writeheader()
        (self.path / PROGRESS).write_text("")

    def _load_progress(self) -> None:
        finished = []
        for line in (self.path / PROGRESS).read_text().splitlines():
            try:
                finished.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut short by a killed run, and nothing after it
        kept = [entry for entry in finished if entry.get("failure") is None]
        self.done = {entry["item"] for entry in kept}
        self.files = [self.path / name for entry in kept for name in entry.get("files", [])
                      if (self.path / name).exists()]
        rows = []
        if (self.path / PARTIAL_CSV).is_file():
            with open(self.path / PARTIAL_CSV, newline="") as stream:
                rows = [_typed(row) for row in csv.DictReader(stream) if row.get("file") in self.done]
        self.rows = rows
        self._write_header()  # the kept part again: rows of unfinished inputs and failures are read anew
        with open(self.path / PARTIAL_CSV, "a", newline="") as stream:
            csv.DictWriter(stream, self.columns).writerows(rows)
        with open(self.path / PROGRESS, "a") as stream:
            stream.writelines(json.dumps(entry) + "\n" for entry in kept)

    # -- progress --------------------------------------------------------------------------------------------------
    def record(self, item: str, rows: list[dict], failure: str | None, files: list[Path]) -> None:
        """One finished input: its rows appended to the partial table, then its line in the progress file (each
        flushed to disk before the next input starts)."""
        if not (self.path / PARTIAL_CSV).is_file():
            self._write_header()
        with open(self.path / PARTIAL_CSV, "a", newline="") as stream:
            csv.DictWriter(stream, self.columns).writerows(rows)
            stream.flush()
            os.fsync(stream.fileno())
        entry = {"item": item, "rows": len(rows), "failure": failure,
                 "files": [str(Path(file).relative_to(self.path)) for file in files]}
        with open(self.path / PROGRESS, "a") as stream:
            stream.write(json.dumps(entry) + "\n")
            stream.flush()
            os.fsync(stream.fileno())

    def finished(self) -> None:
        """The run's tables are written: the partial files go."""
        for name in (PARTIAL_CSV, PROGRESS):
            (self.path / name).unlink(missing_ok=True)


def _command() -> str:
    """This process's command line as the user typed it (`fer-lib ...` for the CLI, however it was started)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program in ("__main__.py", "fer-lib", "fer_lib"):
        program = "fer-lib"
    return " ".join([program, *sys.argv[1:]])


def _typed(row: dict) -> dict:
    """A row read back from the partial CSV with predict's types: None for an empty frame or timestamp."""
    typed = {}
    for key, value in row.items():
        if key == "file" or key == "emotion":
            typed[key] = value
        elif value in ("", None):
            typed[key] = None
        elif key in INTEGER_COLUMNS or key == "frame":
            typed[key] = int(value)
        else:
            typed[key] = float(value)
    return typed


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _alive(holder: dict) -> bool:
    """Whether the lock's owner still runs (a lock from another host is assumed alive)."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, ValueError, TypeError):
        return True
    return True
