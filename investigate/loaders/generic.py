"""Generic loaders for what a SIEM or a spreadsheet exports: CSV, JSON Lines, Parquet.

Each needs a mapping (see :mod:`investigate.loaders.mapping`). The files are read by DuckDB
itself, streaming; fields are read as text and typed by :mod:`investigate.loaders.typed`, so a
value that does not fit is a reject with a reason rather than a failed load or a silent NULL.

Record numbers (``source_record``): CSV, the data row counting every row of the file, good or
bad, header excluded (record *n* is on line *n + 1* unless a quoted field spans lines); JSON
Lines, the line number (blank lines are not records but keep their number); Parquet, the row
number in the file, from 1.
"""

from __future__ import annotations

import json

from ..errors import MappingError
from .base import STAGED, STRUCTURAL, Loader, StageOutput, register
from .mapping import Mapping, check_expression
from .native import json_records
from .sources import SourceFile, header_fields
from .records import MAX_LINE_BYTES
from .typed import Params, build_select, quote_ident



def _check_expressions(con, mapping: Mapping) -> None:
    for col, src in mapping.columns.items():
        if src.expr is not None:
            check_expression(con, mapping.origin, col, src.expr)


def _resolve_columns(mapping: Mapping, available: list[str], source: SourceFile,
                     hint: str = "") -> dict[str, str]:
    """Match the mapping's source column names to the file's: exact first, then ignoring case."""
    by_lower: dict[str, list[str]] = {}
    for name in available:
        by_lower.setdefault(name.lower(), []).append(name)
    resolved = {}
    for canonical, src in mapping.columns.items():
        if src.path is not None:
            raise MappingError(f"{mapping.origin}: columns.{canonical}: JSON paths ({src.path!r}) "
                               "only apply to JSON Lines; name a column instead")
        if src.column is None:
            continue
        if src.column in available:
            resolved[src.column] = src.column
        elif len(by_lower.get(src.column.lower(), [])) == 1:
            resolved[src.column] = by_lower[src.column.lower()][0]
        else:
            shown = ", ".join(available[:40]) + (" ..." if len(available) > 40 else "")
            raise MappingError(
                f"{source.path}: the mapping {mapping.origin} reads column {src.column!r} for "
                f"{canonical}, which the file does not have. The file's columns are: {shown}.{hint}")
    return resolved


def _unique_names(fields: list[str]) -> list[str]:
    """Header names made usable: blanks get a position name, repeats a numeric suffix."""
    names: list[str] = []
    for i, name in enumerate(fields, start=1):
        base = name.strip() or f"column{i}"
        candidate, n = base, 2
        while candidate.lower() in (x.lower() for x in names):
            candidate, n = f"{base}_{n}", n + 1
        names.append(candidate)
    return names


def _json_object_sql(names: list[str], p: Params, value=lambda n: quote_ident(n)) -> str:
    if not names:
        return "NULL"
    return "json_object(" + ", ".join(f"{p.add(n, 'VARCHAR')}, {value(n)}" for n in names) + ")"


@register
class CsvLoader(Loader):
    name = "csv"
    description = "Delimited text with a header row (any delimiter, any column order), via a mapping"
    needs_mapping = True
    extensions = (".csv", ".tsv", ".txt")

    def _reader(self, source: SourceFile, mapping: Mapping, p: Params) -> tuple[str, list[str]]:
        """The read_csv call (no sniffing: dialect and header are ours) and the column names."""
        quote = '"' if mapping.quote is None else mapping.quote
        delim, fields = header_fields(source, mapping.delimiter, quote)
        if mapping.header:
            names = _unique_names(fields)
        else:
            names = [f"column{i}" for i in range(1, len(fields) + 1)]
        columns = p.add(dict.fromkeys(names, "VARCHAR"))
        opts = {"header": mapping.header, "compression": source.compression,
                "encoding": mapping.encoding or source.encoding, "max_line_size": MAX_LINE_BYTES,
                "delim": delim, "quote": quote, "escape": mapping.escape or quote}
        if source.longest_line >= MAX_LINE_BYTES:
            # DuckDB 2.0.1's parallel reader drops a line longer than its buffers without a
            # word; read on one thread, it reports it (a reject: too long to be a record).
            opts["parallel"] = False
        args = ", ".join(f"{k}={p.add(v)}" for k, v in opts.items())
        return (f"read_csv({p.add(str(source.path))}, columns={columns}, auto_detect=false, {args}, "
                "store_rejects=true, rejects_table='__csv_rejects', rejects_scan='__csv_scans')"), names

    def stage(self, con, source: SourceFile, mapping: Mapping) -> StageOutput:
        _check_expressions(con, mapping)
        p = Params()
        reader, available = self._reader(source, mapping, p)
        hint = ("" if mapping.delimiter else
                " If these look wrong, set 'delimiter:' in the mapping.")
        resolved = _resolve_columns(mapping, available, source, hint)
        mapped = {resolved[c] for c in mapping.source_columns()}

        # The fields as text, read on every core, then typed on every core: with insertion
        # order kept, the rows of a fresh table follow each other in the file's order, so the
        # rowid gives a record's rank among the records the reader could split. (WITH
        # ORDINALITY, the other way to number them, keeps the read and all the typing after
        # it on one thread.) If the read fails, the load's own settings are reset once its
        # transaction is over.
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"CREATE TEMP TABLE __csv AS SELECT * FROM {reader}", p.values)
        con.execute("SET preserve_insertion_order = false")
        first, last, count = con.execute("SELECT min(rowid), max(rowid), count(*) FROM __csv").fetchone()
        rank = f"rowid - {int(first or 0)} + 1"
        if count and last - first + 1 != count:  # rowids with gaps: numbered the slow way
            con.execute("DROP TABLE __csv")
            con.execute(f"CREATE TEMP TABLE __csv AS SELECT *, ordinality AS __ordinal FROM {reader} "
                        "WITH ORDINALITY", p.values)
            rank = "__ordinal"

        # Records the CSV reader could not split into the header's fields. DuckDB reports them by
        # line; with one line per record, record = line - header lines.
        header_lines = 1 if mapping.header else 0
        con.execute(f"""
            CREATE TEMP TABLE {STRUCTURAL} AS
            SELECT 1 AS __file, line - {header_lines} AS __rec,
                   string_agg(lower(error_type) || ': ' || error_message, '; ') AS __reason,
                   any_value(csv_line) AS __raw
            FROM __csv_rejects GROUP BY line""")
        # Good rows only know their rank among good rows; shift each by the number of
        # structural rejects before it (none to shift by in a well-formed file: the join would
        # cost a third of the write).
        numbered = f"(SELECT *, {rank} AS __ord FROM __csv)"
        if con.execute(f"SELECT count(*) FROM {STRUCTURAL}").fetchone()[0]:
            numbered = f"""(
                WITH bad AS (
                    SELECT __rec - row_number() OVER (ORDER BY __rec) AS good_before,
                           row_number() OVER (ORDER BY __rec) AS n
                    FROM {STRUCTURAL}),
                steps AS (SELECT good_before, max(n) AS n FROM bad GROUP BY good_before)
                SELECT c.*, c.__rank + coalesce(s.n, 0) AS __ord
                FROM (SELECT *, {rank} AS __rank FROM __csv) c ASOF LEFT JOIN steps s ON c.__rank > s.good_before)"""

        def pipeline(p: Params, exclude=None, count_only: bool = False) -> str:
            if count_only:  # the structural rejects are counted from __structural
                return "SELECT 1 AS __file, rowid AS __rec FROM __csv"
            rows = numbered
            if exclude is not None:
                kept = f"__ord NOT IN ({exclude[1]})" if exclude.get(1) else ("true" if 1 in exclude else "false")
                rows = f"(SELECT * FROM {numbered} WHERE {kept})"
            return build_select(
                mapping, lambda s: quote_ident(resolved[s.column]), rows,
                rec_sql="__ord",
                raw_sql=_json_object_sql(available, p),
                extra_sql=_json_object_sql([c for c in available if c not in mapped], p),
                id_prefix=source.sha256[:12], p=p)

        return StageOutput(pipeline=pipeline)


def _json_path(src) -> str:
    """A mapped JSON source as a path: its own, or its top-level key."""
    return src.path if src.path is not None else '$."' + src.column.replace('"', '\\"') + '"'


@register
class JsonLinesLoader(Loader):
    name = "jsonl"
    description = ("JSON records via a mapping (keys or $.paths): JSON Lines, or a file of JSON "
                   "documents (an array, a {\"records\": [...]} wrapper, pretty-printed objects)")
    needs_mapping = True
    extensions = (".jsonl", ".ndjson", ".json")
    batch = True

    def stage(self, con, source: SourceFile, mapping: Mapping) -> StageOutput:
        return self.stage_batch(con, [source], mapping)

    def stage_batch(self, con, sources: list[SourceFile], mapping: Mapping) -> StageOutput:
        _check_expressions(con, mapping)
        for source in sources:
            if mapping.encoding not in (None, "utf-8") or source.encoding != "utf-8":
                raise MappingError(f"{source.path}: JSON Lines must be UTF-8 (RFC 8259); convert the "
                                   "file first, e.g. with iconv")
        records, cleanup = json_records(con, sources)
        top_keys = [s.column for s in mapping.columns.values() if s.column is not None]
        read = [s for s in mapping.columns.values() if s.value is None and s.expr is None]
        paths = list(dict.fromkeys(_json_path(s) for s in read))

        def pipeline(p: Params, exclude: str | None = None, count_only: bool = False) -> str:
            # Streamed like the native JSON formats: nothing the size of the file is staged,
            # and every mapped field comes out of one parse of the record (a JSON value is text:
            # each json_extract_string on it parsed the record again).
            if count_only:
                return f"SELECT __file, __rec FROM {records(p, parts=False)}"
            lines = records(p, exclude=exclude)
            from_sql = (f"(SELECT *, try(json_extract_string(__line, {p.add(paths, 'VARCHAR[]')})) AS __f "
                        f"FROM (SELECT __file, __rec, __line, TRY_CAST(__line AS JSON) AS __j FROM {lines}))")

            def ref(src) -> str:
                return f"__f[{paths.index(_json_path(src)) + 1}]"

            # extra = the object without the mapped top-level keys (a merge patch with nulls removes them)
            patch = p.add(json.dumps(dict.fromkeys(top_keys)), "JSON")
            return build_select(
                mapping, ref, from_sql, rec_sql="__rec", raw_sql="__line",
                extra_sql=f"CASE WHEN json_type(__j) = 'OBJECT' THEN json_merge_patch(__j, {patch}) END",
                id_prefix=[s.sha256[:12] for s in sources], p=p, file_sql="__file",
                pre_reasons=[("__j IS NULL", "'not valid JSON'"),
                             ("json_type(__j) <> 'OBJECT'",
                              "'not a JSON object (a JSON ' || lower(json_type(__j)) || ')'")])

        return StageOutput(pipeline=pipeline, cleanup=cleanup)


@register
class ParquetLoader(Loader):
    name = "parquet"
    description = "Apache Parquet, via a mapping"
    needs_mapping = True
    extensions = (".parquet", ".parq")

    def stage(self, con, source: SourceFile, mapping: Mapping) -> None:
        _check_expressions(con, mapping)
        if source.compression != "none":
            raise MappingError(f"{source.path}: a compressed Parquet file ({source.compression}); "
                               "Parquet compresses inside the file, so decompress it first")
        p = Params()
        reader = f"read_parquet({p.add(str(source.path))}, file_row_number=true)"
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}", p.values).fetchall()
        available = [row[0] for row in described if row[0] != "file_row_number"]
        resolved = _resolve_columns(mapping, available, source)
        mapped = {resolved[c] for c in mapping.source_columns()}
        sql = build_select(
            mapping, lambda s: f"CAST({quote_ident(resolved[s.column])} AS VARCHAR)", reader,
            rec_sql="file_row_number + 1",
            raw_sql=_json_object_sql(available, p),
            extra_sql=_json_object_sql([c for c in available if c not in mapped], p),
            id_prefix=source.sha256[:12], p=p)
        con.execute(f"CREATE TEMP TABLE {STAGED} AS {sql}", p.values)
