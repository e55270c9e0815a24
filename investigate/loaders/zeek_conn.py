"""Zeek ``conn.log`` (format ``zeek_conn``): see ``formats/zeek_conn.yml`` and docs/formats/zeek_conn.md.

Two layouts, told apart by the first non-blank line:

- **ASCII** (Zeek's default writer): ``#separator``, ``#set_separator``, ``#empty_field``,
  ``#unset_field``, ``#path``, ``#open``, ``#fields``, ``#types`` header lines, then one record per
  line, then ``#close``. The file itself says which field is which, so values are named by the
  most recent header block before them (a file may hold several: concatenated logs, another
  separator). ``LogAscii::tsv=T`` files have one plain row of field names instead, tab-separated.
- **JSON lines** (``LogAscii::use_json=T``: dotted keys ``id.orig_h``; corelight's
  json-streaming-logs: ``id_orig_h`` and ``@stream``/``@system`` keys); unset fields are omitted.

Header lines are not records. Everything is parsed in DuckDB: header lines are few, so their state
(separator, field names, types, unset and empty markers) is computed over them alone and joined to
the records with an ASOF join on the line number.
"""

from __future__ import annotations

import json
import re

from .base import StageOutput, register
from .native import SpecLoader
from .records import lines_sql
from .sources import SourceFile, head_bytes
from .typed import Params

# Fields the columns hold in full (left out of extra); all other fields go to extra.
MAPPED = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto"]
# The names the spec's expressions use -> the Zeek field.
FIELDS = {"ts": "ts", "uid": "uid", "orig_h": "id.orig_h", "orig_p": "id.orig_p", "resp_h": "id.resp_h",
          "resp_p": "id.resp_p", "proto": "proto", "duration": "duration", "orig_bytes": "orig_bytes",
          "resp_bytes": "resp_bytes", "orig_pkts": "orig_pkts", "resp_pkts": "resp_pkts",
          "conn_state": "conn_state"}
# Types of conn.log fields, for files that do not declare them (LogAscii::tsv=T).
CONN_TYPES = {"ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr",
              "id.resp_p": "port", "proto": "enum", "service": "string", "duration": "interval",
              "orig_bytes": "count", "resp_bytes": "count", "conn_state": "string", "local_orig": "bool",
              "local_resp": "bool", "missed_bytes": "count", "history": "string", "orig_pkts": "count",
              "orig_ip_bytes": "count", "resp_pkts": "count", "resp_ip_bytes": "count",
              "tunnel_parents": "set[string]", "ip_proto": "count", "vlan": "int", "inner_vlan": "int"}
# 2000-01-01T00:00:00Z. A capture's ts below this is not a date: the Stratosphere CTU-230 log
# has ts 15.230937, seconds since the capture began. No Zeek log predates 2000 (Bro 0.x
# logged other formats), so the rule cannot turn away a real date.
RELATIVE_BEFORE = 946684800
RELATIVE = ("timestamp {} is seconds since the capture began, not a date (it is before 2000-01-01): "
            "loading it would put the connection in 1970")
MASKED = ("timestamp masked ({}, as Zeek test baselines write it): the record has no time to load")
NO_TS = "ts is unset: a connection without a start time cannot be placed in time"
COUNT_MSG = "{} values where the #fields header line (line {}) names {} fields: a cut or damaged line"
NO_HEADER = "no #fields header line before this record: which value is which field cannot be told"
NOT_CONN = "a Zeek '{}' log record, not conn: this format reads conn.log only"

_SNIFF_TSV = re.compile(r"(?m)^#fields(\t|,| ).*\bid\.orig_h\b")
_SNIFF_PLAIN = re.compile(r"\A(?:[^\n]*\t)?ts\t(?:[^\n]*\t)?id\.orig_h\t")


def _dec(v: str) -> str:
    """SQL decoding Zeek's escapes (``\\xHH``, ``\\\\``) in the text ``v``.

    The text is read as a BLOB literal, which understands ``\\xHH``; a backslash written as
    ``\\\\`` becomes ``\\x5c`` first. Text that does not decode (a byte sequence that is not
    UTF-8, or non-ASCII text mixed with escapes) is kept as written.
    """
    return (f"CASE WHEN contains({v}, chr(92)) THEN coalesce(try(decode(CAST(replace({v}, "
            f"chr(92) || chr(92), chr(92) || 'x5c') AS BLOB))), {v}) ELSE {v} END")


# A LogAscii::tsv=T header: a plain row naming ts and id.orig_h (no record holds both words).
_PLAIN_HEADER = ("(NOT starts_with(__line, '#') AND contains(__line, 'id.orig_h') "
                 "AND list_contains(string_split(__line, chr(9)), 'id.orig_h') "
                 "AND list_contains(string_split(__line, chr(9)), 'ts'))")


@register
class ZeekConnLoader(SpecLoader):
    name = "zeek_conn"
    description = ("Zeek conn.log: ASCII (#fields headers, any separator, several header blocks, "
                   "LogAscii::tsv=T) or JSON lines (dotted or underscore id keys)")
    extensions = (".log", ".tsv", ".json", ".jsonl", ".ndjson")
    spec_name = "zeek_conn"

    def sniff(self, head: str) -> int:
        text = head.lstrip("\ufeff")
        first = next((ln for ln in text.split("\n") if ln.strip()), "")
        conn = "conn_state" in text or re.search(r"(?m)^#path\W+conn\b", text) or '"@stream":"conn"' in text
        if first.startswith("{"):
            hit = '"uid"' in first and '"ts"' in first and ('"id.orig_h"' in first or '"id_orig_h"' in first)
        else:
            hit = "#separator" in text and _SNIFF_TSV.search(text) or _SNIFF_PLAIN.match(text)
        if not hit:
            return 0
        return 100 if conn else 60  # another Zeek log (http, dns...) has id.orig_h too

    def stage(self, con, source: SourceFile, mapping) -> StageOutput:
        head = head_bytes(source, 65536).decode("utf-8", errors="replace").lstrip("\ufeff")
        first = next((ln for ln in head.split("\n") if ln.strip()), "")
        is_json = first.lstrip().startswith("{")
        heads = None if is_json else self._ascii_heads(con, source)

        def pipeline(p: Params, exclude: str | None = None, count_only: bool = False) -> str:
            if count_only:  # header lines are not records
                lines = lines_sql(source, p, parts=False)
                return (f"SELECT __file, __rec FROM {lines}" if is_json else
                        f"SELECT __file, __rec FROM {lines} WHERE NOT starts_with(__line, '#') AND NOT {_PLAIN_HEADER}")
            lines = lines_sql(source, p, exclude=exclude)
            parsed = self._json(lines, p) if is_json else self._ascii(lines, heads, p)
            return self._typed(parsed, source, p)

        return StageOutput(pipeline=pipeline)

    def _typed(self, parsed: str, source: SourceFile, p: Params) -> str:
        # Exact decimal sum. Plain times of at most six decimals (all Zeek writes) fit DECIMAL(18, 6),
        # cheaper than DECIMAL(38, 9) (HUGEINT); anything else takes the general way.
        plain = "regexp_full_match({}, '[0-9]{{1,11}}(\\.[0-9]{{1,6}})?')"
        ts_end = (f"CASE WHEN {plain.format('ts')} AND {plain.format('duration')} "
                  "THEN CAST(CAST(ts AS DECIMAL(18, 6)) + CAST(duration AS DECIMAL(18, 6)) AS VARCHAR) "
                  "WHEN ts IS NULL OR duration IS NULL THEN NULL "
                  "WHEN TRY_CAST(duration AS DECIMAL(38, 9)) IS NULL THEN duration "
                  "ELSE CAST(CAST(TRY_CAST(ts AS DECIMAL(38, 9)) + TRY_CAST(duration AS DECIMAL(38, 9)) "
                  "AS DECIMAL(38, 6)) AS VARCHAR) END")
        icmp = "coalesce(lower(proto) IN ('icmp', 'icmpv6', 'icmp6'), false)"
        # ICMP type and code sit in the port fields; extra says so by name.
        extra = (f"CASE WHEN __extra IS NULL THEN NULL WHEN {icmp} THEN json_merge_patch(__extra, "
                 "json_object('icmp_type', TRY_CAST(orig_p AS INTEGER), 'icmp_code', TRY_CAST(resp_p AS INTEGER))) "
                 "ELSE __extra END")
        from_sql = f'(SELECT *, {ts_end} AS "ts + duration", {icmp} AS is_icmp FROM {parsed})'

        def msg(text: str) -> str:
            return p.add(text, "VARCHAR")

        epoch = "regexp_full_match(ts, '\\s*-?\\d+(\\.\\d*)?\\s*')"
        relative = RELATIVE.split("{}")
        masked = MASKED.split("{}")
        return self._select(from_sql, p, source, extra_sql=extra, pre_reasons=[
            ("__problem IS NOT NULL", "__problem"),
            ("ts IS NULL", msg(NO_TS)),
            ("regexp_full_match(ts, 'X+(\\.X+)?')", f"{msg(masked[0])} || ts || {msg(masked[1])}"),
            (f"{epoch} AND TRY_CAST(ts AS DOUBLE) < {RELATIVE_BEFORE}",
             f"{msg(relative[0])} || trim(ts) || {msg(relative[1])}"),
        ])

    # --- JSON lines -----------------------------------------------------------------------------

    def _json(self, lines: str, p: Params) -> str:
        names = list(FIELDS)
        paths = []
        for n in names:
            zeek = FIELDS[n]
            paths += [f'$."{zeek}"', f'$."{zeek.replace(".", "_")}"']
        paths += ['$."_path"', '$."@stream"']
        plist = p.add(paths, "VARCHAR[]")
        picked = ", ".join(f"coalesce(__f[{2 * i + 1}], __f[{2 * i + 2}]) AS {'__ts' if n == 'ts' else n}"
                           for i, n in enumerate(names))
        drop = {k: None for f in MAPPED for k in (f, f.replace(".", "_"))}
        drop_sql = p.add(json.dumps(drop), "JSON")
        # A time written as ISO text (LogAscii::json_timestamps=JSON::TS_ISO8601) becomes epoch text.
        ts = ("CASE WHEN __ts IS NULL OR regexp_full_match(__ts, '\\s*-?\\d+(\\.\\d*)?([eE][+-]?\\d+)?\\s*') "
              "OR TRY_CAST(__ts AS TIMESTAMPTZ) IS NULL THEN __ts "
              "ELSE CAST(CAST(epoch_us(TRY_CAST(__ts AS TIMESTAMPTZ)) AS DECIMAL(38, 6)) / 1000000 AS VARCHAR) END")
        path = "coalesce(__f[" + str(2 * len(names) + 1) + "], __f[" + str(2 * len(names) + 2) + "])"
        not_conn = NOT_CONN.split("{}")
        return f"""(SELECT * EXCLUDE (__ts), {ts} AS ts FROM (
            SELECT __rec, __line, {picked},
                   CASE WHEN __f IS NULL THEN 'not valid JSON'
                        WHEN NOT starts_with(ltrim(__line), '{{') THEN 'not a JSON object'
                        WHEN {path} IS NOT NULL AND NOT starts_with({path}, 'conn')
                        THEN {p.add(not_conn[0], 'VARCHAR')} || {path} || {p.add(not_conn[1], 'VARCHAR')} END AS __problem,
                   CASE WHEN __f IS NOT NULL AND starts_with(ltrim(__line), '{{')
                        THEN json_merge_patch(__line, {drop_sql}) END AS __extra
            FROM (SELECT __rec, __line, try(json_extract_string(__line, {plist})) AS __f
                  FROM {lines})))"""

    # --- ASCII ----------------------------------------------------------------------------------

    def _ascii_heads(self, con, source: SourceFile) -> tuple[dict, list]:
        """Pass 1: the header lines alone (few) give the state in force after each of them; the
        distinct states (layouts) are numbered, with where each comes into force."""
        q = Params()
        heads = con.execute(f"SELECT __rec, __sep, __fields, __hdr, __types, __unset, __empty, __setsep, __path "
                            f"FROM ({self._heads_sql(source, q)}) ORDER BY __rec", q.values).fetchall()
        layouts: dict[tuple, int] = {}
        marks = []  # (header line, state number, #fields line) where the state changes
        for i, (rec, sep, fields, hdr, types, unset, empty, setsep, path) in enumerate(heads):
            key = (sep if sep is not None else "\t", tuple(fields) if fields is not None else None,
                   tuple(types) if types is not None else None, unset, empty, setsep, path)
            no = layouts.setdefault(key, len(layouts) + 1)
            nxt = heads[i + 1][0] if i + 1 < len(heads) else None
            if nxt != rec + 1:  # records may follow this line
                marks.append((int(rec), no, int(hdr) if hdr is not None else None))
        return layouts, marks

    def _ascii(self, lines: str, heads: tuple[dict, list], p: Params) -> str:
        """The records, read with fixed positions per layout."""
        layouts, marks = heads
        tab = "chr(9)"
        data = (f"(SELECT __rec, __line FROM {lines} "
                f"WHERE NOT starts_with(__line, '#') AND NOT {_PLAIN_HEADER})")
        if not marks:
            numbered = f"SELECT __rec, __line, NULL::INTEGER AS __lno, NULL::BIGINT AS __hdr FROM {data}"
        elif len(marks) <= 64:
            desc = marks[::-1]
            lno = "CASE " + " ".join(f"WHEN __rec > {r} THEN {n}" for r, n, _ in desc) + " END"
            hdr = "CASE " + " ".join(f"WHEN __rec > {r} THEN {h if h is not None else 'NULL'}" for r, _, h in desc) + " END"
            numbered = f"SELECT __rec, __line, ({lno})::INTEGER AS __lno, ({hdr})::BIGINT AS __hdr FROM {data}"
        else:
            table = (f"(SELECT unnest({p.add([m[0] for m in marks], 'BIGINT[]')}) AS __h_rec, "
                     f"unnest({p.add([m[1] for m in marks], 'INTEGER[]')}) AS __h_no, "
                     f"unnest({p.add([m[2] for m in marks], 'BIGINT[]')}) AS __h_hdr)")
            numbered = (f"SELECT l.__rec, l.__line, h.__h_no AS __lno, h.__h_hdr AS __hdr FROM {data} AS l "
                        f"ASOF LEFT JOIN {table} AS h ON l.__rec > h.__h_rec")
        seps = {key[0] for key in layouts}
        if len(seps) <= 1:
            split = f"string_split(__line, {p.add(seps.pop() if seps else chr(9), 'VARCHAR')})"
        else:
            split = ("string_split(__line, CASE __lno " + " ".join(
                f"WHEN {no} THEN {p.add(key[0], 'VARCHAR')}" for key, no in layouts.items()) + f" ELSE {tab} END)")

        def per_layout(values: dict[int, str]) -> str:
            if not values:
                return "NULL"
            return "CASE __lno " + " ".join(f"WHEN {no} THEN {v}" for no, v in values.items()) + " END"

        picked: dict[str, dict[int, str]] = {n: {} for n in FIELDS}
        problem: dict[int, str] = {}
        extra: dict[int, str] = {}
        texts: dict[str, str] = {}

        def text(value: str) -> str:  # one parameter per text, added when used
            if value not in texts:
                texts[value] = p.add(value, "VARCHAR")
            return texts[value]

        not_conn = NOT_CONN.split("{}")
        for (sep, fields, types, unset, empty, setsep, path), no in layouts.items():
            if fields is None:
                problem[no] = text(NO_HEADER)
                continue
            unset, empty = unset if unset is not None else "-", empty if empty is not None else "(empty)"
            setsep = setsep if setsep is not None else ","
            u, e = text(unset), text(empty)
            for n, zeek in FIELDS.items():
                if zeek in fields:
                    v = f"__vals[{fields.index(zeek) + 1}]"
                    picked[n][no] = f"CASE WHEN {v} = {u} OR {v} = {e} THEN NULL ELSE {_dec(v)} END"
            count = (f"len(__vals) <> {len(fields)}",
                     f"format({text(COUNT_MSG)}, len(__vals), __hdr, {len(fields)})")
            if path is not None and path != "-" and not path.startswith("conn"):
                problem[no] = (f"CASE WHEN {count[0]} THEN {count[1]} ELSE "
                               f"{p.add(not_conn[0] + path + not_conn[1], 'VARCHAR')} END")
            else:
                problem[no] = f"CASE WHEN {count[0]} THEN {count[1]} END"
            if types is None or len(types) != len(fields):
                types = tuple(CONN_TYPES.get(f, "string") for f in fields)
            # extra is written as JSON text with one concat per record: the keys (and the
            # punctuation around them) are constants, and each field's JSON form is chosen here,
            # once per layout, from its declared Zeek type.
            parts = []
            for i, (f, t) in enumerate(zip(fields, types), start=1):
                if f in MAPPED:
                    continue
                v = f"__vals[{i}]"
                if re.match(r"(set|vector|table)\[", t):
                    s = text(setsep)
                    val = (f"CASE WHEN {v} = {e} THEN '[]' ELSE to_json(list_transform(string_split({v}, {s}), "
                           f"lambda x: CASE WHEN x = {u} THEN NULL ELSE {_dec('x')} END)) END")
                elif t in ("count", "int", "port"):
                    val = (f"CASE WHEN {v} = {e} THEN '\"\"' WHEN regexp_full_match({v}, '-?(0|[1-9]\\d*)') "
                           f"THEN {v} ELSE to_json({_dec(v)}) END")
                elif t in ("double", "interval", "time"):
                    val = (f"CASE WHEN {v} = {e} THEN '\"\"' WHEN regexp_full_match({v}, '-?(0|[1-9]\\d*)(\\.\\d+)?') "
                           f"THEN {v} ELSE to_json({_dec(v)}) END")
                elif t == "bool":
                    val = (f"CASE WHEN {v} = {e} THEN '\"\"' WHEN {v} = 'T' THEN 'true' WHEN {v} = 'F' THEN 'false' "
                           f"ELSE to_json({_dec(v)}) END")
                else:
                    val = f"CASE WHEN {v} = {e} THEN '\"\"' ELSE to_json({_dec(v)}) END"
                key = text(("," if parts else "{") + json.dumps(f, ensure_ascii=False) + ":")
                parts.append(f"{key}, CASE WHEN {v} = {u} THEN 'null' ELSE {val} END")
            body = f"concat({', '.join(parts)}, '}}')" if parts else "'{}'"
            extra[no] = f"CASE WHEN len(__vals) = {len(fields)} THEN CAST({body} AS JSON) END"
        cols = ", ".join(f"{per_layout(picked[n])} AS {n}" for n in FIELDS)
        return f"""(
            SELECT __rec, __line, {cols}, CASE WHEN __lno IS NULL THEN {text(NO_HEADER)} ELSE {per_layout(problem)} END AS __problem, {per_layout(extra)} AS __extra
            FROM (SELECT *, {split} AS __vals FROM ({numbered})))"""

    def _heads_sql(self, source: SourceFile, p: Params) -> str:
        """SELECT, for every header line, the state in force after it (separator, field names,
        types, unset and empty markers, set separator, path, the #fields line)."""
        tab = "chr(9)"
        sep_line = "starts_with(__line, '#separator ')"
        plain = _PLAIN_HEADER
        after = ("CASE WHEN __plain THEN __line WHEN starts_with(substr(__line, length(__dir) + 2), __sep) "
                 "THEN substr(__line, length(__dir) + 2 + length(__sep)) "
                 "ELSE ltrim(substr(__line, length(__dir) + 2), ' ') END")

        def state(col: str) -> str:
            return (f"last_value({col} IGNORE NULLS) OVER (PARTITION BY __block ORDER BY __rec "
                    f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {col}")

        return f"""
            WITH lines AS (
                SELECT __rec, __line, {plain} AS __plain
                FROM {lines_sql(source, p)} WHERE starts_with(__line, '#') OR {plain}),
            h0 AS (
                SELECT __rec, __line, __plain,
                       CASE WHEN {sep_line} THEN {_dec('substr(__line, 12)')} END AS __sep_decl,
                       sum(CASE WHEN __plain OR {sep_line} THEN 1 ELSE 0 END)
                           OVER (ORDER BY __rec ROWS UNBOUNDED PRECEDING) AS __block,
                       CASE WHEN __plain THEN '' ELSE regexp_extract(__line, '^#([A-Za-z_]+)', 1) END AS __dir
                FROM lines),
            h1 AS (
                SELECT *, CASE WHEN __plain THEN {tab}
                               ELSE coalesce(max(__sep_decl) OVER (PARTITION BY __block), {tab}) END AS __sep
                FROM h0),
            h2 AS (
                SELECT __rec, __block, __sep, {after} AS __val, __dir, __plain FROM h1),
            h3 AS (
                SELECT __rec, __block, __sep,
                       CASE WHEN __plain OR __dir = 'fields' THEN string_split(__val, __sep) END AS __fields,
                       CASE WHEN __plain OR __dir = 'fields' THEN __rec END AS __hdr,
                       CASE WHEN __dir = 'types' THEN string_split(__val, __sep) END AS __types,
                       CASE WHEN __dir = 'unset_field' THEN __val END AS __unset,
                       CASE WHEN __dir = 'empty_field' THEN __val END AS __empty,
                       CASE WHEN __dir = 'set_separator' THEN {_dec('__val')} END AS __setsep,
                       CASE WHEN __dir = 'path' THEN __val END AS __path
                FROM h2)
            SELECT __rec, __sep, {state('__fields')}, {state('__hdr')}, {state('__types')},
                   {state('__unset')}, {state('__empty')}, {state('__setsep')}, {state('__path')}
            FROM h3"""
