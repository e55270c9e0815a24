"""Workspace: one DuckDB database holding the canonical tables and their provenance.

The workspace knows no source format and no question: loaders write into it, queries read from
it. Every connection is opened offline (no extension is ever downloaded or auto-loaded) and in
UTC, so a timestamp means the same instant on every machine.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import duckdb

from . import progress, schema
from .errors import InvestigateError, MemoryLimitError, SchemaVersionError

DEFAULT_MEMORY_LIMIT = "4GB"
# The memory limit is the budget of the whole process: DuckDB's buffer manager gets this share,
# the rest is for what DuckDB does not count (Python, the client library, I/O buffers).
ENGINE_SHARE = 0.6
# Settings taken from the environment when Workspace.open is not given them.
ENV_MEMORY_LIMIT = "INVESTIGATE_MEMORY_LIMIT"
ENV_TEMP_DIRECTORY = "INVESTIGATE_TEMP_DIRECTORY"
ENV_THREADS = "INVESTIGATE_THREADS"
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str, what: str = "memory limit") -> int:
    """``"4GB"`` -> 4_000_000_000 bytes (KB/MB/GB are powers of 10, KiB/MiB/GiB of 2)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    unit = (m.group(2).lower() if m else "") or "b"
    if not m or unit not in _UNITS:
        raise InvestigateError(f"{what} {text!r} is not a size such as 4GB or 512MiB")
    return int(float(m.group(1)) * _UNITS[unit])


def _format_size(n: int) -> str:
    return f"{n / 10**9:g}GB" if n >= 10**9 else f"{max(1, round(n / 10**6))}MB"


def settings(path: str | None = None, memory_limit: str | None = None,
             temp_directory: str | os.PathLike | None = None,
             threads: int | None = None) -> tuple[str, str | None, int | None]:
    """The memory limit, spill directory and threads a workspace opens with: each argument
    given, else its environment variable (``INVESTIGATE_MEMORY_LIMIT``,
    ``INVESTIGATE_TEMP_DIRECTORY``, ``INVESTIGATE_THREADS``), else the default: 4GB; DuckDB's
    ``<database>.tmp`` next to a workspace file, a folder of its own under the system's temp
    directory for one in memory (DuckDB's own default there is ``.tmp`` in whatever the current
    directory is); as many threads as cores. A temp directory of ``""`` turns spilling off."""
    if memory_limit is None:
        memory_limit = os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
        parse_size(memory_limit, ENV_MEMORY_LIMIT)
    else:
        parse_size(memory_limit)
    if temp_directory is None:
        temp_directory = os.environ.get(ENV_TEMP_DIRECTORY) or None
    if temp_directory is None and path is None:
        # Not created here: DuckDB makes it on the first spill and removes it when closed.
        temp_directory = os.path.join(tempfile.gettempdir(), f"investigate-{uuid.uuid4().hex[:12]}.tmp")
    if threads is None and os.environ.get(ENV_THREADS):
        text = os.environ[ENV_THREADS]
        if not text.strip().isdigit() or int(text) < 1:
            raise InvestigateError(f"{ENV_THREADS}={text!r} is not a number of threads (1 or more)")
        threads = int(text)
    return str(memory_limit), None if temp_directory is None else str(temp_directory), threads


def memory_error(exc: Exception, memory_limit: str, temp_directory: str | None,
                 doing: str) -> MemoryLimitError:
    """A DuckDB out-of-memory error as one that says which limit was hit and how to raise it."""
    said = str(exc).strip().splitlines()[0].removeprefix("Out of Memory Error: ")
    where = temp_directory or "DuckDB's default temp directory"
    if "max_temp_directory_size" in str(exc):
        return MemoryLimitError(
            f"{doing}: no disk space left to spill to: work beyond the memory limit ({memory_limit}) "
            f"spills to {where}, which may take up to 90% of the free space of its disk. Point it "
            f"to a disk with more room (Workspace.open(..., temp_directory=DIR), --temp-dir DIR "
            f"or {ENV_TEMP_DIRECTORY}=DIR) or raise the memory limit. (DuckDB: {said})")
    bigger = _format_size(max(2 * parse_size(memory_limit), 10**9))
    spill = ("spilling is off" if temp_directory == "" else
             f"work beyond that spills to {where}, but this part could not")
    return MemoryLimitError(
        f"{doing}: out of memory within the workspace's memory limit of {memory_limit} (DuckDB "
        f"gets {ENGINE_SHARE:.0%} of it; {spill}). Raise the limit, e.g. to {bigger}: "
        f'Workspace.open(..., memory_limit="{bigger}"), --memory-limit {bigger} or '
        f"{ENV_MEMORY_LIMIT}={bigger}; fewer threads ({ENV_THREADS}=1) also need less. "
        f"(DuckDB: {said})")


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
    if temp_directory is not None:
        config["temp_directory"] = temp_directory
    try:
        con = duckdb.connect(path, read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise InvestigateError(f"{path}: cannot open the workspace ({exc})") from None
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(_SESSION_MACROS)
    progress.prepare(con)  # DuckDB's progress for our bars; never a bar of DuckDB's own on stdout
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

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str | None,
                 memory_limit: str = DEFAULT_MEMORY_LIMIT, temp_directory: str | None = None):
        self.con = con
        self.path = path
        self.memory_limit = memory_limit        # as given: the whole budget, not DuckDB's share
        self.temp_directory = temp_directory    # where work beyond it spills ("" for nowhere)

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, memory_limit: str | None = None,
             threads: int | None = None, read_only: bool = False,
             temp_directory: str | os.PathLike | None = None) -> "Workspace":
        """Open (or create) a workspace.

        Parameters
        ----------
        path : path-like, optional
            The DuckDB file. ``None`` keeps everything in memory.
        memory_limit : str, optional
            The memory this workspace may use (``"4GB"``): DuckDB gets 60% of it (the rest is for
            what it does not count), and work beyond that spills to ``temp_directory``. Default:
            ``$INVESTIGATE_MEMORY_LIMIT``, else 4GB.
        threads : int, optional
            Worker threads. Default: ``$INVESTIGATE_THREADS``, else DuckDB's (all cores).
        read_only : bool
            Open an existing workspace without the right to change it.
        temp_directory : path-like, optional
            Where DuckDB spills. Default: ``$INVESTIGATE_TEMP_DIRECTORY``, else ``<file>.tmp``
            next to the database file, or for a workspace in memory a folder of its own under the
            system's temp directory (removed when the workspace is closed). ``""``: no spilling.
        """
        db = ":memory:" if path is None else str(path)
        memory_limit, temp, threads = settings(path, memory_limit, temp_directory, threads)
        if path is not None and not read_only:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        con = _connect(db, memory_limit, threads, read_only, temp)
        if temp is None:  # DuckDB's default, as it resolves it
            temp = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        ws = cls(con, None if path is None else db, memory_limit, temp)
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

    def memory_error(self, exc: Exception, doing: str) -> MemoryLimitError:
        """DuckDB's out-of-memory error ``exc`` as a :class:`MemoryLimitError` naming this
        workspace's limit and how to raise it (``doing``: what ran out, e.g. a file's path)."""
        return memory_error(exc, self.memory_limit, self.temp_directory, doing)

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
