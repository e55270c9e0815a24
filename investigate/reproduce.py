"""Reproduce the sample case end to end: run every notebook, then write the findings and the
report.

Everything is rebuilt from the inputs: the workspace is made anew, so the reports depend on the
files in ``data_samples/`` and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path

from .case import ingest_case
from .errors import InvestigateError
from .findings import Finding
from .notebooks import run_notebook
from .report import write_report
from .workspace import Workspace


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding ``data_samples/`` and ``notebooks/``: from ``start`` (default: the
    current directory) upwards, else the source tree the package was installed from."""
    here = Path(start or Path.cwd()).absolute()
    for folder in (here, *here.parents, Path(__file__).absolute().parents[1]):
        if (folder / "data_samples" / "case.yml").is_file() and (folder / "notebooks").is_dir():
            return folder
    raise InvestigateError("cannot find data_samples/case.yml and notebooks/; run this from the "
                           "investigate repository, or pass --case and --notebooks")


def reproduce(out: str | os.PathLike = "reports", *, case: str | os.PathLike | None = None,
              notebooks: str | os.PathLike | None = None, log=print) -> list[Finding]:
    """Run the numbered notebooks on the case, then compute its findings into ``out``.

    Returns the findings; ``out`` receives the figures and their tables (from the notebooks and
    the report), the executed notebooks, ``findings.json``, ``findings.md``, ``report.html``,
    ``report.pdf`` and the workspace ``case.duckdb``.
    """
    root = None if case and notebooks else project_root()
    case_dir = Path(case or root / "data_samples").absolute()
    nb_dir = Path(notebooks or root / "notebooks").absolute()
    out = Path(out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    workspace = out / "case.duckdb"
    for stale in (workspace, workspace.with_name(workspace.name + ".wal")):
        stale.unlink(missing_ok=True)
    params = {"CASE": str(case_dir / "case.yml"), "WORKSPACE": str(workspace), "OUT_DIR": str(out),
              "SPEC": str(case_dir / "findings.yml")}
    for nb in sorted(nb_dir.glob("[0-9][0-9]_*.ipynb")):
        log(f"running {nb.name} ...")
        run_notebook(nb, parameters=params, output=out / "notebooks" / nb.name)
    with Workspace.open(workspace) as ws:
        ingest_case(ws, case_dir)
        return write_report(ws, case_dir / "findings.yml", out).findings
