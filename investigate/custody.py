"""Chain of custody: every input of a workspace, as it was when it was loaded.

Each export and reference file is hashed (sha256 of its bytes on disk) before anything of it is
read, and hashed again once its rows are written, inside the same transaction: a file that
changed in between is refused and nothing of it is kept (``checked_at`` is when the second hash
was found equal). This module lists that record, for the methodology note of a story or a
decision: which file, which hash, how big, read as what, how many records it gave, when.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .workspace import Workspace

# Exports, then reference files, each in the order they were loaded.
_SQL = """
SELECT 'export' AS kind, path, sha256, bytes, format, loader_version, mapping_sha256,
       target_table AS loaded_into, rows_read, rows_loaded, rows_rejected, rows_set_apart,
       ts_min AS first_event, ts_max AS last_event, loaded_at, checked_at
FROM ingests
UNION ALL
SELECT 'reference: ' || kind, path, sha256, bytes, format, NULL, NULL,
       kind, NULL, rows_loaded, NULL, NULL, NULL, NULL, loaded_at, checked_at
FROM reference_sources
ORDER BY kind = 'export' DESC, loaded_at, path
"""

COLUMNS = ["kind", "path", "sha256", "bytes", "format", "loader_version", "mapping_sha256", "loaded_into",
           "rows_read", "rows_loaded", "rows_rejected", "rows_set_apart", "first_event", "last_event",
           "loaded_at", "checked_at"]


def custody(ws: Workspace, csv: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every input of the workspace: exports (one row per file loaded) and reference files.

    Parameters
    ----------
    ws : Workspace
    csv : path, optional
        Also write the table there as CSV (UTF-8, times in UTC, ISO 8601), for the methodology
        note.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``export`` or ``reference: <kind>``), ``path``, ``sha256``, ``bytes``,
        ``format``, ``loader_version``, ``mapping_sha256``, ``loaded_into``, the record counts,
        the first and last event time, ``loaded_at`` (the load began) and ``checked_at`` (its
        hash was taken again after loading and found unchanged; empty for a policy preset or
        the bundled registry, which are not files).
    """
    df = ws.sql(_SQL).df()[COLUMNS]
    if csv is not None:
        out = df.copy()
        for col in ("first_event", "last_event", "loaded_at", "checked_at"):
            out[col] = out[col].map(lambda t: "" if pd.isna(t) else t.tz_convert("UTC").isoformat())
        Path(csv).parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(csv, index=False, encoding="utf-8")
    return df
