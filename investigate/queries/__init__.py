"""The query library: one question per ``.sql`` file, and a thin runner that binds parameters.

Each file starts with a header of ``--`` lines::

    -- question: How many accesses ... ?
    -- param start TIMESTAMPTZ: first instant counted (UTC); all when omitted
    -- param grain VARCHAR = month {day|week|month}: length of a period
    -- param entity VARCHAR required: a parameter the query cannot run without
    -- returns: period, access_country, ...
    -- caveats: what the numbers cannot show

Every declared parameter is bound by DuckDB (``$name``); one not given is bound as its default,
or NULL, which the SQL reads as "all" (a ``required`` one must be given). Nothing a user types
is ever pasted into SQL text.
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from .. import engines, progress
from ..errors import QueryError
from ..pseudonymise import mark, resolve_key
from ..workspace import Workspace

PACKAGE_DIR = Path(__file__).parent
_PARAM_RE = re.compile(
    r"^param\s+(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>[A-Z]+)(?:\s+(?P<required>required))?"
    r"(?:\s*=\s*(?P<default>[^\s{:]+))?(?:\s*\{(?P<choices>[^}]*)\})?\s*:\s*(?P<doc>.*)$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None
    choices: tuple[str, ...]
    doc: str
    required: bool = False


@dataclass(frozen=True)
class Query:
    """One query file: its header, its text and the sha256 of that text."""

    kind: ClassVar[str] = "query"  # how error messages name it (investigate.checks: "check")
    name: str
    path: Path
    text: str
    question: str
    params: dict[str, Param] = field(default_factory=dict)
    returns: tuple[str, ...] = ()
    caveats: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def _parse_header(name: str, path: Path, text: str, lead: str = "question") -> Query:
    # lead: the field that states what the file is for ("question"; a check's is "rule"),
    # held in Query.question
    fields: dict[str, str] = {}
    params: dict[str, Param] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:].strip()
        m = _PARAM_RE.match(body)
        if m:
            choices = tuple(c.strip() for c in (m["choices"] or "").split("|") if c.strip())
            params[m["name"]] = Param(m["name"], m["type"], m["default"], choices, m["doc"].strip(),
                                      bool(m["required"]))
            last = None
        elif re.match(rf"^({lead}|returns|caveats):", body):
            last, _, value = body.partition(":")
            fields[last] = value.strip()
        elif last and body:
            fields[last] += " " + body
    if lead not in fields or "returns" not in fields:
        raise QueryError(f"{path}: the header must state the {lead} and the returned columns")
    returns = tuple(c.strip() for c in fields["returns"].split(",") if c.strip())
    return Query(name, path, text, fields[lead], params, returns, fields.get("caveats", ""))


def _search_dirs(query_dirs) -> list[Path]:
    dirs = [Path(d) for d in (query_dirs or [])]
    env = os.environ.get("INVESTIGATE_QUERY_PATH")
    if env:
        dirs += [Path(d) for d in env.split(os.pathsep) if d]
    return dirs + [PACKAGE_DIR]


def get_query(name: str, query_dirs=None) -> Query:
    """Find a query by name: the user's query directories first, then the package's."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name or ""):
        raise QueryError(f"{name!r} is not a query name (letters, digits and _ only)")
    for d in _search_dirs(query_dirs):
        path = d / f"{name}.sql"
        if path.is_file():
            return _parse_header(name, path, path.read_text(encoding="utf-8"))
    known = ", ".join(q.name for q in list_queries(query_dirs))
    raise QueryError(f"no query named {name!r}; known queries: {known}")


def list_queries(query_dirs=None) -> list[Query]:
    """Every query, the user's first (a user file of the same name replaces the package's)."""
    found: dict[str, Query] = {}
    for d in _search_dirs(query_dirs):
        for path in sorted(d.glob("*.sql")):
            if path.stem not in found:
                found[path.stem] = _parse_header(path.stem, path, path.read_text(encoding="utf-8"))
    return sorted(found.values(), key=lambda q: q.name)


def _convert(query: Query, param: Param, value):
    """A user's value (text from the CLI, or a Python object) as the declared type."""
    if value is None:
        return None
    try:
        if param.type == "TIMESTAMPTZ":
            ts = pd.Timestamp(value)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            return ts.to_pydatetime()
        if param.type in ("BIGINT", "INTEGER"):
            return int(value)
        if param.type == "DOUBLE":
            return float(value)
        if param.type == "DATE":
            return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise QueryError(f"{query.kind} {query.name}: parameter {param.name} must be a {param.type}; "
                         f"got {value!r}") from None
    value = str(value)
    if param.choices and value not in param.choices:
        raise QueryError(f"{query.kind} {query.name}: parameter {param.name} must be one of "
                         f"{', '.join(param.choices)}; got {value!r}")
    return value


def bind_params(query: Query, params: dict) -> dict:
    """The full set of bound values: given ones converted, the others at their defaults."""
    unknown = set(params) - set(query.params)
    if unknown:
        accepted = ", ".join(query.params) or "none"
        raise QueryError(f"{query.kind} {query.name} takes no parameter {', '.join(sorted(unknown))}; "
                         f"it takes: {accepted}")
    missing = [name for name, p in query.params.items() if p.required and params.get(name) in (None, "")]
    if missing:
        raise QueryError(f"{query.kind} {query.name} needs the parameter {missing[0]} "
                         f"({query.params[missing[0]].doc})")
    return {name: _convert(query, p, params.get(name, p.default)) for name, p in query.params.items()}


def run_query(source, name: str, query_dirs=None, *, engine: str = "duckdb", pseudonymise=None,
              **params) -> pd.DataFrame:
    """Run a named query with bound parameters and return the result as a DataFrame.

    ``source`` and ``engine``: a :class:`~investigate.Workspace` with ``engine="duckdb"`` (the
    default); with ``engine="spark"``, an export (the folder or URI ``investigate export`` wrote),
    a :class:`~investigate.spark.SparkSource`, or a workspace (exported first: see
    :mod:`investigate.engines`). Both engines give the same rows, columns and dtypes.

    ``pseudonymise``: ``True`` (the key from the environment), a key file's path or a
    :class:`~investigate.PseudonymKey`: actor ids, display names and IP addresses in the result
    are keyed pseudonyms (see :mod:`investigate.pseudonymise`); countries and organisations are not.

    Examples
    --------
    >>> run_query(ws, "cross_border_access_summary", category="us_user_data", grain="month")
    >>> run_query(ws, "cross_border_access", pseudonymise="case.key")
    >>> run_query("case-parquet", "cross_border_access_summary", engine="spark")
    """
    query = get_query(name, query_dirs)
    bound = bind_params(query, params)
    key = resolve_key(pseudonymise)
    source = engines.source_for(source, engine)
    with _query_errors(source, name):
        return mark(engines.execute(source, query.text, bound, key=key, name=name).df, key)


def write_query(source, name: str, path, query_dirs=None, *, engine: str = "duckdb", pseudonymise=None,
                **params) -> int:
    """Run a named query and write its result to ``path`` as the rows come, never holding all
    of them: Parquet (``.parquet``) or CSV (any other name; ISO times in UTC, text quoted).
    ``.json`` is written from a DataFrame, for results that fit in memory. Returns the rows
    written; on an error the file is removed, so no half-written result is left behind.
    ``source``, ``engine`` and ``pseudonymise`` as for :func:`run_query`: the rows are
    pseudonymised inside DuckDB as they stream. On Spark the result is collected on the driver
    first (see :func:`investigate.engines.arrow_reader`).

    Examples
    --------
    >>> write_query(ws, "cross_border_access", "cross_border.parquet", category="us_user_data")
    """
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    out = Path(path)
    suffix = out.suffix.lower()
    key = resolve_key(pseudonymise)
    if suffix == ".json":
        df = run_query(source, name, query_dirs, engine=engine, pseudonymise=key, **params)
        out.write_text(df.to_json(orient="records", date_format="iso", indent=2), encoding="utf-8")
        return len(df)
    query = get_query(name, query_dirs)
    bound = bind_params(query, params)
    source = engines.source_for(source, engine)
    rows = 0
    try:
        with _query_errors(source, name):
            reader = engines.arrow_reader(source, query.text, bound, key=key, name=name)
            writer = (pq.ParquetWriter(out, reader.schema) if suffix == ".parquet"
                      else pa_csv.CSVWriter(out, reader.schema))
            with writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return rows


def arrow_reader(ws: Workspace, sql: str, params: dict, batch_rows: int = 100_000):
    """The result of ``sql`` as a stream of Arrow record batches, made as they are read."""
    return engines.arrow_reader(ws, sql, params, batch_rows=batch_rows)


@contextmanager
def _query_errors(source, name: str):
    """DuckDB's errors as the query's own: memory, and a missing view or table; a DuckDB query
    shows its progress."""
    if not isinstance(source, Workspace):
        yield  # Spark's errors are made plain by SparkSource.arrow
        return
    ws = source
    try:
        with progress.track(ws.con, f"Query {name}"):
            yield
    except duckdb.OutOfMemoryException as exc:
        raise ws.memory_error(exc, f"query {name}") from None
    except duckdb.CatalogException as exc:
        if "enriched" in str(exc) or "ip_locations" in str(exc):
            raise QueryError(f"query {name} needs the enriched views: load reference data first "
                             "(investigate reference WORKSPACE networks FILE, ...)") from None
        raise QueryError(f"query {name}: {str(exc).splitlines()[0]}") from None


def jsonable_params(bound: dict) -> dict:
    """Bound parameters as JSON-friendly values (timestamps in ISO 8601 UTC)."""
    out = {}
    for k, v in bound.items():
        if isinstance(v, datetime):
            out[k] = v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        elif isinstance(v, date):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out
