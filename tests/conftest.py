"""Shared fixtures: an in-memory workspace, the repo's paths, the shared real samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from investigate import Workspace

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data_samples"
REAL_SAMPLES = REPO.parent / "shared" / "real_samples"


@pytest.fixture(autouse=True, scope="session")
def _mmdb_cache_in_a_temp_dir(tmp_path_factory):
    """Converted .mmdb databases are cached; the tests keep theirs out of the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("INVESTIGATE_CACHE", str(tmp_path_factory.mktemp("mmdb-cache")))
    yield
    mp.undo()


@pytest.fixture
def ws():
    with Workspace.open() as w:
        yield w


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    return json.loads((SAMPLES / "ground_truth.json").read_text(encoding="utf-8"))


def rows(ws, table="access_events", order="source_record"):
    """A table's rows as plain tuples, without the provenance columns (for comparing loads)."""
    cols = [c for c in ws.sql(f"SELECT * FROM {table} LIMIT 0").df().columns
            if c not in ("source_file", "event_id")]
    return ws.sql(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}").fetchall()
