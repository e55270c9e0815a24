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
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from .. import progress, schema
from ..errors import InvestigateError, MappingError, RejectedRecordError, UnreadableInputError
from ..workspace import Workspace
from .mapping import Mapping, mapping_from
from .records import MIN_PART_BYTES
from .sources import SourceFile, head_bytes, inspect, sha256_of

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
    archive_sha256: str | None = None   # a member's: the sha256 of the archive it came from

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
    batch: bool = False             # whether stage_batch() can load several files at once

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile,
              mapping: Mapping | None) -> StageOutput | None:
        """Create ``__staged`` (and optionally ``__structural``) for one file."""
        raise NotImplementedError

    def stage_batch(self, con: duckdb.DuckDBPyConnection, sources: list[SourceFile],
                    mapping: Mapping | None) -> StageOutput:
        """Stream several files as one (loaders with ``batch``): like :meth:`stage`, but the
        pipeline's rows carry ``__file``, the file's number in ``sources`` from 1."""
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
        An archive (``.zip``, ``.tar``, ``.tar.gz``; see :mod:`.archives`) loads member by
        member, each all or nothing, stopping at the first that fails; the result sums them
        (:func:`ingest` gives each member's).
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
    from . import archives

    if archives.kind_of(path):  # its members, one by one; one result for them all
        return archives.combined(path, ingest(ws, path, format, mapping=mapping, strict=strict, options=options))
    mp = _mapping_for(path, format, mapping)
    item = _prepare(ws, path, format, mp)
    if not item.result.skipped:
        _load(ws, [item], mp, strict=strict, options=options)
    return item.result


def _mapping_for(path, format: str, mapping) -> Mapping | None:
    loader = get_loader(format) if format != "auto" else None
    mp = mapping_from(mapping, default_table=loader.table if loader else None)
    if loader is not None and loader.needs_mapping and mp is None:
        raise MappingError(f"{path}: format {format!r} needs a mapping file (--mapping FILE) that "
                           "says which source column fills which canonical column; see docs/mappings.md")
    return mp


@dataclass
class _Item:
    """A file hashed and checked, ready to load (or skipped: ``result.skipped``)."""

    source: SourceFile
    loader: Loader
    result: LoadResult
    chosen: str = ""    # "format auto: <name>" when the format was detected

    @property
    def display(self) -> str:
        return self.result.path


def _prepare(ws: Workspace, path, format: str, mp: Mapping | None, display: str | None = None) -> _Item:
    """Hash the file, tell its format, and skip it when it holds nothing to load or is in the
    workspace already. ``display``: the path recorded for it, when not its own (an archive
    member's private copy is recorded as ``<archive>!<member>``)."""
    source = inspect(path)
    chosen = ""
    if format == "auto":
        loader, format = detect_format(source)
        chosen = f"format auto: {format}"
    else:
        loader = get_loader(format)
    table = loader.table or mp.table
    item = _Item(source, loader, LoadResult(path=display or str(source.path), format=format, table=table,
                                            sha256=source.sha256, note=chosen), chosen)
    skip = loader.skip_reason(source)
    if skip:
        item.result.skipped, item.result.note = True, _join(chosen, f"not loaded: {skip}")
        return item
    _skip_if_ingested(ws, item)
    return item


def _skip_if_ingested(ws: Workspace, item: _Item) -> None:
    """Mark ``item`` skipped when a file with its sha256 is in the workspace already."""
    seen = ws.sql("SELECT path, loaded_at FROM ingests WHERE sha256 = ?", [item.source.sha256]).fetchone()
    if seen:
        item.result.skipped = True
        item.result.note = f"already ingested (same sha256) from {seen[0]} at {seen[1]:%Y-%m-%d %H:%M:%S} UTC"


def _load(ws: Workspace, items: list[_Item], mp: Mapping | None, *, strict: bool,
          options: dict | None) -> None:
    """Load files of one format in one transaction: one file, or a batch of small ones (read,
    typed and written by one statement; see :func:`iter_ingest`). All or nothing."""
    loader, format, table = items[0].loader, items[0].result.format, items[0].result.table
    sources = [it.source for it in items]
    con = ws.con
    try:
        with _load_settings(con), ws.transaction():
            # The hashes go in first: a file is on record before any of its rows.
            con.execute(
                "INSERT INTO ingests (path, sha256, bytes, format, target_table, loader_version, "
                "mapping_sha256, loaded_at) SELECT unnest($paths), unnest($shas), unnest($sizes), $format, "
                "$table, $version, $mapping, now()",
                {"paths": [it.display for it in items], "shas": [s.sha256 for s in sources],
                 "sizes": [s.size for s in sources], "format": format, "table": table,
                 "version": f"{format}/{loader.version}", "mapping": mp.sha256 if mp else None})
            if len(items) == 1 and sources[0].empty:
                items[0].result.note = _join(items[0].result.note, "empty file: no records")
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
                name = sources[0].path.name if len(items) == 1 else f"{len(items)} {format} files"
                size = sum(s.size for s in sources)
                try:
                    with progress.track(con, f"Reading {name}", size, "B"):
                        stage = loader.stage if len(items) == 1 else loader.stage_batch
                        arg = sources[0] if len(items) == 1 else sources
                        staged = (stage(con, arg, mp, options=options) if options
                                  else stage(con, arg, mp)) or StageOutput()
                    if staged.pipeline is not None:
                        _write_streamed(con, items, table, strict, staged, last_rowid, size)
                    else:
                        _write_staged(con, items[0], table, strict, last_rowid)
                finally:
                    if staged is not None and staged.cleanup:
                        staged.cleanup()
                for it in items:
                    it.result.note = _join(it.result.note, staged.note)
                    if it.result.rows_read == 0:
                        it.result.note = _join(it.chosen, "no records")
                _locate_new_values(ws, table, last_rowid)
            checked_at = _check_unchanged(items)
            con.execute(
                "UPDATE ingests SET rows_read = u.rows_read, rows_loaded = u.rows_loaded, "
                "rows_rejected = u.rows_rejected, rows_set_apart = u.rows_set_apart, ts_min = u.ts_min, "
                "ts_max = u.ts_max, checked_at = $checked "
                "FROM (SELECT unnest($shas) AS sha256, unnest($read) AS rows_read, "
                "unnest($loaded) AS rows_loaded, unnest($rejected) AS rows_rejected, "
                "unnest($apart) AS rows_set_apart, unnest($ts_min::TIMESTAMPTZ[]) AS ts_min, "
                "unnest($ts_max::TIMESTAMPTZ[]) AS ts_max) AS u WHERE ingests.sha256 = u.sha256",
                {"shas": [s.sha256 for s in sources], "read": [it.result.rows_read for it in items],
                 "loaded": [it.result.rows_loaded for it in items],
                 "rejected": [it.result.rows_rejected for it in items],
                 "apart": [it.result.rows_set_apart for it in items],
                 "ts_min": [it.result.ts_min for it in items], "ts_max": [it.result.ts_max for it in items],
                 "checked": checked_at})
            _drop_temps(con)
    except InvestigateError:
        raise
    except duckdb.OutOfMemoryException as exc:  # the file is fine: the memory limit is not
        raise ws.memory_error(exc, items[0].display if len(items) == 1 else f"{len(items)} files") from None
    except duckdb.Error as exc:
        what = items[0].display if len(items) == 1 else f"one of {len(items)} files"
        raise UnreadableInputError(what, f"cannot be read as {format}: {_clean_duckdb_message(exc)}") from None


def _check_unchanged(items: list[_Item]) -> datetime:
    """Chain of custody: each file's sha256 again, now that its rows are written. DuckDB read
    the file itself, after it was hashed; a file that changed in between (an export still being
    written, a sync tool replacing it) is refused, and its transaction rolled back."""
    for it in items:
        try:
            after = sha256_of(it.source.path)
        except OSError as exc:
            raise UnreadableInputError(it.display, f"could not be read again after loading ({exc.strerror}); "
                                                   "nothing of it was loaded") from None
        if after != it.source.sha256:
            raise UnreadableInputError(
                it.display, f"changed while it was being loaded (sha256 {it.source.sha256[:16]}... before, "
                            f"{after[:16]}... after); nothing of it was loaded. Load it again once "
                            "nothing is writing to it.")
    return datetime.now(timezone.utc)


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


def _finish(con, items: list[_Item], table: str, strict: bool, loaded: dict[int, int], bad_sql: str,
            apart_sql: str, totals: dict[int, int], last_rowid: int) -> None:
    """Rejects, records set apart, counts, the contract check and the time range, the same for
    both writers and for every file of a batch (``__file`` in ``bad_sql``/``apart_sql``, the
    keys of ``loaded``/``totals``: the file's number, from 1). The rows these files added are
    those after ``last_rowid`` (an earlier version of a file at the same path has rows with the
    same source_file)."""
    format = items[0].result.format
    first_bad = con.execute(
        f"SELECT __file, __rec, __reason, __raw FROM ({bad_sql}) "
        f"QUALIFY row_number() OVER (PARTITION BY __file ORDER BY __rec NULLS LAST) <= ? "
        f"ORDER BY __file, __rec NULLS LAST", [MAX_REJECTS_IN_RESULT]).fetchall()
    if strict and first_bad:
        no, rec, reason, _ = first_bad[0]
        raise RejectedRecordError(items[no - 1].display, rec, reason)
    by_file = {"files": [it.display for it in items], "shas": [it.source.sha256 for it in items]}
    con.execute(f"INSERT INTO rejects SELECT $files[__file], $shas[__file], __rec, __reason, __raw "
                f"FROM ({bad_sql})", by_file)
    con.execute(f"INSERT INTO set_apart SELECT $files[__file], $shas[__file], __rec, __apart, __raw "
                f"FROM ({apart_sql})", by_file)
    rejected = dict(con.execute(f"SELECT __file, count(*) FROM ({bad_sql}) GROUP BY ALL").fetchall())
    apart = dict(con.execute(f"SELECT __file, count(*) FROM ({apart_sql}) GROUP BY ALL").fetchall())
    ts_col = "ts" if table == "access_events" else "ts_start"
    ranges = {f: (lo, hi) for f, lo, hi in con.execute(
        f"SELECT source_file, min({ts_col}), max({ts_col}) FROM {table} WHERE rowid > ? GROUP BY ALL",
        [last_rowid]).fetchall()}
    for no, it in enumerate(items, start=1):
        r = it.result
        r.rows_read, r.rows_loaded = totals.get(no, 0), loaded.get(no, 0)
        r.rows_rejected, r.rows_set_apart = rejected.get(no, 0), apart.get(no, 0)
        if r.rows_loaded + r.rows_rejected + r.rows_set_apart != r.rows_read:
            # The contract itself: never drop a record silently.
            raise InvestigateError(f"{it.display}: read {r.rows_read} records but loaded {r.rows_loaded}, "
                                   f"rejected {r.rows_rejected} and set apart {r.rows_set_apart}; this is "
                                   f"a bug in the {format} loader, please report it")
        r.ts_min, r.ts_max = ranges.get(it.display, (None, None))
        r.rejects = [Reject(rec, reason, raw) for f, rec, reason, raw in first_bad if f == no]


def _structural_sql(con) -> str:
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                      [STRUCTURAL]).fetchone()[0]
    return f" UNION ALL SELECT __file, __rec, __reason, __raw FROM {STRUCTURAL}" if has else ""


def _write_staged(con, item: _Item, table: str, strict: bool, last_rowid: int) -> None:
    format, display = item.result.format, item.display
    structural = _structural_sql(con)
    total = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()[0]
    if structural:
        total += con.execute(f"SELECT count(*) FROM {STRUCTURAL}").fetchone()[0]
    bad_sql = f"SELECT 1 AS __file, __rec, __reason, __raw FROM {STAGED} WHERE __reason IS NOT NULL" + structural
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
    _finish(con, [item], table, strict, {1: loaded}, bad_sql,
            f"SELECT 1 AS __file, __rec, __apart, __raw FROM {STAGED} WHERE __apart IS NOT NULL",
            {1: total}, last_rowid)


def _used(values: dict, sql: str) -> dict:
    """The bound values a statement names (a pipeline may have prepared more than one pass uses)."""
    return {k: v for k, v in values.items() if re.search(rf"\${k}\b", sql)}


def _write_streamed(con, items: list[_Item], table: str, strict: bool, staged: StageOutput,
                    last_rowid: int, size: int | None = None) -> None:
    """Write the good records of one file or a batch straight from the pipeline, then count and
    collect the rest (see :class:`StageOutput`)."""
    from .typed import Params

    files = [it.display for it in items]
    cols = ", ".join(_columns(table))
    p = Params()
    good = staged.pipeline(p)
    # Pushed down, the filter on __reason would be rewritten into the expressions behind it
    # and every field parsed and typed twice (twice the time for vpc_flow). Reset here, or by
    # _load_settings when the statement fails.
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    name = Path(files[0]).name if len(files) == 1 else f"{len(files)} files"
    with progress.track(con, f"Reading {name}", size, "B"):
        inserted = con.execute(
            f"INSERT INTO {table} ({cols}, source_format, source_file, source_record) "
            f"SELECT {cols}, $format, $files[__file], __rec FROM ({good}) "
            f"WHERE __reason IS NULL AND __apart IS NULL",
            {**p.values, "format": items[0].result.format, "files": files}).fetchone()[0]
    con.execute("RESET disabled_optimizers")
    if len(files) == 1:
        loaded = {1: inserted}
    else:
        by_path = dict(con.execute(f"SELECT source_file, count(*) FROM {table} WHERE rowid > ? GROUP BY ALL",
                                   [last_rowid]).fetchall())
        loaded = {no: by_path.get(f, 0) for no, f in enumerate(files, start=1)}
    # Counting the records is a scan without parsing; only when some were not loaded does a
    # second pass parse those, and only those, for their reasons.
    pc = Params()
    counting = staged.pipeline(pc, count_only=True)
    totals = dict(con.execute(f"SELECT __file, count(*) FROM ({counting}) GROUP BY ALL",
                              _used(pc.values, counting)).fetchall())
    structural = _structural_sql(con)
    if structural:
        for no, n in con.execute(f"SELECT __file, count(*) FROM {STRUCTURAL} GROUP BY ALL").fetchall():
            totals[no] = totals.get(no, 0) + n
    p2 = Params()
    short = [no for no in range(1, len(files) + 1) if totals.get(no, 0) > loaded[no]]
    if short:
        # Each file's second pass leaves out the records it loaded (its rows after last_rowid).
        first = p2.add(last_rowid, "BIGINT")
        exclude = {no: f"SELECT source_record FROM {table} WHERE rowid > {first} "
                       f"AND source_file = {p2.add(files[no - 1], 'VARCHAR')}" for no in short}
        rest = f"SELECT __file, __rec, __reason, __apart, __raw FROM ({staged.pipeline(p2, exclude)})"
    else:
        rest = ("SELECT NULL::INTEGER AS __file, NULL::BIGINT AS __rec, NULL AS __reason, NULL AS __apart, "
                "NULL AS __raw WHERE false")
    con.execute(f"CREATE TEMP TABLE __rest AS {rest}", _used(p2.values, rest))
    _finish(con, items, table, strict, loaded,
            "SELECT __file, __rec, __reason, __raw FROM __rest WHERE __reason IS NOT NULL" + structural,
            "SELECT __file, __rec, __apart, __raw FROM __rest WHERE __apart IS NOT NULL", totals, last_rowid)


def expand_paths(paths, loader: Loader | None) -> list[tuple[Path, bool]]:
    """Files named directly, plus files below named directories that the loader accepts or
    that are named like archives (with no loader, as for ``--format auto``: every file but
    hidden ones); each with whether it was found in a directory."""
    from .archives import archive_name

    out: list[tuple[Path, bool]] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend((f, True) for f in sorted(p.rglob("*")) if f.is_file()
                       and not f.name.startswith(".")
                       and (loader is None or loader.accepts(f) or archive_name(f)))
        else:
            out.append((p, False))
    return out


# Small files of a format that can (Loader.batch) are loaded together: one statement reads,
# types and writes them all, planned once, in one transaction. Every file costs about 100 ms
# otherwise, whatever its size (planning the statement, looking up new values, committing):
# CloudTrail and flow logs come as thousands of small files. A file large enough to be read
# in parts (records.MIN_PART_BYTES) goes on its own.
BATCH_FILES = 500
BATCH_BYTES = 64 * 1024 * 1024


def _batchable(item: _Item) -> bool:
    return (item.loader.batch and not item.result.skipped and not item.source.empty
            and item.source.content_bytes < 2 * MIN_PART_BYTES)


def iter_ingest(ws: Workspace, paths, format: str, *, mapping=None, strict: bool = False,
                options: dict | None = None):
    """Load files and directories, yielding ``(path, result, error)`` for each, in order.

    Each file is all or nothing. Consecutive small files of a format that allows it are loaded
    as a batch, in one transaction; if the batch fails, its files are loaded again one by one,
    so the file at fault gets its own error and the others load.

    With ``format="auto"``, a file found in a directory that no format recognises is skipped
    with a note (a folder of exports often holds a README or a manifest); a file named directly
    is an error.

    An archive (``.zip``, ``.tar``, ``.tar.gz``, known by its content) is like a directory: its
    members load one by one as files found in it (path ``<archive>!<member>``), each from a
    private copy removed once it is loaded; members that are not files, or not of the format,
    are skipped with a note; an archive that cannot be read is an error for the archive (see
    :mod:`.archives`).
    """
    from ..errors import UnknownFormatError
    from . import archives

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    loader = None if format == "auto" else get_loader(format)
    found = expand_paths(paths, loader)
    try:
        mp = _mapping_for(found[0][0] if found else "", format, mapping)
    except InvestigateError as exc:
        for path, _ in found:
            yield path, None, exc
        return
    pending: list[tuple[Path, _Item]] = []

    def load_one(path: Path, item: _Item):
        try:
            if not item.result.skipped:
                _load(ws, [item], mp, strict=strict, options=options)
            return path, item.result, None
        except InvestigateError as exc:
            return path, None, exc

    def flush():
        batch = pending[:]
        pending.clear()
        if len(batch) > 1:
            try:
                _load(ws, [it for _, it in batch], mp, strict=strict, options=options)
            except InvestigateError:
                # Rolled back: each file on its own, prepared afresh (the batch may have
                # counted some of them), so the one at fault gets its own error.
                for path, it in batch:
                    try:
                        item = _prepare(ws, path, format, mp, it.display)
                    except InvestigateError as exc:
                        yield path, None, exc
                        continue
                    yield load_one(path, item)
                return
            for path, item in batch:
                yield path, item.result, None
        elif batch:
            yield load_one(*batch[0])

    def add(path: Path, from_dir: bool, display: str | None = None):
        try:
            item = _prepare(ws, path, format, mp, display)
        except UnknownFormatError as exc:
            yield from flush()
            if not from_dir:
                yield path, None, exc
                return
            yield path, LoadResult(path=display or str(path.absolute()), format="auto", table=None,
                                   sha256="", skipped=True, note="format not recognised"), None
            return
        except InvestigateError as exc:
            yield from flush()
            yield path, None, exc
            return
        duplicate = any(it.source.sha256 == item.source.sha256 for _, it in pending)
        if pending and (duplicate or not _batchable(item) or item.loader is not pending[0][1].loader
                        or len(pending) >= BATCH_FILES
                        or sum(it.source.content_bytes for _, it in pending) + item.source.content_bytes > BATCH_BYTES):
            yield from flush()
            if duplicate:  # a copy of a file in the batch just loaded: skipped now
                _skip_if_ingested(ws, item)
        if _batchable(item):
            pending.append((path, item))
        else:
            yield load_one(path, item)

    copies: dict[str, str] = {}     # an archive member's private copy -> its display path

    def named(triples, arc):
        """Results and errors of archive members, named as in the archive, not as their copy."""
        for path, result, error in triples:
            display = copies.get(str(path))
            if display is not None:
                if result is not None:
                    result.note = _join(result.note, arc.note)
                    result.archive_sha256 = arc.sha256
                if error is not None:
                    error = archives.renamed(error, str(path), display)
                path = Path(display)
            yield path, result, error

    for path, from_dir in found:
        kind = archives.kind_of(path)
        if kind is None:
            yield from add(path, from_dir)
            continue
        try:
            arc = archives.Archive(path, kind).open()
        except InvestigateError as exc:
            yield from flush()
            yield path, None, exc
            continue
        failure, count, members = None, 0, arc.members(loader)
        try:
            try:
                for m in members:
                    count += 1
                    if m.path is not None:
                        copies[str(m.path)] = m.display
                        yield from named(add(m.path, True, m.display), arc)
                    else:
                        yield from named(flush(), arc)
                        if m.error is not None:
                            yield Path(m.display), None, m.error
                        else:
                            yield Path(m.display), LoadResult(
                                path=m.display, format=format, table=None, sha256="", skipped=True,
                                note=_join(m.note, arc.note), archive_sha256=arc.sha256), None
                    arc.prune(keep=[p for p, _ in pending])
            except InvestigateError as exc:  # the archive cannot be read past some point
                failure = exc
            # Its members' copies go with it: whatever of them waits in a batch loads now.
            yield from named(flush(), arc)
        finally:
            members.close()
            arc.close()
        if failure is not None:
            yield path, None, failure
        elif count == 0:
            yield path, LoadResult(path=str(arc.path), format=format, table=None, sha256=arc.sha256,
                                   skipped=True, note=f"a {kind} archive with no files in it"), None
    yield from flush()


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
