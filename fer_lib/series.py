"""The notebook series as one batch job: papermill executes the sources notebooks/NN_name.py in order, headless.

The jupytext sources (py:percent) are the truth; each is executed as a notebook with the parameters it declares
in its `parameters` cell (DATA, RUN_DIR, EPOCHS, ...), and the executed copy, cleaned of papermill's timings,
is written to an output folder as NN_name.ipynb. The first failing notebook stops the series; its executed
copy (with the traceback) is kept as NN_name.failed.ipynb.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .loading import DEMO, PROJECT_ROOT, find_fer2013

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
# The committed copies in notebooks/ show FER2013; the demo profile's copies (nbval's references) live here.
REFERENCE_DIR = PROJECT_ROOT / "tests" / "notebooks"


class NotebookFailed(RuntimeError):
    """A notebook of the series raised; the message names it, the cell and the error."""


def series(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The series' sources, in order (NN_name.py)."""
    sources = sorted(Path(notebook_dir).glob("[0-9][0-9]_*.py"))
    if not sources:
        raise FileNotFoundError(f"{notebook_dir}: no NN_name.py notebook sources")
    return sources


def run_series(output_dir: str | Path, parameters: dict, *, notebook_dir: Path = NOTEBOOK_DIR, only=None,
               progress: bool = True) -> list[Path]:
    """Execute every notebook (or those whose number is in `only`, e.g. ["05"]) with the `parameters` it declares.

    Returns the executed copies' paths.
    """
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output_dir = Path(output_dir).resolve()
    if output_dir == NOTEBOOK_DIR.resolve() and uses_demo(parameters.get("DATA")):
        raise ValueError(f"{NOTEBOOK_DIR} keeps the notebooks executed on the real FER2013; "
                         "the demo dataset may not overwrite them (pass --data with FER2013, or another --output)")
    output_dir.mkdir(parents=True, exist_ok=True)
    done = []
    notebooks = [nb for nb in series(notebook_dir) if only is None or nb.name[:2] in only]
    if not notebooks:
        raise FileNotFoundError(f"{notebook_dir}: no notebook numbered {', '.join(only)}")
    for source in notebooks:
        target = output_dir / f"{source.stem}.ipynb"
        partial, failed = target.with_suffix(".partial.ipynb"), target.with_suffix(".failed.ipynb")
        failed.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            notebook = Path(scratch) / target.name
            jupytext.write(jupytext.read(source), notebook)
            declared = papermill.inspect_notebook(str(notebook))
            given = {name: value for name, value in parameters.items() if name in declared}
            print(f"{target.name}: {', '.join(f'{k}={v!r}' for k, v in given.items()) or 'default parameters'}", flush=True)
            try:
                papermill.execute_notebook(str(notebook), str(partial), parameters=given, cwd=str(source.parent),
                                           kernel_name="python3", progress_bar=progress)
            except PapermillExecutionError as error:
                os.replace(partial, failed)
                raise NotebookFailed(f"{target.name}: cell In [{error.exec_count}] raised {error.ename}: {error.evalue} "
                                     f"(the executed copy with the traceback: {failed})") from None
        clean_notebook(partial)
        os.replace(partial, target)
        done.append(target)
    return done


def uses_demo(data) -> bool:
    """Whether the notebooks, given DATA = `data`, will run on the demo dataset."""
    return data is not None and str(data) == DEMO or find_fer2013(data) is None


def clean_notebook(path: str | Path) -> None:
    """Drop papermill's and Jupyter's per-run noise (timings, absolute paths, random cell ids), keeping outputs
    and parameters, so that a notebook executed again differs from its last copy only where its content does."""
    path = Path(path)
    notebook = json.loads(path.read_text())
    for number, cell in enumerate(notebook["cells"]):
        if "id" in cell:
            cell["id"] = f"cell-{number}"
        for key in ("papermill", "execution"):
            cell.get("metadata", {}).pop(key, None)
    run = notebook["metadata"].get("papermill")
    if run is not None:
        notebook["metadata"]["papermill"] = {"parameters": run.get("parameters", {})}
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
