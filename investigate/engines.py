"""Where a query runs: DuckDB (a workspace, the default) or Apache Spark (an export of one).

Every function that runs library SQL (``run_query``, ``write_query``, findings, ``verify``)
takes ``engine=`` and a *source*:

- ``engine="duckdb"``: a :class:`~investigate.Workspace`;
- ``engine="spark"``: an export (the folder or URI ``investigate export`` wrote, or a
  :class:`~investigate.spark.SparkSource` opened on one), or a Workspace, which is then exported
  to ``<workspace file>.export/`` (again only when its tables have changed since) and read from
  there.

The SQL is the library's, written for DuckDB; on Spark it is transpiled (:mod:`investigate.spark`).
Results come back the same way from both: Spark's rows are collected as Arrow and read through
an in-memory DuckDB connection set to UTC, so both engines give a DataFrame of the same dtypes,
and pseudonymisation is the same SQL over either.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from .errors import InvestigateError
from .pseudonymise import wrap_sql
from .workspace import Workspace

ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"


def check_engine(engine: str | None) -> str:
    engine = (engine or DEFAULT_ENGINE).lower()
    if engine not in ENGINES:
        raise InvestigateError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    return engine


# -- sources --------------------------------------------------------------------------------

# An in-memory workspace's export: a private folder, removed with the workspace.
_memory_exports: "weakref.WeakKeyDictionary[Workspace, Path]" = weakref.WeakKeyDictionary()
# Exports opened on Spark in this process: path -> (manifest's mtime, SparkSource).
_opened_exports: dict[str, tuple] = {}


def source_for(source, engine: str):
    """The object ``engine`` runs on for ``source`` (see the module's docstring)."""
    engine = check_engine(engine)
    if engine == "duckdb":
        if not isinstance(source, Workspace):
            raise InvestigateError("engine 'duckdb' runs on a workspace (investigate.Workspace.open(path)); "
                                   f"got {type(source).__name__}: for an export, use engine='spark'")
        return source
    from .spark import SparkSource

    if isinstance(source, SparkSource):
        return source
    if isinstance(source, Workspace):
        return _exported(source)
    if isinstance(source, (str, os.PathLike)):
        return _opened(source)
    raise InvestigateError(f"engine 'spark' runs on an export (a folder or URI), a SparkSource or a "
                           f"workspace; got {type(source).__name__}")


def _opened(path):
    """The export at ``path`` opened on Spark, once per process while its manifest is unchanged
    (a notebook asks many questions of one export; opening reads every table)."""
    from .export import MANIFEST
    from .spark import SparkSource

    text = str(path)
    local = "://" not in text
    if local:
        text = str(Path(text).absolute())
        manifest = Path(text) / MANIFEST
        stamp = manifest.stat().st_mtime_ns if manifest.is_file() else None
    else:
        stamp = None  # a URI: opened once per process
    held = _opened_exports.get(text)
    if held is not None and held[0] == stamp and held[1].spark_alive():
        return held[1]
    source = SparkSource(text)
    _opened_exports[text] = (stamp, source)
    return source


def _exported(ws: Workspace):
    """The workspace's export, written (or written again) when it is missing or stale, opened
    in Spark."""
    from .export import MANIFEST, export, is_current

    if ws.path:
        folder = Path(str(ws.path) + ".export")
    else:
        folder = _memory_exports.get(ws)
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="investigate-export-")) / "export"
            weakref.finalize(ws, shutil.rmtree, folder.parent, True)
            _memory_exports[ws] = folder
    manifest = folder / MANIFEST
    if not is_current(ws, manifest):
        if folder.exists() and any(folder.iterdir()) and not manifest.is_file():
            raise InvestigateError(f"{folder}: exists and is not an export of this workspace; move it, "
                                   "or export the workspace elsewhere (investigate export) and run on that")
        try:
            export(ws, folder, overwrite=True)
        except OSError as exc:
            raise InvestigateError(f"{folder}: cannot write the workspace's export there ({exc.strerror}); "
                                   "export it elsewhere (investigate export WORKSPACE OUT) and run on "
                                   "that folder") from None
    return _opened(folder)


# -- running ----------------------------------------------------------------------------------

@dataclass
class Result:
    """A query's rows as a DataFrame, with each column's SQL type (as DuckDB names it)."""

    df: pd.DataFrame
    types: dict[str, str]


def execute(source, sql: str, params: dict, *, key=None, name: str = "query") -> Result:
    """Run library SQL (DuckDB's dialect) on ``source`` (already resolved by :func:`source_for`),
    pseudonymised with ``key`` when given."""
    if isinstance(source, Workspace):
        if key is not None:
            sql, params = wrap_sql(source.con, sql, params, key)
        cursor = source.sql(sql, params)
        return Result(cursor.df(), {d[0]: str(d[1]) for d in cursor.description})
    def fetch(con, sql, bound):
        cursor = con.execute(sql, bound)
        return Result(cursor.df(), {d[0]: str(d[1]) for d in cursor.description})

    return _from_spark(source, sql, params, key, name, fetch)


def arrow_reader(source, sql: str, params: dict, *, key=None, name: str = "query", batch_rows: int = 100_000):
    """The result as a stream of Arrow record batches. DuckDB makes them as they are read; Spark's
    result is collected on the driver first (a result larger than the driver's memory is written
    by Spark itself: ``SparkSource.frame(...).write.parquet(...)``)."""
    if isinstance(source, Workspace):
        if key is not None:
            sql, params = wrap_sql(source.con, sql, params, key)
        complete = getattr(source.con, "complete", None)
        if complete is not None:  # DuckDB 2 refuses a new streamed result while one is open
            complete()
        return source.con.sql(sql, params=params).to_arrow_reader(batch_rows)
    import pyarrow as pa

    table = _from_spark(source, sql, params, key, name,
                        lambda con, sql, bound: con.sql(sql, params=bound).to_arrow_table())
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch_rows))


def _from_spark(source, sql: str, params: dict, key, name: str, fetch):
    """Run on Spark, then read the collected Arrow rows through DuckDB (pseudonymised there when
    ``key``), so they come back exactly as a DuckDB result would; ``fetch(con, sql, params)``
    takes them."""
    from .spark.dialect import to_spark

    table = source.arrow(to_spark(sql, name), params, name)
    con = _local_duckdb()
    try:
        con.register("__spark_result", table)
        sql, bound = "SELECT * FROM __spark_result", {}
        if key is not None:
            sql, bound = wrap_sql(con, sql, bound, key)
        return fetch(con, sql, bound)
    finally:
        con.close()


def _local_duckdb() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    return con


def exists(source, sql: str, params: dict) -> bool:
    """Whether DuckDB-dialect ``sql`` returns a row on ``source``."""
    if isinstance(source, Workspace):
        return bool(source.sql(f"SELECT EXISTS ({sql})", params).fetchone()[0])
    result = execute(source, f"SELECT 1 AS found FROM ({sql}) AS q LIMIT 1", params, name="lookup")
    return len(result.df) > 0


# -- provenance ---------------------------------------------------------------------------------

def describe(source, sql: str, name: str = "query") -> dict:
    """The engine a result came from, for a finding's provenance: its name and version; on
    Spark also the sqlglot version and the sha256 of the Spark SQL that ran (``sql`` and
    ``name`` as given to :func:`execute`, whose transpiling is reused)."""
    if isinstance(source, Workspace):
        return {"name": "duckdb", "version": duckdb.__version__}
    from .spark.dialect import sqlglot_version, to_spark

    return {"name": "spark", "version": source.spark.version, "sqlglot": sqlglot_version(),
            "spark_sql_sha256": hashlib.sha256(to_spark(sql, name).encode("utf-8")).hexdigest()}


def label(engine: dict | None) -> str:
    """``DuckDB 2.0.1``, ``Spark 4.0.1 (SQL transpiled by sqlglot 30.30.0)``."""
    if not engine:
        return "DuckDB"
    if engine.get("name") == "spark":
        return f"Spark {engine.get('version')} (SQL transpiled by sqlglot {engine.get('sqlglot')})"
    return f"DuckDB {engine.get('version')}"
