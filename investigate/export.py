"""Export a workspace as hive-partitioned Parquet, for engines other than DuckDB (Spark).

``export(ws, out)`` writes every table of the workspace (``schema.ALL_TABLES``: the canonical
event tables, the reference tables, the derived lookup tables and the provenance tables) under
``out/<table>/``, plus ``out/manifest.json``::

    out/
      manifest.json
      access_events/event_date=2022-01-05/data_0.parquet     one folder per UTC day
      transfer_events/event_date=2022-01-05/data_0.parquet   (of ts_start)
      networks/data_0.parquet                                every other table: one folder,
      ingests/data_0.parquet                                 unpartitioned
      ...

``spark.read.parquet("out/access_events")`` gives the canonical columns and ``event_date``
(Spark infers a DATE from the folder names; the partition column is not repeated inside the
files). An empty event table is written as one empty file that still carries ``event_date``, so
its schema can be read too.

Types. Timestamps (TIMESTAMPTZ) are Parquet timestamps adjusted to UTC (microseconds): Spark's
TimestampType, DuckDB's TIMESTAMPTZ. ``extra`` (JSON) and the ``network_scope`` ENUM are written
as plain strings (the same text), lists as Parquet lists.

IP ranges. ``ip_start`` / ``ip_end`` (``networks``, ``network_ranges``) are UHUGEINT: 128-bit
unsigned, IPv4 mapped into ``::ffff:0:0/96``. Parquet has no such type: DuckDB would silently
write them as DOUBLE (lossy: an IPv6 range's ends would collapse). DECIMAL(39,0) would hold them
but Parquet readers such as Spark stop at precision 38 (10^38 - 1 < 2^128 - 1). Two 64-bit
halves would need unsigned longs (Spark has none) or a sign flip, and every comparison over two
columns. So they are written as **32 lowercase hex digits, zero-padded** (``ip_start`` of
``10.0.0.0/8`` is ``00000000000000000000ffff0a000000``): a fixed width makes lexicographic
order the numeric order, so ``addr_hex BETWEEN ip_start AND ip_end`` gives the same answer in
any engine that compares strings, and the value converts back exactly (DuckDB:
``('0x' || ip_start)::UHUGEINT``). ``ip_to_hex`` gives the same text for an address. The
manifest marks these columns (``"encoding": "hex32"``, ``"canonical_type": "UHUGEINT"``).

The export is all or nothing: it is written into a temporary folder beside ``out`` and renamed
into place at the end; a failure removes the temporary folder and leaves ``out`` as it was.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import schema
from .custody import custody
from .errors import InvestigateError
from .loaders.sources import sha256_of
from .workspace import Workspace

MANIFEST = "manifest.json"
PARTITION_COLUMN = "event_date"
# The event time each event table is partitioned by (its UTC date).
PARTITION_SOURCE = {"access_events": "ts", "transfer_events": "ts_start"}
HEX_WIDTH = 32
EXPORT_FORMAT_VERSION = 1


def ip_to_hex(address: str) -> str:
    """An IPv4 or IPv6 address as the exported ``ip_start``/``ip_end`` text: its 128-bit value
    (IPv4 mapped into ``::ffff:0:0/96``, as in the workspace) in 32 zero-padded hex digits."""
    ip = ipaddress.ip_address(address)
    value = int(ip) + (0xFFFF << 32) if ip.version == 4 else int(ip)
    return f"{value:0{HEX_WIDTH}x}"


def _column_types(ws: Workspace, table: str) -> list[tuple[str, str]]:
    """The table's columns as they are in the workspace (name, DuckDB type)."""
    return [(r[0], r[1]) for r in ws.sql(f"DESCRIBE {table}").fetchall()]


def _select(ws: Workspace, table: str) -> tuple[str, dict[str, dict]]:
    """The SELECT that writes ``table``, and notes on columns whose Parquet form differs."""
    exprs, notes = [], {}
    for name, type_ in _column_types(ws, table):
        if type_ == "UHUGEINT":
            exprs.append(f"lpad(lower(hex({name})), {HEX_WIDTH}, '0') AS {name}")
            notes[name] = {"canonical_type": "UHUGEINT", "encoding": "hex32"}
        elif type_ == "JSON" or type_.startswith("ENUM"):
            exprs.append(f"CAST({name} AS VARCHAR) AS {name}")
            notes[name] = {"canonical_type": "JSON" if type_ == "JSON" else schema.column_type(table, name)}
        else:
            exprs.append(name)
    if table in PARTITION_SOURCE:
        ts = PARTITION_SOURCE[table]
        exprs.append(f"CAST(timezone('UTC', {ts}) AS DATE) AS {PARTITION_COLUMN}")
        order = f"{ts}, event_id"
    else:
        order = ", ".join(str(i + 1) for i in range(len(exprs)))
    return f"SELECT {', '.join(exprs)} FROM {table} ORDER BY {order}", notes


def _write_table(ws: Workspace, table: str, folder: Path) -> dict:
    query, notes = _select(ws, table)
    rows = ws.sql(f"SELECT count(*) FROM {table}").fetchone()[0]
    target = folder / table
    partitioned = table in PARTITION_SOURCE and rows > 0
    if partitioned:
        ws.sql(f"COPY ({query}) TO '{_quote(target)}' (FORMAT parquet, COMPRESSION zstd, "
               f"PARTITION_BY ({PARTITION_COLUMN}), FILENAME_PATTERN 'data_{{i}}')")
    else:
        target.mkdir()
        ws.sql(f"COPY ({query}) TO '{_quote(target / 'data_0.parquet')}' "
               "(FORMAT parquet, COMPRESSION zstd)")
    columns = []
    for name, type_, *_ in ws.sql(f"DESCRIBE {query}").fetchall():
        entry = {"name": name, "type": type_}
        entry.update(notes.get(name, {}))
        columns.append(entry)
    files = sorted(p for p in target.rglob("*") if p.is_file())
    return {
        "path": table,
        "rows": rows,
        "columns": columns,
        "partition_columns": [PARTITION_COLUMN] if table in PARTITION_SOURCE else [],
        "files": [{"path": p.relative_to(folder).as_posix(), "sha256": sha256_of(p),
                   "bytes": p.stat().st_size} for p in files],
    }


def _quote(path: Path) -> str:
    # COPY ... TO takes no bound parameter for its file name: the path goes in as a quoted
    # literal (the table and column names come from schema.py, never from a user).
    return str(path).replace("'", "''")


def _plain(value):
    """A custody value as JSON: None for missing, ISO 8601 UTC for times, int for counts."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def is_current(ws: Workspace, manifest_path: str | os.PathLike) -> bool:
    """Whether the export whose manifest is at ``manifest_path`` holds the workspace as it is now:
    same format, schema and toolkit versions, same inputs, and every table with the same rows."""
    from .findings import toolkit_version

    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        return (manifest["export_format_version"] == EXPORT_FORMAT_VERSION
                and manifest["schema_version"] == schema.SCHEMA_VERSION
                and manifest["toolkit_version"] == toolkit_version()
                and manifest["fingerprint"] == ws.fingerprint()
                and set(manifest["tables"]) == set(schema.ALL_TABLES)
                and all(manifest["tables"][t]["rows"] == ws.count(t) for t in schema.ALL_TABLES))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _inputs(ws: Workspace) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in custody(ws).to_dict("records")]


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InvestigateError(f"{out}: exists and is not a folder; choose another path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InvestigateError(f"{out}: the folder is not empty; choose an empty or new folder, "
                               "or replace what it holds with overwrite=True (--overwrite)")


def export(ws: Workspace, out: str | os.PathLike, *, overwrite: bool = False) -> dict:
    """Write every table of the workspace as Parquet under ``out``, with ``out/manifest.json``.

    Parameters
    ----------
    ws : Workspace
        Read only: nothing in it changes.
    out : path-like
        The folder to write. It must be new or empty, unless ``overwrite``.
    overwrite : bool
        Replace what ``out`` holds (only once the new export is complete).

    Returns
    -------
    dict
        The manifest: toolkit and schema version, export time (UTC), the workspace fingerprint,
        every input (custody), and per table its rows, columns and types, partition columns and
        files with their sha256 and size.
    """
    from .findings import toolkit_version

    out = Path(out).absolute()
    _check_out(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        tables = {table: _write_table(ws, table, tmp) for table in schema.ALL_TABLES}
        manifest = {
            "export_format_version": EXPORT_FORMAT_VERSION,
            "toolkit_version": toolkit_version(),
            "schema_version": schema.SCHEMA_VERSION,
            "exported_at": datetime.now(timezone.utc).isoformat(),
            "workspace": ws.path,
            "fingerprint": ws.fingerprint(),
            "inputs": _inputs(ws),
            "tables": tables,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        _check_out(out, overwrite)  # again: something may have appeared while we wrote
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=out.parent))
            out.rename(old / "out")
        try:
            tmp.rename(out)
        except BaseException:
            if old is not None:  # put the previous export back
                (old / "out").rename(out)
                shutil.rmtree(old, ignore_errors=True)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return manifest
