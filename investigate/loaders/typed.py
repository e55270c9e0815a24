"""From source fields to typed canonical columns, in one SELECT that DuckDB streams.

Every loader that works through a mapping hands this module two things: how to reach a source
field as text (``ref``) and the relation to read from. What comes back is SQL whose rows carry
the canonical columns, the record number, the raw record and ``__reason``: NULL for a row that
loads, or why it cannot. A value that is present but cannot be typed is a reason, never a silent
NULL; a value in ``null_values`` is missing and stays NULL.
"""

from __future__ import annotations

from typing import Callable

from .. import schema
from .mapping import EPOCH_FORMATS, ColumnSource, Mapping

# Common outcome words; a mapping's own ``outcomes`` table is consulted first.
DEFAULT_OUTCOMES = {
    **dict.fromkeys(["success", "succeeded", "successful", "ok", "allow", "allowed", "accept",
                     "accepted", "permit", "permitted", "pass", "passed", "true", "granted"],
                    "success"),
    **dict.fromkeys(["failure", "failed", "fail", "deny", "denied", "reject", "rejected",
                     "error", "blocked", "false", "forbidden", "unauthorized"], "failure"),
}

# A time of day followed by an explicit zone: such a value keeps its own offset.
_OFFSET_RE = r":\d{2}(\.\d+)?\s*([Zz]|UTC|[+-]\d{2}(:?\d{2})?)$"
# Whole numbers; "1500.0" too (JSON writers and pandas turn integer columns with gaps to floats).
_INT_RE = r"\s*[+-]?\d+(\.0*)?\s*"


class Params:
    """Bound parameters collected while building SQL: ``add`` returns the ``$name`` to use."""

    def __init__(self):
        self.values: dict = {}

    def add(self, value, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}::{cast}" if cast else f"${name}"


def quote_ident(name: str) -> str:
    """A source column name as a SQL identifier (the only text from a file pasted into SQL)."""
    return '"' + name.replace('"', '""') + '"'


def _shorten(expr: str) -> str:
    # Raw values quoted in reasons are cut, so one huge field cannot bloat the rejects table.
    return f"'''' || left({expr}, 120) || ''''"


def timestamp_expr(v: str, mapping: Mapping, p: Params) -> str:
    """SQL turning the text ``v`` into a UTC TIMESTAMPTZ (NULL when it cannot be read)."""
    fmt = mapping.ts_format
    if fmt in EPOCH_FORMATS:
        per_second = EPOCH_FORMATS[fmt]
        micros = f"CAST(round(TRY_CAST({v} AS DOUBLE) * {1_000_000 // per_second}) AS BIGINT)"
        return f"timezone('UTC', make_timestamp({micros}))"
    zone = p.add(mapping.ts_timezone, "VARCHAR")
    naive = f"TRY_CAST({v} AS TIMESTAMP)"
    offset = f"TRY_CAST({v} AS TIMESTAMPTZ)"
    if fmt:
        f = p.add(fmt, "VARCHAR")
        f_z = p.add(fmt + "%z", "VARCHAR")
        f_sz = p.add(fmt + " %z", "VARCHAR")
        naive = f"coalesce(try_strptime({v}, {f})::TIMESTAMP, {naive})"
        offset = f"coalesce({offset}, try_strptime({v}, {f_z}), try_strptime({v}, {f_sz}))"
    return (f"CASE WHEN {v} IS NULL THEN NULL "
            f"WHEN regexp_matches({v}, '{_OFFSET_RE}') THEN {offset} "
            f"ELSE timezone({zone}, {naive}) END")


def _int_expr(v: str, cast: str) -> str:
    # Once the text is a whole number as _INT_RE says, DuckDB's cast reads it as written
    # (blanks, a sign, a ".0" tail); the check keeps out what the cast alone would also take
    # ("1.5" rounded, "1e3", "0x10", "1_000").
    return f"CASE WHEN regexp_full_match({v}, '{_INT_RE}') THEN TRY_CAST({v} AS {cast}) END"


def build_select(mapping: Mapping, ref: Callable[[ColumnSource], str], from_sql: str, *,
                 rec_sql: str, raw_sql: str, extra_sql: str, id_prefix: str | list[str], p: Params,
                 pre_reasons: list[tuple[str, str]] = (), apart_sql: str | None = None,
                 file_sql: str = "1") -> str:
    """The SELECT that types one file's records for ``mapping.table``.

    Parameters
    ----------
    ref : callable
        Gives the SQL text (VARCHAR) of a column/path source in ``from_sql``'s rows.
    rec_sql, raw_sql, extra_sql : str
        The record number, the raw record text and the ``extra`` JSON, over ``from_sql``'s rows
        (the raw text is only kept for rejected records).
    id_prefix : str or list of str
        Prefix of generated event ids (``<sha256[:12]>-<record>``) when the source has none;
        for a batch of files, one per file, picked by ``file_sql``.
    file_sql : str
        The file's number in its batch (``__file`` of the rows; 1 for a single file).
    pre_reasons : list of (condition, message)
        Record-level problems checked before any field (e.g. "not valid JSON").
    apart_sql : str, optional
        SQL giving why a record is *set apart* (neither loaded nor rejected: a flow log's
        NODATA line, which says no traffic was captured), or NULL. Checked first.
    """
    table = mapping.table
    nulls = p.add(list(mapping.null_values), "VARCHAR[]")

    def lit(text: str) -> str:
        # Messages name source columns: text from a file, so it is bound, never pasted.
        return p.add(text, "VARCHAR")

    def source_sql(src: ColumnSource) -> str:
        if src.value is not None:
            return p.add(src.value, "VARCHAR")
        if src.expr is not None:
            # The line break ends a trailing -- comment: the expression was checked alone
            # (loaders.mapping.check_expression), and must not reach past its parentheses.
            return f"CAST(({src.expr}\n) AS VARCHAR)"
        return ref(src)

    # Level 1: each mapped source as text, with the "missing" markers made NULL. A value longer
    # than every marker and without a space at either end cannot be one: it skips trim(), which
    # copies every long value (ARNs, user agents) and cost a tenth of a CloudTrail load.
    longest = max((len(v) for v in mapping.null_values), default=0)
    values = []
    for col, src in mapping.columns.items():
        s = source_sql(src)
        values.append(f"CASE WHEN strlen({s}) > {longest} AND NOT starts_with({s}, ' ') AND NOT suffix({s}, ' ') "
                      f"THEN {s} WHEN list_contains({nulls}, trim({s})) THEN NULL ELSE {s} END "
                      f"AS {quote_ident('__v_' + col)}")
    # The source's own columns pass through (``*``): the raw text of a reject is built from them.
    level1 = (f"SELECT {file_sql} AS __file_no, {rec_sql} AS __rec, {extra_sql} AS __extra"
              + "".join(", " + v for v in values) + f", * FROM {from_sql}")

    def v(col: str) -> str | None:
        return quote_ident("__v_" + col) if col in mapping.columns else None

    # Level 2: typed values, and the reasons a present value could not be typed.
    typed: dict[str, str] = {}
    reasons: list[tuple[str, str]] = []
    for col in schema.columns(table):
        if col in ("source_format", "source_file", "source_record", "extra"):
            continue
        kind = schema.column_type(table, col)
        val = v(col)
        desc = mapping.columns[col].describe() if col in mapping.columns else ""
        if col == "event_id":
            if isinstance(id_prefix, str):
                prefix = p.add(id_prefix + "-", "VARCHAR")
            else:
                prefix = f"({p.add([x + '-' for x in id_prefix], 'VARCHAR[]')})[__file_no]"
            typed[col] = f"coalesce({val}, {prefix} || __rec)" if val else f"{prefix} || __rec"
        elif table == "access_events" and col == "action":
            typed[col] = _action_expr(mapping, p)
        elif table == "access_events" and col == "raw_action":
            typed[col] = v("raw_action") or v("action") or "NULL"
        elif col == "outcome":
            # An outcome word nobody mapped loads as NULL; its text is kept in extra.
            typed[col] = _outcome_expr(val, mapping, p) if val else "NULL"
        elif val is None:
            typed[col] = "NULL"
        elif kind == "TIMESTAMPTZ":
            typed[col] = timestamp_expr(val, mapping, p)
            expected = mapping.ts_format or "ISO 8601"
            reasons.append((f"{val} IS NOT NULL AND __t_{col} IS NULL",
                            f"{lit(f'unreadable timestamp in {desc}: ')} || {_shorten(val)} "
                            f"|| {lit(f' (expected {expected})')}"))
        elif kind in ("BIGINT", "INTEGER"):
            typed[col] = _int_expr(val, kind)
            reasons.append((f"{val} IS NOT NULL AND __t_{col} IS NULL",
                            f"{lit(f'{col} in {desc} is not a whole number: ')} || {_shorten(val)}"))
        else:
            typed[col] = val
    for port in ("src_port", "dst_port"):
        if port in typed and typed[port] != "NULL":
            reasons.append((f"__t_{port} NOT BETWEEN 0 AND 65535",
                            f"{lit(f'{port} out of range 0-65535: ')} || __t_{port}"))
    required = "ts" if table == "access_events" else "ts_start"
    req_desc = mapping.columns[required].describe()
    reasons.insert(0, (f"{v(required)} IS NULL", lit(f"missing timestamp ({req_desc} is empty)")))
    reasons[:0] = list(pre_reasons)

    level2 = "SELECT *" + "".join(f", {expr} AS __t_{col}" for col, expr in typed.items()) + f" FROM ({level1})"
    reason_sql = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in reasons) + " END" if reasons else "NULL"
    out_cols = ", ".join(f"__t_{col} AS {col}" for col in typed)
    extra = "__extra"
    if "outcome" in mapping.columns:
        extra = (f"CASE WHEN __v_outcome IS NOT NULL AND __t_outcome IS NULL THEN json_merge_patch("
                 f"coalesce(__extra, '{{}}'), json_object('raw_outcome', __v_outcome)) ELSE __extra END")
    apart = apart_sql or "NULL::VARCHAR"
    if apart_sql:  # a record set apart is not checked for problems
        reason_sql = f"CASE WHEN ({apart}) IS NOT NULL THEN NULL ELSE {reason_sql} END"
    # The raw record is only built for rejects and records set apart.
    return (f"SELECT __file_no AS __file, __rec, {reason_sql} AS __reason, {apart} AS __apart, "
            f"CASE WHEN ({reason_sql}) IS NOT NULL OR ({apart}) IS NOT NULL THEN CAST({raw_sql} AS VARCHAR) END AS __raw, "
            f"{out_cols}, CAST({extra} AS JSON) AS extra FROM ({level2})")


def _action_expr(mapping: Mapping, p: Params) -> str:
    # A mapped `action` is the source's own verdict; otherwise the raw action is translated.
    raw = "__v_action" if "action" in mapping.columns else (
        "__v_raw_action" if "raw_action" in mapping.columns else None)
    if raw is None:
        return "NULL"
    keys = p.add(list(mapping.actions), "VARCHAR[]")
    vals = p.add(list(mapping.actions.values()), "VARCHAR[]")
    vocab = p.add(list(schema.ACTIONS), "VARCHAR[]")
    low = f"lower(trim({raw}))"
    return (f"CASE WHEN {raw} IS NULL THEN NULL ELSE coalesce(MAP({keys}, {vals})[{low}], "
            f"CASE WHEN list_contains({vocab}, {low}) THEN {low} END, 'other') END")


def _outcome_expr(val: str, mapping: Mapping, p: Params) -> str:
    table = {**DEFAULT_OUTCOMES, **mapping.outcomes}
    keys = p.add(list(table), "VARCHAR[]")
    vals = p.add(list(table.values()), "VARCHAR[]")
    return f"MAP({keys}, {vals})[lower(trim({val}))]"
