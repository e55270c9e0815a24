"""The loader contract: one file in, one transaction, every record accounted for.

A loader only *stages* a file: it creates a temporary relation ``__staged`` whose rows carry
``__rec`` (record number), ``__reason`` (NULL, or why the record cannot load), ``__raw`` (the raw
record, for rejects) and the canonical columns of its table; optionally ``__structural`` holds
records the reader itself could not split into fields. :func:`ingest_file` does the rest the same
way for every format: hash first, skip a file already ingested, count, write the rows and the
rejects, and check ``rows_read = rows_loaded + rows_rejected``.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .. import progress, schema
from ..errors import InvestigateError, MappingError, RejectedRecordError, UnreadableInputError
from ..workspace import Workspace
from .mapping import Mapping, mapping_from
from .sources import SourceFile, head_bytes, inspect

STAGED = "__staged"
STRUCTURAL = "__structural"
MAX_REJECTS_IN_RESULT = 50


@dataclass
class StageOutput:
    """How a loader hands a file over: staged, or streamed.

    Staged (the default, ``pipeline`` None): the loader has created ``__staged`` (and maybe
    ``__structural``), which the writer reads.

    Streamed: ``pipeline(params, exclude=None, count_only=False)`` returns the SQL of the typed
    records (``__rec``, ``__reason``, ``__raw``, canonical columns), read straight from the file
    (with ``count_only``: just the records, unparsed, to count them). The writer inserts the
    good records, counts all, and only if some were not loaded runs it again restricted to
    those (``exclude`` is the SQL of the loaded record numbers, applied before any parsing) to
    collect the rejects with their reasons. Nothing the size of the file is held or spilled, so
    a file larger than the memory limit loads within it. ``cleanup`` runs when the file is done.
    """

    pipeline: object = None
    cleanup: object = None
    note: str = ""      # what the loader has to say about the file (e.g. a control total)


@dataclass
class Reject:
    record: int | None
    reason: str
    raw: str | None


@dataclass
class LoadResult:
    """What happened to one input file."""

    path: str
    format: str
    table: str | None
    sha256: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_set_apart: int = 0
    skipped: bool = False
    note: str = ""
    rejects: list[Reject] = field(default_factory=list)
    ts_min: object = None
    ts_max: object = None

    def summary(self) -> str:
        """One line, as the CLI prints it."""
        name = Path(self.path).name
        if self.skipped:
            return f"{name}: skipped ({self.note})"
        apart = f", set apart {self.rows_set_apart:,}" if self.rows_set_apart else ""
        line = (f"{name}: read {self.rows_read:,}, loaded {self.rows_loaded:,}, "
                f"rejected {self.rows_rejected:,}{apart} -> {self.table}")
        return f"{line} ({self.note})" if self.note else line


class Loader:
    """Base of every format. Subclasses set the class attributes and implement :meth:`stage`."""

    name: str = ""
    description: str = ""
    version: str = "1"
    table: str | None = None        # None: the mapping says which table
    needs_mapping: bool = False
    extensions: tuple[str, ...] = ()
    options: dict[str, str] = {}    # option name -> what it means (passed to stage as options=)

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile,
              mapping: Mapping | None) -> StageOutput | None:
        """Create ``__staged`` (and optionally ``__structural``) for one file."""
        raise NotImplementedError

    def skip_reason(self, source: SourceFile) -> str | None:
        """Why a file of this format holds no records to load (e.g. a digest), or None."""
        return None

    def sniff(self, head: str) -> int:
        """How sure (0-100) the loader is that a file starting with ``head`` is its format."""
        return 0

    def accepts(self, path: Path) -> bool:
        """Whether a file found in a directory is one this loader reads (by its name)."""
        name = path.name.lower()
        for suffix in (".gz", ".zst"):
            name = name.removesuffix(suffix)
        return any(name.endswith(ext) for ext in self.extensions)


_REGISTRY: dict[str, Loader] = {}


def register(cls: type[Loader]) -> type[Loader]:
    """Class decorator: make a loader available under its ``name``."""
    if not cls.name or cls.name in _REGISTRY:
        raise ValueError(f"loader name {cls.name!r} is empty or taken")
    _REGISTRY[cls.name] = cls()
    return cls


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def detect_format(source: SourceFile) -> tuple[Loader, str]:
    """The loader most sure of a file's first 64 KB; a clear error when none is."""
    from ..errors import UnknownFormatError

    head = head_bytes(source, 65536).decode("utf-8", errors="replace")
    scores = sorted(((loader.sniff(head), name) for name, loader in _REGISTRY.items()), reverse=True)
    if not scores or scores[0][0] < 50:
        raise UnknownFormatError(f"{source.path}: cannot tell which format this is; name it with "
                                 "--format (investigate formats lists them), or use csv/jsonl "
                                 "with a mapping")
    name = scores[0][1]
    return _REGISTRY[name], name


def get_loader(name: str) -> Loader:
    from ..errors import UnknownFormatError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFormatError(
            f"no loader for format {name!r}; known formats: auto, {', '.join(sorted(_REGISTRY))}") from None


def formats() -> dict[str, Loader]:
    """Every registered loader by format name."""
    return dict(sorted(_REGISTRY.items()))


def _already_ingested(ws: Workspace, sha: str):
    return ws.sql("SELECT path, loaded_at, format FROM ingests WHERE sha256 = ?", [sha]).fetchone()


def _drop_temps(con) -> None:
    for name, kind in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_catalog = 'temp' AND table_name LIKE '\\_\\_%' ESCAPE '\\'").fetchall():
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.main.\"{name}\"")


def _clean_duckdb_message(exc: Exception) -> str:
    full = str(exc)
    m = re.search(r"CSV Error on Line: (\d+).*?Maximum line size of (\d+) bytes exceeded\. Actual Size:(\d+)",
                  full, re.S)
    if m:
        line, limit, size = (int(g) for g in m.groups())
        return (f"line {line} is {size:,} bytes long, more than the {limit:,} bytes a record may have; "
                "nothing of the file was loaded (split the record out, or ask for the export in "
                "another layout)")
    text = full.strip().splitlines()[0]
    for prefix in ("IO Error: ", "Invalid Input Error: ", "Conversion Error: ", "Binder Error: "):
        text = text.removeprefix(prefix)
    return text


def ingest_file(ws: Workspace, path: str | os.PathLike, format: str, *, mapping=None,
                strict: bool = False, options: dict | None = None) -> LoadResult:
    """Load one file into the workspace, all or nothing.

    Parameters
    ----------
    ws : Workspace
    path : path-like
        The export. ``.gz`` and ``.zst`` are read transparently (detected from the content).
    format : str
        A registered format name (``investigate formats`` lists them).
    mapping : path, dict or Mapping, optional
        Required by the generic formats (csv, jsonl, parquet).
    strict : bool
        Stop at the first record that cannot be loaded, with an error naming ``file:record``;
        nothing of the file is loaded then.
    options : dict, optional
        Format options (e.g. ``{"fields": "..."}`` for a VPC flow log without a header line);
        ``investigate formats`` says which format takes which.

    Returns
    -------
    LoadResult
        Counts, the sha256, whether the file was skipped as already ingested, the first rejects.

    Raises
    ------
    UnreadableInputError
        Missing, unreadable or truncated file; the workspace is left as it was.
    MappingError
        The mapping is invalid or names a column the file does not have.
    """
    loader = get_loader(format) if format != "auto" else None
    mp = mapping_from(mapping, default_table=loader.table if loader else None)
    if loader is not None and loader.needs_mapping and mp is None:
        raise MappingError(f"{path}: format {format!r} needs a mapping file (--mapping FILE) that "
                           "says which source column fills which canonical column; see docs/mappings.md")
    source = inspect(path)
    display = str(source.path)
    chosen = ""
    if format == "auto":
        loader, format = detect_format(source)
        chosen = f"format auto: {format}"
    table = loader.table or mp.table
    result = LoadResult(path=display, format=format, table=table, sha256=source.sha256, note=chosen)
    skip = loader.skip_reason(source)
    if skip:
        result.skipped, result.note = True, "; ".join(filter(None, [chosen, f"not loaded: {skip}"]))
        return result
    seen = _already_ingested(ws, source.sha256)
    if seen:
        result.skipped = True
        result.note = f"already ingested (same sha256) from {seen[0]} at {seen[1]:%Y-%m-%d %H:%M:%S} UTC"
        return result

    con = ws.con
    try:
        with _load_settings(con), ws.transaction():
            # The hash goes in first: a file is on record before any of its rows.
            con.execute(
                "INSERT INTO ingests (path, sha256, bytes, format, target_table, loader_version, "
                "mapping_sha256, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [display, source.sha256, source.size, format, table, f"{format}/{loader.version}",
                 mp.sha256 if mp else None])
            if source.empty:
                result.note = _join(chosen, "empty file: no records")
            else:
                if options:
                    unknown = set(options) - set(getattr(loader, "options", {}))
                    if unknown:
                        raise InvestigateError(
                            f"format {format!r} takes no option {', '.join(sorted(unknown))}; it takes: "
                            f"{', '.join(getattr(loader, 'options', {})) or 'none'}")
                # Rows appended in this transaction come after every rowid there is now.
                last_rowid = con.execute(f"SELECT coalesce(max(rowid), -1) FROM {table}").fetchall()[0][0]
                staged = None
                try:
                    with progress.track(con, f"Reading {source.path.name}", source.size, "B"):
                        staged = (loader.stage(con, source, mp, options=options) if options
                                  else loader.stage(con, source, mp)) or StageOutput()
                    if staged.pipeline is not None:
                        _write_streamed(con, result, table, format, display, source.sha256, strict, staged,
                                        last_rowid, source.size)
                    else:
                        _write_staged(con, result, table, format, display, source.sha256, strict, last_rowid)
                finally:
                    if staged is not None and staged.cleanup:
                        staged.cleanup()
                result.note = _join(result.note, staged.note)
                if result.rows_read == 0:
                    result.note = _join(chosen, "no records")
                _locate_new_values(ws, table, last_rowid)
            con.execute(
                "UPDATE ingests SET rows_read = ?, rows_loaded = ?, rows_rejected = ?, rows_set_apart = ?, "
                "ts_min = ?, ts_max = ? WHERE sha256 = ?",
                [result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart,
                 result.ts_min, result.ts_max, source.sha256])
            _drop_temps(con)
    except InvestigateError:
        raise
    except duckdb.OutOfMemoryException as exc:  # the file is fine: the memory limit is not
        raise ws.memory_error(exc, display) from None
    except duckdb.Error as exc:
        raise UnreadableInputError(display, f"cannot be read as {format}: {_clean_duckdb_message(exc)}") from None
    return result


def _locate_new_values(ws: Workspace, table: str, last_rowid: int) -> None:
    """Look up the addresses and resources this file brings (its rows come after
    ``last_rowid``) that no earlier file did, so the enriched views know them (in the same
    transaction as the rows)."""
    from ..enrich.locate import categorise_resources, locate_addresses

    locate_addresses(ws, (table, last_rowid))
    if table == "access_events":
        categorise_resources(ws, last_rowid)


@contextmanager
def _load_settings(con):
    """Settings for the statements of one load, restored once its transaction has ended (a
    setting cannot be changed inside a transaction that failed)."""
    # Record numbers say where each record is; the order rows are staged and written in does
    # not matter, and not keeping it lets DuckDB use every core (a file read in parts, see
    # records.lines_sql, would otherwise go on one).
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute("RESET preserve_insertion_order")
        con.execute("RESET disabled_optimizers")


def _columns(table: str) -> list[str]:
    return [c for c in schema.columns(table) if c not in ("source_format", "source_file", "source_record")]


def _finish(con, result: LoadResult, table: str, format: str, display: str, sha: str,
            strict: bool, loaded: int, bad_sql: str, apart_sql: str, total: int, last_rowid: int) -> None:
    """Rejects, records set apart, counts, the contract check and the time range, the same for
    both writers. The rows this file added are those after ``last_rowid`` (an earlier version
    of a file at the same path has rows with the same source_file)."""
    first_bad = con.execute(f"SELECT * FROM ({bad_sql}) ORDER BY __rec NULLS LAST LIMIT ?",
                            [MAX_REJECTS_IN_RESULT]).fetchall()
    if strict and first_bad:
        rec, reason, _ = first_bad[0]
        raise RejectedRecordError(display, rec, reason)
    rejected = con.execute(f"INSERT INTO rejects SELECT ?, ?, __rec, __reason, __raw FROM ({bad_sql})",
                           [display, sha]).fetchone()[0]
    apart = con.execute(f"INSERT INTO set_apart SELECT ?, ?, __rec, __apart, __raw FROM ({apart_sql})",
                        [display, sha]).fetchone()[0]
    if loaded + rejected + apart != total:  # the contract itself: never drop a record silently
        raise InvestigateError(f"{display}: read {total} records but loaded {loaded}, rejected "
                               f"{rejected} and set apart {apart}; this is a bug in the {format} "
                               "loader, please report it")
    result.rows_read, result.rows_loaded, result.rows_rejected = total, loaded, rejected
    result.rows_set_apart = apart
    ts_col = "ts" if table == "access_events" else "ts_start"
    result.ts_min, result.ts_max = con.execute(
        f"SELECT min({ts_col}), max({ts_col}) FROM {table} WHERE rowid > ?", [last_rowid]).fetchone()
    result.rejects = [Reject(r, reason, raw) for r, reason, raw in first_bad]


def _structural_sql(con) -> str:
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                      [STRUCTURAL]).fetchone()[0]
    return f" UNION ALL SELECT __rec, __reason, __raw FROM {STRUCTURAL}" if has else ""


def _write_staged(con, result: LoadResult, table: str, format: str, display: str, sha: str,
                  strict: bool, last_rowid: int) -> None:
    structural = _structural_sql(con)
    total = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()[0]
    if structural:
        total += con.execute(f"SELECT count(*) FROM {STRUCTURAL}").fetchone()[0]
    bad_sql = f"SELECT __rec, __reason, __raw FROM {STAGED} WHERE __reason IS NOT NULL" + structural
    if strict:  # before anything is written
        first = con.execute(f"SELECT __rec, __reason FROM ({bad_sql}) ORDER BY __rec LIMIT 1").fetchone()
        if first:
            raise RejectedRecordError(display, *first)
    cols = ", ".join(_columns(table))
    with progress.track(con, f"Writing {Path(display).name}", total, "rows"):
        loaded = con.execute(
            f"INSERT INTO {table} ({cols}, source_format, source_file, source_record) "
            f"SELECT {cols}, ?, ?, __rec FROM {STAGED} WHERE __reason IS NULL AND __apart IS NULL",
            [format, display]).fetchone()[0]
    _finish(con, result, table, format, display, sha, strict, loaded, bad_sql,
            f"SELECT __rec, __apart, __raw FROM {STAGED} WHERE __apart IS NOT NULL", total, last_rowid)


def _used(values: dict, sql: str) -> dict:
    """The bound values a statement names (a pipeline may have prepared more than one pass uses)."""
    return {k: v for k, v in values.items() if re.search(rf"\${k}\b", sql)}


def _write_streamed(con, result: LoadResult, table: str, format: str, display: str, sha: str,
                    strict: bool, staged: StageOutput, last_rowid: int, size: int | None = None) -> None:
    from .typed import Params

    cols = ", ".join(_columns(table))
    p = Params()
    good = staged.pipeline(p)
    # Pushed down, the filter on __reason would be rewritten into the expressions behind it
    # and every field parsed and typed twice (twice the time for vpc_flow). Reset here, or by
    # _load_settings when the statement fails.
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    with progress.track(con, f"Reading {Path(display).name}", size, "B"):
        loaded = con.execute(
            f"INSERT INTO {table} ({cols}, source_format, source_file, source_record) "
            f"SELECT {cols}, $format, $file, __rec FROM ({good}) WHERE __reason IS NULL AND __apart IS NULL",
            {**p.values, "format": format, "file": display}).fetchone()[0]
    con.execute("RESET disabled_optimizers")
    # Counting the records is a scan without parsing; only when some were not loaded does a
    # second pass parse those, and only those, for their reasons.
    pc = Params()
    counting = staged.pipeline(pc, count_only=True)
    total = con.execute(f"SELECT count(*) FROM ({counting})", _used(pc.values, counting)).fetchone()[0]
    structural = _structural_sql(con)
    if structural:
        total += con.execute(f"SELECT count(*) FROM {STRUCTURAL}").fetchone()[0]
    p2 = Params()
    if total > loaded:
        loaded_recs = f"SELECT source_record FROM {table} WHERE rowid > {p2.add(last_rowid, 'BIGINT')}"
        rest = f"SELECT __rec, __reason, __apart, __raw FROM ({staged.pipeline(p2, loaded_recs)})"
    else:
        rest = "SELECT NULL::BIGINT AS __rec, NULL AS __reason, NULL AS __apart, NULL AS __raw WHERE false"
    con.execute(f"CREATE TEMP TABLE __rest AS {rest}", _used(p2.values, rest))
    _finish(con, result, table, format, display, sha, strict, loaded,
            "SELECT __rec, __reason, __raw FROM __rest WHERE __reason IS NOT NULL" + structural,
            "SELECT __rec, __apart, __raw FROM __rest WHERE __apart IS NOT NULL", total, last_rowid)


def expand_paths(paths, loader: Loader | None) -> list[tuple[Path, bool]]:
    """Files named directly, plus files below named directories that the loader accepts (with
    no loader, as for ``--format auto``: every file but hidden ones); each with whether it was
    found in a directory."""
    out: list[tuple[Path, bool]] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend((f, True) for f in sorted(p.rglob("*")) if f.is_file()
                       and not f.name.startswith(".") and (loader is None or loader.accepts(f)))
        else:
            out.append((p, False))
    return out


def iter_ingest(ws: Workspace, paths, format: str, *, mapping=None, strict: bool = False,
                options: dict | None = None):
    """Load files and directories one by one, yielding ``(path, result, error)`` for each.

    With ``format="auto"``, a file found in a directory that no format recognises is skipped
    with a note (a folder of exports often holds a README or a manifest); a file named directly
    is an error.
    """
    from ..errors import UnknownFormatError

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loader = None if format == "auto" else get_loader(format)
    for path, from_dir in expand_paths(paths, loader):
        try:
            yield path, ingest_file(ws, path, format, mapping=mapping, strict=strict, options=options), None
        except UnknownFormatError as exc:
            if not from_dir:
                yield path, None, exc
                continue
            yield path, LoadResult(path=str(path.absolute()), format="auto", table=None, sha256="",
                                   skipped=True, note="format not recognised"), None
        except InvestigateError as exc:
            yield path, None, exc


def ingest(ws: Workspace, paths, format: str, *, mapping=None, strict: bool = False,
           options: dict | None = None) -> list[LoadResult]:
    """Load several files (and directories) with one format; see :func:`ingest_file`.

    Stops at the first file that cannot be read (the files before it stay loaded); the CLI
    goes on to the next file instead and reports each.
    """
    results = []
    for _, result, error in iter_ingest(ws, paths, format, mapping=mapping, strict=strict, options=options):
        if error is not None:
            raise error
        results.append(result)
    return results
