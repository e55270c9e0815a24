"""Mapping files: which source field fills which canonical column, and how to read time.

A mapping is YAML::

    table: access_events             # or transfer_events
    delimiter: ";"                   # CSV only; judged from the header line when omitted
    quote: '"'                       # CSV only; escape defaults to the quote (RFC 4180)
    encoding: utf-8                  # utf-8 (default), utf-16 or latin-1
    null_values: ["", "-"]           # source values that mean "missing"
    timestamp:
      format: "%d.%m.%Y %H:%M:%S"    # DuckDB strptime format, or epoch / epoch_ms / epoch_us;
                                     # omitted: ISO 8601
      timezone: Asia/Singapore       # zone of timestamps that carry no offset (default UTC)
    columns:                         # canonical column -> source
      ts: Zeit                       #   a source column (CSV header, top-level JSON key)
      resource: {path: "$.object.name"}   # a JSON path (JSON Lines)
      actor_type: {value: human}     #   a constant
      action: {expr: "lower(op)"}    #   a DuckDB expression over the source columns
    actions: {READ: read}            # raw action -> read/list/write/delete/export/login/admin/other
    outcomes: {ALLOW: success, DENY: failure}

Every value that reaches SQL from here is either a bound parameter or a quoted identifier;
expressions are parsed by DuckDB first and refused unless they are one plain scalar expression.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import schema
from ..errors import MappingError

_TOP_KEYS = {"table", "format", "delimiter", "quote", "escape", "encoding", "header", "null_values",
             "timestamp", "columns", "actions", "outcomes", "description"}
_ENCODINGS = {"utf-8", "utf8", "utf-16", "utf16", "latin-1", "latin1"}
EPOCH_FORMATS = {"epoch": 1, "epoch_ms": 1_000, "epoch_us": 1_000_000}
# Columns a loader fills itself: never taken from a mapping.
_RESERVED = {"source_format", "source_file", "source_record", "extra"}


@dataclass(frozen=True)
class ColumnSource:
    """Where one canonical column comes from: exactly one of the four is set."""

    column: str | None = None
    path: str | None = None
    value: str | None = None
    expr: str | None = None

    def describe(self) -> str:
        if self.column is not None:
            return f"column {self.column!r}"
        if self.path is not None:
            return f"path {self.path!r}"
        if self.value is not None:
            return f"constant {self.value!r}"
        return f"expression {self.expr!r}"


@dataclass(frozen=True)
class Mapping:
    table: str
    columns: dict[str, ColumnSource]
    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    encoding: str | None = None
    header: bool = True
    null_values: tuple[str, ...] = ("", "-")
    ts_format: str | None = None
    ts_timezone: str = "UTC"
    actions: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    sha256: str | None = None
    origin: str = "<mapping>"

    def source_columns(self) -> list[str]:
        """Source columns named directly by the mapping (they leave ``extra``)."""
        return [s.column for s in self.columns.values() if s.column is not None]


def _fail(origin: str, message: str) -> MappingError:
    return MappingError(f"{origin}: {message}")


def _parse_source(origin: str, canonical: str, raw) -> ColumnSource:
    if isinstance(raw, str):
        if not raw:
            raise _fail(origin, f"columns.{canonical}: empty source column name")
        return ColumnSource(path=raw) if raw.startswith("$") else ColumnSource(column=raw)
    if isinstance(raw, dict) and len(raw) == 1:
        (kind, val), = raw.items()
        if kind in ("column", "path", "expr") and isinstance(val, str) and val:
            return ColumnSource(**{kind: val})
        if kind == "value" and isinstance(val, (str, int, float, bool)):
            return ColumnSource(value=str(val))
    raise _fail(origin, f"columns.{canonical}: expected a source column name or one of "
                        "{column: ...}, {path: $...}, {value: ...}, {expr: ...}; got " + repr(raw))


def _str_dict(origin: str, key: str, raw, allowed: tuple[str, ...] | None) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(origin, f"{key}: expected a table of source value -> canonical value")
    out = {}
    for k, v in raw.items():
        v = str(v).lower()
        if allowed is not None and v not in allowed:
            raise _fail(origin, f"{key}.{k}: {v!r} is not one of {', '.join(allowed)}")
        out[str(k).lower()] = v
    return out


def parse_mapping(data: dict, *, origin: str = "<mapping>", sha256: str | None = None,
                  default_table: str | None = None) -> Mapping:
    """Validate a mapping given as a dict (the parsed YAML)."""
    if not isinstance(data, dict):
        raise _fail(origin, "a mapping must be a YAML table with at least 'table' and 'columns'")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(origin, f"unknown key(s) {', '.join(sorted(unknown))}; "
                            f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    table = data.get("table", default_table)
    if table not in schema.EVENT_TABLES:
        raise _fail(origin, f"table must be one of {', '.join(schema.EVENT_TABLES)}; got {table!r}")
    raw_cols = data.get("columns")
    if not isinstance(raw_cols, dict) or not raw_cols:
        raise _fail(origin, "columns: expected a table of canonical column -> source")
    allowed_cols = [c for c in schema.columns(table) if c not in _RESERVED]
    columns = {}
    for canonical, raw in raw_cols.items():
        if canonical not in allowed_cols:
            raise _fail(origin, f"columns.{canonical}: {table} has no such column; "
                                f"mappable columns are {', '.join(allowed_cols)}")
        columns[canonical] = _parse_source(origin, canonical, raw)
    required = "ts" if table == "access_events" else "ts_start"
    if required not in columns:
        raise _fail(origin, f"columns: {required!r} is required for {table}")

    ts = data.get("timestamp") or {}
    if not isinstance(ts, dict) or set(ts) - {"format", "timezone"}:
        raise _fail(origin, "timestamp: expected {format: ..., timezone: ...}")
    encoding = data.get("encoding")
    if encoding is not None and str(encoding).lower() not in _ENCODINGS:
        raise _fail(origin, f"encoding: {encoding!r} is not supported; use utf-8, utf-16 or latin-1")
    nulls = data.get("null_values", ["", "-"])
    if not isinstance(nulls, list) or not all(isinstance(n, (str, int)) for n in nulls):
        raise _fail(origin, "null_values: expected a list of strings")
    delimiter = data.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or not 1 <= len(delimiter) <= 4):
        raise _fail(origin, "delimiter: expected 1 to 4 characters")
    for key in ("quote", "escape"):  # one character, or empty for none (as DuckDB's reader takes it)
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > 1):
            raise _fail(origin, f"{key}: expected one character (or '' for none); got {value!r}")
    return Mapping(
        table=table,
        columns=columns,
        delimiter=delimiter,
        quote=data.get("quote"),
        escape=data.get("escape"),
        encoding=None if encoding is None else str(encoding).lower().replace("utf8", "utf-8")
        .replace("utf16", "utf-16").replace("latin1", "latin-1"),
        header=bool(data.get("header", True)),
        null_values=tuple(str(n) for n in nulls),
        ts_format=ts.get("format"),
        ts_timezone=str(ts.get("timezone") or "UTC"),
        actions=_str_dict(origin, "actions", data.get("actions"), schema.ACTIONS),
        outcomes=_str_dict(origin, "outcomes", data.get("outcomes"), schema.OUTCOMES),
        sha256=sha256,
        origin=origin,
    )


def load_mapping(path: str | os.PathLike, *, default_table: str | None = None) -> Mapping:
    """Read and validate a mapping file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise MappingError(f"{p}: cannot read the mapping file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{p}: not valid YAML ({exc})") from None
    return parse_mapping(data, origin=str(p), sha256=hashlib.sha256(raw).hexdigest(),
                         default_table=default_table)


def mapping_from(spec, *, default_table: str | None = None) -> Mapping | None:
    """Accept a Mapping, a dict, a path, or None."""
    if spec is None or isinstance(spec, Mapping):
        return spec
    if isinstance(spec, dict):
        sha = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
        return parse_mapping(spec, sha256=sha, default_table=default_table)
    return load_mapping(spec, default_table=default_table)


def check_expression(con, origin: str, canonical: str, expr: str) -> None:
    """Refuse anything but one scalar expression (no statements, subqueries or table scans)."""
    tree = json.loads(con.execute("SELECT json_serialize_sql('SELECT ' || $e)", {"e": expr}).fetchone()[0])
    if tree.get("error"):
        raise _fail(origin, f"columns.{canonical}: {expr!r} is not a valid DuckDB expression "
                            f"({tree.get('error_message')})")
    statements = tree.get("statements", [])
    node = statements[0]["node"] if len(statements) == 1 else {}
    text = json.dumps(node)
    if (len(statements) != 1 or len(node.get("select_list", [])) != 1 or node.get("from_table", {}).get("type") != "EMPTY"
            or '"SUBQUERY"' in text):
        raise _fail(origin, f"columns.{canonical}: {expr!r} must be a single expression over the "
                            "source columns (no statements, subqueries or FROM)")
