"""Run notebooks headless with parameters (the cell tagged ``parameters`` holds the defaults).

Values are injected as a new cell right after the ``parameters`` cell, as papermill does, so an
analyst can point any notebook at their own exports without editing it.
"""

from __future__ import annotations

import keyword
import os
import shutil
import tempfile
from pathlib import Path

from .errors import InvestigateError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def inject_parameters(nb, parameters: dict) -> None:
    """Insert a cell assigning ``parameters`` after the cell tagged ``parameters``."""
    import nbformat  # here, not at the top: it takes seconds to import and few callers need it

    index = next((i for i, c in enumerate(nb.cells)
                  if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise InvestigateError("the notebook has no cell tagged 'parameters'")
    # A name is pasted into the cell as code (its value goes in as a Python literal, repr):
    # only a plain name, so `-p "X = 1; import os; os.remove(...); Y" v` cannot run anything.
    for name in parameters:
        if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
            raise InvestigateError(f"notebook parameter {name!r} is not a Python name (letters, "
                                   "digits and _, not starting with a digit)")
    source = "# Parameters injected by investigate\n" + "\n".join(
        f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    nb.cells.insert(index + 1, cell)


def run_notebook(path: str | os.PathLike, *, parameters: dict | None = None,
                 output: str | os.PathLike | None = None, timeout: int = 900):
    """Execute a notebook top to bottom in a fresh kernel; return the executed notebook.

    The kernel starts in the notebook's own folder, as in JupyterLab. With ``output``, the
    executed notebook (with its outputs) is written there; the original is never modified.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject_parameters(nb, {k: (str(v) if isinstance(v, os.PathLike) else v)
                               for k, v in parameters.items()})
    from traitlets.config import Config

    # The kernel talks over local sockets, not TCP: nothing listens on a network port, even
    # on loopback, while an analyst's evidence is in memory.
    # The socket paths are absolute: the kernel runs in the notebook's folder, not ours.
    sockets = tempfile.mkdtemp(prefix="investigate-kernel-")
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(sockets, "kernel")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                            resources={"metadata": {"path": str(path.parent.absolute())}})
    try:
        # Headless, nobody watches: no progress bars (widgets that would stay in the outputs).
        client.execute(env={**os.environ, "INVESTIGATE_PROGRESS": "0"})
    except CellExecutionError as exc:
        raise InvestigateError(f"{path.name}: a cell failed:\n{exc}") from None
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, output)
    return nb


def cell_outputs_text(nb) -> str:
    """All text a notebook printed or displayed (stream and text/plain outputs), in order."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)
