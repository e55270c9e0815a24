"""Loaders for exports whose shape is known: a format spec in ``formats/<name>.yml`` says how.

A spec is a mapping (see :mod:`investigate.loaders.mapping`) plus the fields to pull out of each
record, each under a name the column expressions use::

    table: access_events
    fields:                       # JSON formats: name -> JSON path (all read in one parse)
      event_time: $.eventTime
    pattern: '^(?P<ip>\\S+) ...'  # line formats instead: one regular expression, named groups
    derived:                      # expressions over the fields, computed once per record and
      verb: "regexp_extract(event_name, '^[A-Z][a-z]*')"   # usable in columns by name
    extra_exclude: [eventTime]    # top-level keys that columns hold in full (left out of extra)
    set_apart: "CASE WHEN log_status = 'NODATA' THEN 'NODATA: no traffic captured' END"
                                  # records that are neither events nor errors (kept apart)
    columns:
      ts: {expr: "event_time"}

Adding a format is writing its spec (and, where a record is more than a line or a JSON value,
a record splitter); the typing, the rejects and the contract are the same for every format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import yaml

from .base import STRUCTURAL, Loader, StageOutput
from .mapping import Mapping, parse_mapping
from .records import RecordFile, batch_lines_sql, document_records, is_line_oriented
from .sources import SourceFile
from .typed import Params, build_select, quote_ident

_SNIFF_LINES = 20
_SPEC_KEYS = {"fields", "derived", "pattern", "extra_exclude", "sniff", "set_apart"}


@dataclass(frozen=True)
class FormatSpec:
    mapping: Mapping
    fields: dict[str, str]
    derived: dict[str, str]
    pattern: str | None
    extra_exclude: tuple[str, ...]
    sniff: tuple[str, ...]
    set_apart: str | None = None


def load_spec(name: str) -> FormatSpec:
    text = resources.files(__package__).joinpath("formats", f"{name}.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    extra = {k: data.pop(k) for k in list(data) if k in _SPEC_KEYS}
    mapping = parse_mapping(data, origin=f"built-in format {name}")
    pattern = extra.get("pattern")
    fields = dict(extra.get("fields") or {})
    if pattern:
        fields = {g: g for g in re.compile(pattern).groupindex}
    return FormatSpec(mapping, fields, dict(extra.get("derived") or {}), pattern,
                      tuple(extra.get("extra_exclude") or ()), tuple(extra.get("sniff") or ()),
                      extra.get("set_apart"))


def sniff_lines(regex: re.Pattern, head: str) -> int:
    """95 when most of the first complete lines of ``head`` match ``regex`` in full, else 0.

    The last line of a 64 KB head may be cut in the middle, so it only counts when it is the
    only line.
    """
    lines = [ln.rstrip("\r") for ln in head.lstrip("\ufeff").split("\n")]
    if len(lines) > 1:
        lines = lines[:-1]  # complete when the head ends with a newline (then it is "")
    lines = [ln for ln in lines if ln.strip()][:_SNIFF_LINES]
    if not lines:
        return 0
    hits = sum(1 for ln in lines if regex.fullmatch(ln))
    return 95 if hits * 5 >= len(lines) * 4 else 0



class SpecLoader(Loader):
    """A format described by a spec file named like the format."""

    spec_name: str = ""

    @cached_property
    def spec(self) -> FormatSpec:
        return load_spec(self.spec_name or self.name)

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.spec.mapping.table

    def sniff(self, head: str) -> int:
        """How sure we are (0-100) that a file starting with ``head`` is this format."""
        hits = sum(1 for needle in self.spec.sniff if needle in head)
        return 0 if not self.spec.sniff else round(100 * hits / len(self.spec.sniff))

    def _select(self, from_sql: str, p: Params, sources: SourceFile | list[SourceFile], *, extra_sql: str,
                pre_reasons, raw_sql: str = "__line") -> str:
        """The typed records of ``from_sql``: one file's, or a batch's (a list of files, the
        rows told apart by ``__file``)."""
        if self.spec.derived:
            # Computed once here, so an expression several columns need is not repeated.
            derived = ", ".join(f"({expr}) AS {quote_ident(name)}" for name, expr in self.spec.derived.items())
            from_sql = f"(SELECT *, {derived} FROM {from_sql})"
        return build_select(self.spec.mapping, lambda s: quote_ident(s.column), from_sql,
                            rec_sql="__rec", raw_sql=raw_sql, extra_sql=extra_sql,
                            id_prefix=_id_prefixes(sources), p=p, pre_reasons=pre_reasons,
                            apart_sql=self.spec.set_apart,
                            file_sql="1" if isinstance(sources, SourceFile) else "__file")


def _id_prefixes(sources: SourceFile | list[SourceFile]) -> str | list[str]:
    """Generated event ids start with the file's sha256[:12] (one per file of a batch)."""
    if isinstance(sources, SourceFile):
        return sources.sha256[:12]
    return [s.sha256[:12] for s in sources]


def _structural_from(con, problems) -> None:
    """``__structural``: ``(file, record, reason, raw)`` of records that could not be split out."""
    con.execute(f"CREATE TEMP TABLE {STRUCTURAL} (__file INTEGER, __rec BIGINT, __reason VARCHAR, __raw VARCHAR)")
    if problems:
        con.executemany(f"INSERT INTO {STRUCTURAL} VALUES (?, ?, ?, ?)", problems)


def json_records(con, sources: SourceFile | list[SourceFile]):
    """The JSON records of one file or of a batch (``__file`` tells their rows apart), whatever
    each file's shape: returns a function giving the SQL of ``(__file, __rec, __line)`` (it can
    be read more than once) and a cleanup function. Records that cannot be split out go to
    ``__structural``."""
    if isinstance(sources, SourceFile):
        sources = [sources]
    files, problems, docs = [], [], []
    try:
        for no, source in enumerate(sources, start=1):
            if is_line_oriented(source):
                files.append(RecordFile(no, source))
                continue
            doc = document_records(source)
            docs.append(doc)
            files.append(RecordFile(no, source, doc.path))
            problems.extend((no, *problem) for problem in doc.problems)
        _structural_from(con, problems)
    except BaseException:
        _cleanup(docs)
        raise
    return (lambda p, parts=True, exclude=None: batch_lines_sql(files, p, parts=parts, exclude=exclude)), \
        (lambda: _cleanup(docs))


def _cleanup(docs) -> None:
    for doc in docs:
        doc.cleanup()


class JsonSpecLoader(SpecLoader):
    """JSON records (lines, wrappers, arrays, pretty-printed): fields read in one parse."""

    extensions = (".json", ".jsonl", ".ndjson", ".log")
    batch = True

    def stage(self, con, source: SourceFile, mapping: Mapping | None) -> StageOutput:
        return self.stage_batch(con, [source], mapping)

    def stage_batch(self, con, sources: list[SourceFile], mapping: Mapping | None) -> StageOutput:
        records, cleanup = json_records(con, sources)
        names = list(self.spec.fields)

        def pipeline(p: Params, exclude: str | None = None, count_only: bool = False) -> str:
            if count_only:
                return f"SELECT __file, __rec FROM {records(p, parts=False)}"
            lines = records(p, exclude=exclude)
            paths = p.add([self.spec.fields[n] for n in names], "VARCHAR[]")
            picked = ", ".join(f"__f[{i}] AS {quote_ident(n)}" for i, n in enumerate(names, start=1))
            # One parse per record: try() gives NULL for text that is not JSON; an array or a
            # scalar is told apart by its first character (json_type only runs for those).
            parsed = (f"SELECT __file, __rec, __line, __kind, {picked} FROM ("
                      f"SELECT __file, __rec, __line, __f, CASE WHEN __f IS NULL THEN NULL "
                      f"WHEN starts_with(ltrim(__line), '{{') THEN 'OBJECT' ELSE json_type(__line) END AS __kind "
                      f"FROM (SELECT __file, __rec, __line, try(json_extract_string(__line, {paths})) AS __f FROM {lines}))")
            extra = "__line"  # the record itself
            if self.spec.extra_exclude:
                extra = f"json_merge_patch(__line, {p.add(json.dumps(dict.fromkeys(self.spec.extra_exclude)), 'JSON')})"
            kind_word = ("CASE __kind WHEN 'VARCHAR' THEN 'string' WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' "
                         "THEN 'number' WHEN 'DOUBLE' THEN 'number' ELSE lower(__kind) END")
            return self._select(
                f"({parsed})", p, sources, extra_sql=f"CASE WHEN __kind = 'OBJECT' THEN {extra} END",
                pre_reasons=[("__kind IS NULL", "'not valid JSON'"),
                             ("__kind <> 'OBJECT'", f"'not a JSON object (a JSON ' || {kind_word} || ')'")])

        return StageOutput(pipeline=pipeline, cleanup=cleanup)


class LineSpecLoader(SpecLoader):
    """One record per line, split into fields by the spec's regular expression."""

    extensions = (".log", ".txt")
    what = "line"

    @cached_property
    def regex(self) -> re.Pattern:
        return re.compile(self.spec.pattern)

    def sniff(self, head: str) -> int:
        """Recognise the format by its lines, unless the spec names strings to look for.

        The pattern runs here in Python's backtracking ``re`` (DuckDB uses RE2): write it so
        that no two ways of matching exist, or a hostile head can take a long time.
        """
        if self.spec.sniff:
            return super().sniff(head)
        return sniff_lines(self.regex, head)

    batch = True

    def stage(self, con, source: SourceFile, mapping: Mapping | None) -> StageOutput:
        return self.stage_batch(con, [source], mapping)

    def stage_batch(self, con, sources: list[SourceFile], mapping: Mapping | None) -> StageOutput:
        files = [RecordFile(no, source) for no, source in enumerate(sources, start=1)]

        def pipeline(p: Params, exclude=None, count_only: bool = False) -> str:
            if count_only:
                return f"SELECT __file, __rec FROM {batch_lines_sql(files, p, parts=False)}"
            return self._records_sql(batch_lines_sql(files, p, exclude=exclude), sources, p)

        return StageOutput(pipeline=pipeline)

    def _records_sql(self, lines: str, sources: SourceFile | list[SourceFile], p: Params) -> str:
        names = list(self.spec.fields)
        # DuckDB (RE2) writes named groups as (?P<name>...) too; the names are passed separately.
        pattern = p.add(self.spec.pattern, "VARCHAR")
        groups = p.add(names, "VARCHAR[]")
        picked = ", ".join(f"nullif(__m.{quote_ident(n)}, '') AS {quote_ident(n)}" for n in names)
        parsed = (f"SELECT __file, __rec, __line, __ok, {picked} FROM ("
                  f"SELECT __file, __rec, __line, regexp_full_match(__line, {pattern}) AS __ok, "
                  f"regexp_extract(__line, {pattern}, {groups}) AS __m FROM {lines})")
        return self._select(f"({parsed})", p, sources, extra_sql=self.extra_sql(names, p),
                            pre_reasons=[("NOT __ok", f"{p.add(f'not a {self.what} of this format: ', 'VARCHAR')} "
                                                      "|| left(__line, 80)")])

    def extra_sql(self, names: list[str], p: Params) -> str:
        kept = [n for n in names if n not in self.spec.extra_exclude]
        if not kept:
            return "NULL"
        return "json_object(" + ", ".join(f"{p.add(n, 'VARCHAR')}, {quote_ident(n)}" for n in kept) + ")"
