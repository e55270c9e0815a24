"""PostgreSQL pgaudit entries in a server log (format ``pgaudit``): see ``formats/pgaudit.yml``.

A server log holds far more than audit entries, and an entry may span several lines (a quoted
multi-line statement). The log is first cut into *entries*: a line starts a new entry when it
begins with a timestamp or carries a level marker (``LOG:  ``, ``ERROR:  ``, ``STATEMENT:  ``...)
after its prefix; any other line continues the entry above it. PostgreSQL writes a tab at the
start of every continuation line of a message; that tab is removed again, so the statement reads
as it was sent. Entries whose first level marker is followed by ``AUDIT: `` are the records;
every other entry (other messages, ERROR/STATEMENT/DETAIL lines) is not an access and is not a
record. A record's number is the line number of its first line.
"""

from __future__ import annotations

import re

from .base import STAGED, register
from .native import LineSpecLoader
from .records import lines_sql
from .sources import SourceFile
from .typed import Params, quote_ident

# Severity words PostgreSQL writes after the log_line_prefix, each followed by two spaces.
_LEVELS = ("DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|"
           "LOCATION|STATEMENT")
# A line that starts an entry: a %m/%t timestamp first, or a level marker after a prefix that
# does not start with white space (continuation lines start with a tab, or with SQL text that
# has no level marker).
_ENTRY_START = rf"^(\d{{4}}-\d{{2}}-\d{{2}}[ T]\d{{2}}:\d{{2}}:\d{{2}}|([^\t ][^\t]*?)?\b({_LEVELS}):  )"
# What follows the first level marker of a line: "AUDIT: " marks a pgaudit entry.
_AFTER_LEVEL = rf"^(?:[^\t ][^\t]*?)?\b(?:{_LEVELS}):  (AUDIT: )?"
# The text before the first level marker: the log_line_prefix (empty in client-side output).
_PREFIX = rf"^(.*?)\b(?:{_LEVELS}):  "

# The log_line_prefix parts we recognise (docs/formats/pgaudit.md lists the prefixes).
# %m / %t: a timestamp with the zone PostgreSQL writes after it (an abbreviation or an offset).
_TS = r"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(?: ?([A-Za-z]{1,6}\b|[+-]\d{2}(?::?\d{2})?))?"
# %u@%d (PostgreSQL writes [unknown] where it has no name), or user=%u / db=%d.
_USER_AT_DB = r"(?:^|[\s:\[\]])(\[unknown\]|[^\s:@\[\]()=,]+)@(\[unknown\]|[^\s:@\[\]()=,]*)"
# '%m %u %d [%p]: ' (the layout pgaudit's README suggests): user and database before the pid.
_USER_SPACE_DB = r"^\s*([^\s:@\[\]()=,]+)\s+([^\s:@\[\]()=,]+)\s+\[\d+\]"
_USER_KW = r"(?:^|[\s,;:\[\]])user=([^\s,;]*)"
_DB_KW = r"(?:^|[\s,;:\[\]])db=([^\s,;]*)"
# %p as [1234] or pid=1234.
_PID = r"\[(\d+)\]|pid=(\d+)"
# %r / %h: client=, host= or remote= keywords, else host(port), else a bare IPv4 token.
_HOST_KW = r"(?:^|[\s,;:\[\]])(?:client|host|remote)=([^\s,;]*)"
_HOST_PORT = r"([^\s()\[\]@,=]+)\((\d+)\)"
_HOST_IPV4 = r"(?:^|\s)((?:\d{1,3}\.){3}\d{1,3})(?:\s|$)"
_APP_KW = r"(?:^|[\s,;:\[\]])app=([^,;]*?)(?:[,;]|\s*$)"

# Zone abbreviations PostgreSQL may write for log_timezone, with their UTC offsets. Ambiguous
# ones (CST: US or China; IST: India, Ireland or Israel; AST: Atlantic or Arabia) are left out
# on purpose: a record written with one is rejected rather than placed at a guessed instant.
ZONE_OFFSETS = {
    "UTC": "+00:00", "GMT": "+00:00", "UT": "+00:00", "Z": "+00:00", "WET": "+00:00",
    "WEST": "+01:00", "BST": "+01:00", "CET": "+01:00", "MET": "+01:00", "WAT": "+01:00",
    "CEST": "+02:00", "MEST": "+02:00", "EET": "+02:00", "SAST": "+02:00", "CAT": "+02:00",
    "EEST": "+03:00", "MSK": "+03:00", "EAT": "+03:00", "PKT": "+05:00", "WIB": "+07:00",
    "HKT": "+08:00", "AWST": "+08:00", "JST": "+09:00", "KST": "+09:00", "ACST": "+09:30",
    "AEST": "+10:00", "ACDT": "+10:30", "AEDT": "+11:00", "NZST": "+12:00", "NZDT": "+13:00",
    "NDT": "-02:30", "ADT": "-03:00", "NST": "-03:30", "EDT": "-04:00", "EST": "-05:00",
    "CDT": "-05:00", "MDT": "-06:00", "MST": "-07:00", "PDT": "-07:00", "PST": "-08:00",
    "AKDT": "-08:00", "AKST": "-09:00", "HST": "-10:00",
}

_SNIFF = re.compile(r"(?m)(?:^|[\s:\]])(?:LOG|NOTICE|WARNING|INFO|DEBUG):  AUDIT: (?:SESSION|OBJECT),\d+,\d+,")
_NOT_AUDIT = ("not a complete pgaudit AUDIT entry (AUDIT: type,statement id,substatement id,class,"
              "command,object type,object name,statement,parameter): ")
NO_TIMESTAMP = "no timestamp in the log line prefix (log_line_prefix needs %m or %t)"
_ZONE_HINT = " (set log_timezone to UTC, or to a zone PostgreSQL writes as an offset)"
# CSV fields that may be quoted (the others are plain words or numbers).
_QUOTABLE = ("command", "object_type", "object_name", "statement", "parameter")


@register
class PgauditLoader(LineSpecLoader):
    name = "pgaudit"
    description = ("PostgreSQL pgaudit AUDIT entries in the server log (stderr/logging_collector "
                   "text files, any log_line_prefix with %m or %t; multi-line statements)")
    extensions = (".log", ".txt")
    batch = False  # a file's entries are found by window functions over its own lines

    def sniff(self, head: str) -> int:
        return 100 if _SNIFF.search(head) else 0

    def lines(self, source: SourceFile, p: Params) -> str:
        """One row per record: ``__rec`` (its first line), ``__line`` (the lines as written,
        joined with newlines) and ``__text`` (what the pattern parses).

        The records are the AUDIT entries (``__text``: the entry with PostgreSQL's continuation
        tabs removed) and the ``permission denied`` errors: a refused access leaves no AUDIT
        entry, only an ERROR and the STATEMENT that caused it. Such an error is written out as
        an AUDIT entry of class ``DENIED`` (the command, object and statement taken from the
        two), so one pattern reads both and the columns say ``outcome = failure``.
        """
        start, after = p.add(_ENTRY_START, "VARCHAR"), p.add(_AFTER_LEVEL, "VARCHAR")
        prefix = p.add(_PREFIX, "VARCHAR")
        level = p.add(rf"\b({_LEVELS}):  ", "VARCHAR")
        pid = p.add(_PID, "VARCHAR")
        denied = p.add(r"ERROR:  permission denied for ([a-z ]+?) (\S+)\s*$", "VARCHAR")
        first_word = p.add(r"^\s*([A-Za-z]+)", "VARCHAR")
        # Blank lines are not in lines_sql(); a gap in the line numbers puts them back, so a
        # statement keeps its empty lines.
        return f"""(
            WITH marked AS (
                SELECT __rec, __line, regexp_matches(__line, {start}) AS __start,
                       regexp_extract(__line, {after}, 1) = 'AUDIT: ' AS __audit,
                       regexp_extract(__line, {prefix}, 1) <> '' AS __prefixed
                FROM {lines_sql(source, p)}),
            grouped AS (
                SELECT *, sum(__start::INTEGER) OVER (ORDER BY __rec ROWS UNBOUNDED PRECEDING) AS __grp,
                       __rec - lag(__rec) OVER (ORDER BY __rec) AS __gap
                FROM marked),
            entries AS (
                SELECT min(__rec) AS __rec,
                       string_agg(CASE WHEN __start THEN __line ELSE repeat(chr(10), __gap::INTEGER) || __line END,
                                  '' ORDER BY __rec) AS __line,
                       bool_or(__start AND __audit) AS __audit,
                       bool_or(__start AND __prefixed) AS __prefixed
                FROM grouped WHERE __grp > 0 GROUP BY __grp),
            texts AS (
                SELECT *, CASE WHEN __prefixed THEN replace(__line, chr(10) || chr(9), chr(10)) ELSE __line END AS __text,
                       regexp_extract(__line, {level}, 1) AS __level,
                       coalesce(nullif(regexp_extract(split_part(__line, chr(10), 1), {pid}, 1), ''),
                                nullif(regexp_extract(split_part(__line, chr(10), 1), {pid}, 2), '')) AS __pid
                FROM entries),
            sessions AS (
                -- the entry that follows in the same server process: an error's STATEMENT
                SELECT *, CASE WHEN __pid IS NOT NULL THEN lead(__text) OVER (PARTITION BY __pid ORDER BY __rec) END AS __next,
                       CASE WHEN __pid IS NOT NULL THEN lead(__level) OVER (PARTITION BY __pid ORDER BY __rec) END AS __next_level
                FROM texts),
            refused AS (
                SELECT *, regexp_extract(split_part(__text, chr(10), 1), {denied}, ['kind', 'object']) AS __d,
                       CASE WHEN __next_level = 'STATEMENT' THEN regexp_extract(__next, '(?s)STATEMENT:  (.*)$', 1) END AS __stmt
                FROM sessions WHERE NOT __audit AND __level = 'ERROR')
            SELECT __rec, __line, __text FROM texts WHERE __audit
            UNION ALL
            SELECT __rec, __line,
                   regexp_extract(split_part(__text, chr(10), 1), {prefix}, 1) || 'LOG:  AUDIT: SESSION,0,0,DENIED,'
                   || coalesce(upper(nullif(regexp_extract(__stmt, {first_word}, 1), '')), '') || ','
                   || upper(__d.kind) || ',' || __d.object || ','
                   || '"' || replace(coalesce(__stmt, ''), '"', '""') || '"' || ',<not logged>' AS __text
            FROM refused WHERE __d.object <> '')"""

    def stage(self, con, source: SourceFile, mapping) -> None:
        p = Params()
        names = list(self.spec.fields)
        pattern, groups = p.add(self.spec.pattern, "VARCHAR"), p.add(names, "VARCHAR[]")
        matched = (f"SELECT __rec, __line, regexp_full_match(__text, {pattern}) AS __ok, "
                   f"regexp_extract(__text, {pattern}, {groups}) AS __m FROM {self.lines(source, p)}")
        # The pattern's fields, CSV-unquoted, empty -> NULL; then the parts of the prefix.
        values = {n: f"__m.{quote_ident(n)}" for n in names}
        fields = ", ".join(f"nullif({_unquote(v) if n in _QUOTABLE else v}, '') AS {quote_ident(n)}"
                           for n, v in values.items())
        parsed = (f"(SELECT *, {_prefix_columns(p)} FROM "
                  f"(SELECT __rec, __line, __ok, {fields} FROM ({matched})) AS __f)")

        def msg(text: str) -> str:
            return p.add(text, "VARCHAR")

        sql = self._select(parsed, p, source, extra_sql=self.extra_sql(names, p), pre_reasons=[
            # The first line from "AUDIT: " on: the prefix is not what went wrong.
            ("NOT __ok", f"{msg(_NOT_AUDIT)} || "
                         "left(regexp_extract(split_part(__line, chr(10), 1), 'AUDIT: .*'), 100)"),
            ("__ts_local IS NULL", msg(NO_TIMESTAMP)),
            ("__zone IS NULL",
             f"{msg('no time zone after the timestamp in the log line prefix: ')} || __ts_local"),
            ("ts_text IS NULL", f"{msg('unknown or ambiguous time zone abbreviation in the log line prefix: ')} "
                                f"|| __zone || {msg(_ZONE_HINT)}"),
        ])
        con.execute(f"CREATE TEMP TABLE {STAGED} AS {sql}", p.values)

    def extra_sql(self, names: list[str], p: Params) -> str:
        kept = [n for n in names if n not in self.spec.extra_exclude]
        kept += ["log_line_prefix", "pid", "database", "remote_host", "remote_port", "application"]
        return "json_object(" + ", ".join(f"{p.add(n, 'VARCHAR')}, {quote_ident(n)}" for n in kept) + ")"


def _unquote(v: str) -> str:
    # A CSV field: "..." with doubled quotes inside, or plain text.
    return (f"CASE WHEN starts_with({v}, '\"') THEN replace({v}[2:-2], '\"\"', '\"') ELSE {v} END")


def _prefix_columns(p: Params) -> str:
    """SQL columns parsed out of the log_line_prefix (``prefix``)."""
    ts = p.add(_TS, "VARCHAR")
    rest = f"replace(prefix, regexp_extract(prefix, {ts}, 0), '')"

    def rx(pattern: str, group: int = 1, text: str = rest) -> str:
        return f"nullif(regexp_extract({text}, {p.add(pattern, 'VARCHAR')}, {group}), '')"

    zone = f"nullif(regexp_extract(prefix, {ts}, 2), '')"
    numeric = (f"CASE WHEN regexp_full_match({zone}, '[+-]\\d{{2}}') THEN {zone} || ':00' "
               f"WHEN regexp_full_match({zone}, '[+-]\\d{{4}}') THEN {zone}[1:3] || ':' || {zone}[4:5] "
               f"WHEN regexp_full_match({zone}, '[+-]\\d{{2}}:\\d{{2}}') THEN {zone} END")
    offsets = (f"MAP({p.add(list(ZONE_OFFSETS), 'VARCHAR[]')}, "
               f"{p.add(list(ZONE_OFFSETS.values()), 'VARCHAR[]')})[upper({zone})]")
    user = f"coalesce({rx(_USER_KW)}, {rx(_USER_AT_DB, 1)}, {rx(_USER_SPACE_DB, 1)})"
    db = f"coalesce({rx(_DB_KW)}, {rx(_USER_AT_DB, 2)}, {rx(_USER_SPACE_DB, 2)})"
    # host(port) as %r writes it; in prefixes with ':' separators (RDS: %t:%r:%u@%d) the
    # separator sticks to the host and is cut off again, keeping IPv6 '::' intact.
    host_port = rx(_HOST_PORT, 1)
    host_port = (f"CASE WHEN starts_with({host_port}, ':') AND (NOT starts_with({host_port}, '::') "
                 f"OR starts_with({host_port}, ':::')) THEN {host_port}[2:] ELSE {host_port} END")
    host_kw = rx(_HOST_KW)
    host = (f"coalesce(regexp_replace({host_kw}, '\\(\\d+\\)$', ''), {host_port}, "
            f"CASE WHEN contains({rest}, '[local]') THEN '[local]' END, {rx(_HOST_IPV4)})")
    port = f"coalesce(nullif(regexp_extract({host_kw}, '\\((\\d+)\\)$', 1), ''), {rx(_HOST_PORT, 2)})"
    return ", ".join([
        f"nullif(regexp_extract(prefix, {ts}, 1), '') AS __ts_local",
        f"{zone} AS __zone",
        f"nullif(regexp_extract(prefix, {ts}, 1), '') || coalesce({numeric}, {offsets}) AS ts_text",
        f"nullif({user}, '[unknown]') AS db_user",
        f"nullif({db}, '[unknown]') AS database",
        f"coalesce({rx(_PID, 1)}, {rx(_PID, 2)}) AS pid",
        f"{host} AS remote_host",
        f"{port} AS remote_port",
        f"{rx(_APP_KW)} AS application",
        "nullif(trim(prefix), '') AS log_line_prefix",
    ])
