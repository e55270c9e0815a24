"""Notebooks are thin, parameterised and committed without outputs (they are executed by
test_notebooks_run.py, one by one, and by test_reproduce.py, through `investigate reproduce`)."""

from __future__ import annotations

import ast

import nbformat
import pytest

from investigate.errors import InvestigateError
from investigate.notebooks import inject_parameters

from .conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# The analyst's workflow, in the order `investigate reproduce` runs it (a new notebook: one line).
WORKFLOW = [
    "00_quickstart",
    "01_load_and_check",
    "02_cross_border_access",
    "03_transfers_and_backups",
    "04_findings_and_report",
]


def test_there_are_numbered_notebooks():
    names = [p.stem for p in NOTEBOOKS]
    assert names[:len(WORKFLOW)] == WORKFLOW
    # numbered 00, 01, 02... without a hole or a repeat, so the order reproduce runs them is clear
    assert [n[:3] for n in names] == [f"{i:02d}_" for i in range(len(names))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_takes_the_parameters_reproduce_passes_and_closes_its_workspace(path):
    """`investigate reproduce` runs every notebook with CASE, WORKSPACE and OUT_DIR on one
    workspace file, one after the other: DuckDB allows one writer, so each must close it."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assigned = {t.id for n in ast.parse(code[1].source).body for t in n.targets}
    assert {"CASE", "WORKSPACE", "OUT_DIR"} <= assigned
    assert code[-1].source.rstrip().endswith("ws.close()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "import investigate" in code[0].source
    assert code[1].metadata.get("tags") == ["parameters"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "commit notebooks without outputs"
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert defs == [], "no logic defined only in a notebook: put it in the package"
    params = ast.parse(code[1].source)
    assert all(isinstance(n, ast.Assign) for n in params.body), "the parameters cell only assigns values"


def test_parameters_are_injected_after_the_parameters_cell():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    inject_parameters(nb, {"CATEGORY": "eu_user_data", "START": None})
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nb.cells[index + 1]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert injected.source.splitlines()[1:] == ["CATEGORY = 'eu_user_data'", "START = None"]


def test_a_notebook_without_a_parameters_cell_is_refused():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    with pytest.raises(InvestigateError, match="no cell tagged 'parameters'"):
        inject_parameters(nb, {"x": 2})
