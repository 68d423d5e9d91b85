"""The notebook series as one batch job: papermill executes notebooks/NN_*.ipynb in order, headless.

Each notebook gets the parameters it declares in its `parameters` cell (DATA, RUN_DIR, EPOCHS, ...);
the executed copies are written to an output folder, cleaned of papermill's timings. The first failing
notebook stops the series; its executed copy (with the traceback) is kept as NN_name.failed.ipynb.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .loading import DEMO, PROJECT_ROOT, find_fer2013

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
# The committed copies in notebooks/ show FER2013; the demo profile's copies (nbval's references) live here.
REFERENCE_DIR = PROJECT_ROOT / "tests" / "notebooks"


class NotebookFailed(RuntimeError):
    """A notebook of the series raised; the message names it, the cell and the error."""


def series(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The series' notebooks, in order (NN_name.ipynb; not the .partial/.failed copies a run leaves)."""
    notebooks = sorted(p for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb") if "." not in p.stem)
    if not notebooks:
        raise FileNotFoundError(f"{notebook_dir}: no NN_name.ipynb notebooks")
    return notebooks


def run_series(output_dir: str | Path, parameters: dict, *, notebook_dir: Path = NOTEBOOK_DIR,
               progress: bool = True) -> list[Path]:
    """Execute every notebook with the `parameters` it declares; returns the executed copies' paths."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    output_dir = Path(output_dir).resolve()
    if output_dir == NOTEBOOK_DIR.resolve() and _is_demo(parameters.get("DATA")):
        raise ValueError(f"{NOTEBOOK_DIR} keeps the notebooks executed on the real FER2013; "
                         "the demo dataset may not overwrite them (pass --data with FER2013, or another --output)")
    output_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for notebook in series(notebook_dir):
        declared = papermill.inspect_notebook(str(notebook))
        given = {name: value for name, value in parameters.items() if name in declared}
        failed = output_dir / f"{notebook.stem}.failed.ipynb"
        failed.unlink(missing_ok=True)
        partial = output_dir / f"{notebook.stem}.partial.ipynb"
        print(f"{notebook.name}: {', '.join(f'{k}={v!r}' for k, v in given.items()) or 'default parameters'}", flush=True)
        try:
            papermill.execute_notebook(str(notebook), str(partial), parameters=given, cwd=str(notebook.parent),
                                       kernel_name="python3", progress_bar=progress)
        except PapermillExecutionError as error:
            os.replace(partial, failed)
            raise NotebookFailed(f"{notebook.name}: cell In [{error.exec_count}] raised {error.ename}: {error.evalue} "
                                 f"(the executed copy with the traceback: {failed})") from None
        clean_notebook(partial)
        target = output_dir / notebook.name
        os.replace(partial, target)
        done.append(target)
    return done


def _is_demo(data) -> bool:
    return data is not None and str(data) == DEMO or find_fer2013(data) is None


def clean_notebook(path: str | Path) -> None:
    """Drop papermill's and Jupyter's per-run noise (timings, absolute paths), keeping outputs and parameters."""
    path = Path(path)
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        for key in ("papermill", "execution"):
            cell.get("metadata", {}).pop(key, None)
    run = notebook["metadata"].get("papermill")
    if run is not None:
        notebook["metadata"]["papermill"] = {"parameters": run.get("parameters", {})}
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
