"""Workspace: one DuckDB database holding the canonical tables and their provenance.

The workspace knows no source format and no question: loaders write into it, queries read from
it. Every connection is opened offline (no extension is ever downloaded or auto-loaded) and in
UTC, so a timestamp means the same instant on every machine.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import schema
from .errors import InvestigateError, SchemaVersionError

DEFAULT_MEMORY_LIMIT = "4GB"
# The memory limit is the budget of the whole process: DuckDB's buffer manager gets this share,
# the rest is for what DuckDB does not count (Python, the client library, I/O buffers).
ENGINE_SHARE = 0.6
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """``"4GB"`` -> 4_000_000_000 bytes (KB/MB/GB are powers of 10, KiB/MiB/GiB of 2)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    unit = (m.group(2).lower() if m else "") or "b"
    if not m or unit not in _UNITS:
        raise InvestigateError(f"memory limit {text!r} is not a size such as 4GB or 512MiB")
    return int(float(m.group(1)) * _UNITS[unit])


# SQL helpers every connection has. ip_text(x): x when it is an IPv4 or IPv6 address, else NULL
# (the loaders keep a host name or junk found in an address field out of the address columns).
_SESSION_MACROS = r"""CREATE OR REPLACE TEMP MACRO ip_text(v) AS
    CASE WHEN regexp_full_match(v, '((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])')
           OR (regexp_full_match(v, '[0-9A-Fa-f:.]+') AND length(v) - length(replace(v, ':', '')) >= 2)
         THEN v END"""


def _connect(path: str, memory_limit: str, threads: int | None, read_only: bool,
             temp_directory: str | None) -> duckdb.DuckDBPyConnection:
    config = {
        # Offline always: DuckDB would otherwise try to download extensions it does not have.
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "memory_limit": f"{int(parse_size(memory_limit) * ENGINE_SHARE) // 2**20}MiB",
    }
    if threads:
        config["threads"] = int(threads)
    if temp_directory:
        config["temp_directory"] = temp_directory
    try:
        con = duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise InvestigateError(f"{path}: cannot open the workspace ({exc})") from None
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(_SESSION_MACROS)
    # No progress bar on stdout: it would mix with the CLI's output. (In a Jupyter kernel
    # DuckDB refuses to change the setting at all without ipywidgets; it is left as it is there.)
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:
        pass
    return con


class Workspace:
    """One investigation's DuckDB database: canonical tables, rejects and input provenance.

    Open it with :meth:`open`; use it as a context manager to close it.

    Examples
    --------
    >>> ws = Workspace.open()               # in memory
    >>> ws.sql("SELECT count(*) FROM access_events").fetchone()
    (0,)
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str | None):
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, memory_limit: str = DEFAULT_MEMORY_LIMIT,
             threads: int | None = None, read_only: bool = False,
             temp_directory: str | os.PathLike | None = None) -> "Workspace":
        """Open (or create) a workspace.

        Parameters
        ----------
        path : path-like, optional
            The DuckDB file. ``None`` keeps everything in memory.
        memory_limit : str
            The memory this workspace may use (``"4GB"``): DuckDB gets 60% of it (the rest is for
            what it does not count), and work beyond that spills to ``temp_directory``.
        threads : int, optional
            Worker threads; DuckDB's default (all cores) when omitted.
        read_only : bool
            Open an existing workspace without the right to change it.
        temp_directory : path-like, optional
            Where DuckDB spills; next to the database file by default.
        """
        db = ":memory:" if path is None else str(path)
        if path is not None and not read_only:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        con = _connect(db, memory_limit, threads, read_only,
                       None if temp_directory is None else str(temp_directory))
        ws = cls(con, None if path is None else db)
        ws._check_or_create_schema(read_only)
        return ws

    def _check_or_create_schema(self, read_only: bool) -> None:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'workspace_meta'"
        ).fetchone()[0]
        if has_meta:
            row = self.con.execute(
                "SELECT value FROM workspace_meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row else None
            if found != schema.SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path}: this workspace was made with schema version {found}, and this "
                    f"version of investigate uses version {schema.SCHEMA_VERSION}. Make a new "
                    "workspace and ingest the same files again (the inputs are listed in its "
                    "'ingests' table).")
            return
        if read_only:
            raise InvestigateError(f"{self.path}: not an investigate workspace")
        other = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'").fetchone()[0]
        if other:
            raise InvestigateError(
                f"{self.path}: this DuckDB file holds other tables and is not an investigate "
                "workspace; choose another path")
        with self.transaction():
            self.con.execute("CREATE TABLE workspace_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute("INSERT INTO workspace_meta VALUES ('schema_version', ?)",
                             [str(schema.SCHEMA_VERSION)])
            for statement in schema.create_statements():
                self.con.execute(statement)
            from .enrich.views import refresh  # here: enrich builds on this module

            refresh(self)  # the enriched views exist from the start, empty until data arrives

    # -- running SQL -------------------------------------------------------------------------

    def sql(self, query: str, params: dict | list | None = None) -> duckdb.DuckDBPyConnection:
        """Run one statement with bound parameters; returns the cursor (``.df()``, ``.fetchall()``)."""
        return self.con.execute(query, params) if params else self.con.execute(query)

    def df(self, query: str, params: dict | list | None = None):
        """Run a query and return a pandas DataFrame."""
        return self.sql(query, params).df()

    def table(self, name: str):
        """A canonical table as a DataFrame (small tables only: use :meth:`sql` for big ones)."""
        if name not in schema.ALL_TABLES:
            raise InvestigateError(f"no table {name!r}; tables are: {', '.join(schema.ALL_TABLES)}")
        return self.con.execute(f"SELECT * FROM {name}").df()

    def count(self, table: str) -> int:
        if table not in schema.ALL_TABLES:
            raise InvestigateError(f"no table {table!r}")
        return self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    @contextmanager
    def transaction(self):
        """All or nothing: commit on success, roll back on any exception."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- provenance --------------------------------------------------------------------------

    def fingerprint(self) -> list[dict]:
        """Every input that shaped the tables: ingested files and reference files, with hashes.

        Sorted by hash, so the same inputs give the same fingerprint whatever the load order.
        """
        rows = self.con.execute("""
            SELECT 'ingest' AS kind, path, sha256 FROM ingests
            UNION ALL
            SELECT 'reference:' || kind, path, sha256 FROM reference_sources
            ORDER BY sha256, kind
        """).fetchall()
        return [{"kind": k, "path": p, "sha256": h} for k, p, h in rows]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.path or ':memory:'})"
