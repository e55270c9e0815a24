"""pgaudit: AUDIT entries in PostgreSQL server logs, several log_line_prefix layouts, multi-line
statements, non-audit lines in between, and the bad inputs a user will feed."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import investigate
from investigate.loaders import get_loader

from .conftest import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pgaudit"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
REGRESS = REAL / "db_audit_pgaudit" / "pgaudit_regress_audit_lines.log"
NO_TS = "no timestamp in the log line prefix (log_line_prefix needs %m or %t)"
NOT_AUDIT = ("not a complete pgaudit AUDIT entry (AUDIT: type,statement id,substatement id,class,"
             "command,object type,object name,statement,parameter): ")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def load(ws, path, **kw):
    return investigate.ingest_file(ws, path, "pgaudit", **kw)


def events(ws):
    return ws.sql("SELECT source_record, ts, actor_id, actor_type, src_ip, action, raw_action, resource, "
                  "outcome, records FROM access_events ORDER BY source_record").fetchall()


def extra(ws, record: int) -> dict:
    return json.loads(ws.sql("SELECT extra FROM access_events WHERE source_record = ?", [record]).fetchone()[0])


def rejects(ws):
    return ws.sql("SELECT source_record, reason FROM rejects ORDER BY source_record").fetchall()


def write(tmp_path, text: str, name: str = "postgresql.log") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- our own fixtures -----------------------------------------------------------------------

def test_server_log_with_m_pid_user_db_prefix(ws):
    """'%m [%p] %q%u@%d ': non-audit lines (connections, ERROR/DETAIL/STATEMENT, checkpoint) are
    not records; multi-line statements are one record numbered by their first line."""
    r = load(ws, FIXTURES / "server_log_m_pid_user_db.log")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (12, 12, 0)
    N = None
    assert events(ws) == [
        (3, utc(2024, 5, 2, 10, 15, 1, 123000), "alice", "unknown", N, "read", "SELECT", "db://shop/public.account", N, N),
        (4, utc(2024, 5, 2, 10, 15, 2, 4000), "alice", "unknown", N, "write", "UPDATE", "db://shop/public.account", N, 1),
        (8, utc(2024, 5, 2, 10, 15, 3, 310000), "alice", "unknown", N, "read", "SELECT", "db://shop/public.card", N, 1),
        # An ERROR follows this INSERT: pgaudit logged it when it started, so the outcome is not known.
        (9, utc(2024, 5, 2, 10, 15, 4), "alice", "unknown", N, "write", "INSERT", "db://shop/public.account", N, 0),
        (15, utc(2024, 5, 2, 10, 15, 6, 500000), "bob", "unknown", N, "delete", "DELETE", "db://shop/public.card", N, 3),
        # COPY ... TO logged as class READ, command SELECT (older pgaudit): an export.
        (16, utc(2024, 5, 2, 10, 15, 7, 250000), "bob", "unknown", N, "export", "SELECT", "db://shop/public.account", N, 120),
        (17, utc(2024, 5, 2, 10, 15, 8), "bob", "unknown", N, "admin", "CREATE TABLE", "db://shop/public.tmp", N, 0),
        (18, utc(2024, 5, 2, 10, 15, 9), "bob", "unknown", N, "admin", "GRANT", N, N, 0),
        (21, utc(2024, 5, 2, 10, 15, 10), "bob", "unknown", N, "other", "SET", N, N, 0),
        (22, utc(2024, 5, 2, 10, 15, 11), "alice", "unknown", N, "other", "EXECUTE", "db://shop/public.touch", N, N),
        (23, utc(2024, 5, 2, 10, 15, 12), "alice", "unknown", N, "delete", "TRUNCATE TABLE", "db://shop/public.tmp", N, N),
        (24, utc(2024, 5, 2, 10, 15, 13), "alice", "unknown", N, "write", "COPY", "db://shop/public.tmp", N, N),
    ]
    # Quoted field with a comma and doubled quotes, unquoted again.
    assert extra(ws, 3)["statement"] == 'select id, name from account where note = "vip, gold"'
    # PostgreSQL's continuation tabs are removed; the blank line inside the statement is kept.
    assert extra(ws, 4)["statement"] == "update account\n   set name = 'Bob'\n\n where id = 7"
    assert extra(ws, 18)["statement"] == "GRANT SELECT\n   ON public.account\n   TO reporting"
    assert extra(ws, 22)["parameter"] == '42,"x"'
    assert extra(ws, 8)["statement"] == "<previously logged>"
    assert extra(ws, 3) == {
        "level": "LOG", "audit_type": "SESSION", "statement_id": "1", "substatement_id": "1",
        "class": "READ", "object_type": "TABLE",
        "statement": 'select id, name from account where note = "vip, gold"', "parameter": "<not logged>",
        "log_line_prefix": "2024-05-02 10:15:01.123 UTC [4242] alice@shop", "pid": "4242", "database": "shop",
        "remote_host": None, "remote_port": None, "application": None}


def test_rds_prefix_with_remote_host_and_port(ws):
    """'%t:%r:%u@%d:[%p]:' (Amazon RDS): IPv4, IPv6 (also ::1), [local], a host name."""
    r = load(ws, FIXTURES / "rds_t_r_user_db_pid.log")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 5, 0)
    N = None
    assert events(ws) == [
        (1, utc(2024, 5, 2, 8, 15, 1), "carol", "unknown", "10.1.2.3", "read", "SELECT", "db://crm/crm.customer", N, N),
        (2, utc(2024, 5, 2, 8, 15, 2), "carol", "unknown", "2001:db8::42", "export", "COPY", "db://crm/crm.customer", N, N),
        (3, utc(2024, 5, 2, 8, 15, 3), "postgres", "unknown", N, "admin", "DROP TABLE", "db://crm/crm.old", N, N),
        (4, utc(2024, 5, 2, 8, 15, 4), "svc_etl", "unknown", N, "write", "INSERT", "db://crm/crm.customer", N, N),
        (5, utc(2024, 5, 2, 8, 15, 5), "carol", "unknown", "::1", "delete", "DELETE", "db://crm/crm.customer", N, N),
    ]
    first = extra(ws, 1)
    assert (first["remote_host"], first["remote_port"], first["pid"]) == ("10.1.2.3", "51234", "77")
    assert extra(ws, 3)["remote_host"] == "[local]"
    assert (extra(ws, 4)["remote_host"], extra(ws, 4)["parameter"]) == ("etl.internal.example", "1,Alice")


def test_keyword_prefix_with_zone_abbreviation_and_numeric_offsets(ws):
    """pgBadger's '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ' with CEST, +0530 and -03."""
    load(ws, FIXTURES / "pgbadger_t_pid_keywords.log")
    got = ws.sql("SELECT source_record, ts, actor_id, src_ip, resource FROM access_events ORDER BY 1").fetchall()
    assert got == [
        (1, utc(2024, 5, 2, 10, 15, 1), "dora", "192.0.2.10", "db://hr/hr.salary"),
        (2, utc(2024, 5, 2, 10, 15, 2), "emil", "198.51.100.4", "db://hr/hr.v_staff"),
        (3, utc(2024, 5, 2, 10, 15, 3), "fay", None, "db://hr/hr.salary"),
    ]
    assert (extra(ws, 1)["database"], extra(ws, 1)["application"], extra(ws, 1)["pid"]) == ("hr", "psql", "5150")
    assert (extra(ws, 3)["application"], extra(ws, 3)["remote_host"]) == ("report tool", "[local]")


def test_prefix_suggested_by_the_pgaudit_readme(ws, tmp_path):
    """'%m %u %d [%p]: ': user and database separated by spaces."""
    p = write(tmp_path, "\n".join([
        "2024-05-02 10:15:01.500 UTC alice shop [4242]: LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.account,"
        "select 1,<not logged>",
        "2024-05-02 10:15:02.000 UTC   [4250]: LOG:  checkpoint complete",
    ]) + "\n")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded) == (1, 1)
    assert events(ws)[0][:4] == (1, utc(2024, 5, 2, 10, 15, 1, 500000), "alice", "unknown")
    assert (extra(ws, 1)["database"], extra(ws, 1)["pid"]) == ("shop", "4242")


def test_bad_records_are_rejected_with_their_first_line_number(ws, tmp_path):
    p = write(tmp_path, "\n".join([
        "2024-05-02 10:00:00 UTC [1] a@d LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.t,select 1,<not logged>",
        # starts like an audit entry, fields missing
        "2024-05-02 10:00:01 UTC [1] a@d LOG:  AUDIT: SESSION,2,1,READ,SELECT,TABLE",
        # an ambiguous zone abbreviation (India, Ireland or Israel)
        "2024-05-02 10:00:02 IST [1] a@d LOG:  AUDIT: SESSION,3,1,READ,SELECT,TABLE,public.t,select 1,<not logged>",
        # client-side output (pgaudit.log_client): no log_line_prefix, no time
        "NOTICE:  AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.t,select 1,<not logged>",
        # a statement ID that is not a number
        "2024-05-02 10:00:03 UTC [1] a@d LOG:  AUDIT: SESSION,x,1,READ,SELECT,TABLE,public.t,select 1,<not logged>",
        # truncated at the end of the file: the quoted statement is never closed
        '2024-05-02 10:00:04 UTC [1] a@d LOG:  AUDIT: SESSION,5,1,WRITE,INSERT,TABLE,public.t,"insert into t',
        "\tvalues (1,",
    ]) + "\n")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (6, 1, 5)
    assert rejects(ws) == [
        (2, NOT_AUDIT + "AUDIT: SESSION,2,1,READ,SELECT,TABLE"),
        (3, "unknown or ambiguous time zone abbreviation in the log line prefix: IST (set log_timezone "
            "to UTC, or to a zone PostgreSQL writes as an offset)"),
        (4, NO_TS),
        (5, NOT_AUDIT + "AUDIT: SESSION,x,1,READ,SELECT,TABLE,public.t,select 1,<not logged>"),
        (6, NOT_AUDIT + 'AUDIT: SESSION,5,1,WRITE,INSERT,TABLE,public.t,"insert into t'),
    ]
    # The raw text of a multi-line reject is the whole record as written.
    raw = ws.sql("SELECT raw FROM rejects WHERE source_record = 6").fetchone()[0]
    assert raw.endswith('"insert into t\n\tvalues (1,')


def test_strict_mode_names_the_first_bad_record(ws, tmp_path):
    p = write(tmp_path, "NOTICE:  AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.t,select 1,<not logged>\n")
    with pytest.raises(investigate.RejectedRecordError, match=r"postgresql\.log:1"):
        load(ws, p, strict=True)


def test_lines_outside_audit_entries_are_not_records(ws, tmp_path):
    # A file that starts in the middle of an entry (log rotation), a web log line, other messages.
    p = write(tmp_path, "\n".join([
        "\tFROM continued_from_the_previous_file\",<not logged>",
        '203.0.113.7 - - [02/May/2024:10:15:01 +0000] "GET / HTTP/1.1" 200 12',
        "2024-05-02 10:00:00 UTC [1] a@d LOG:  statement: select 'AUDIT: SESSION,1,1,READ'",
        "2024-05-02 10:00:01 UTC [1] a@d STATEMENT:  select 1",
        "\tLOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.t,select 1,<not logged>",
    ]) + "\n")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (0, 0, 0)


def test_empty_file(ws, tmp_path):
    r = load(ws, write(tmp_path, ""))
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (0, 0, 0)
    assert "empty file" in r.note


@pytest.mark.parametrize("variant", ["gzip", "crlf"])
def test_variants_give_identical_rows(tmp_path, variant):
    src = FIXTURES / "server_log_m_pid_user_db.log"
    if variant == "gzip":
        other = tmp_path / "postgresql.log.gz"
        other.write_bytes(gzip.compress(src.read_bytes()))
    else:
        other = tmp_path / "postgresql-crlf.log"
        other.write_bytes(src.read_bytes().replace(b"\n", b"\r\n"))
    with investigate.Workspace.open() as a, investigate.Workspace.open() as b:
        load(a, src)
        load(b, other)
        assert rows(a) == rows(b)


def test_sniff_recognises_server_and_client_forms():
    loader = get_loader("pgaudit")
    assert loader.sniff((FIXTURES / "rds_t_r_user_db_pid.log").read_text()) == 100
    assert loader.sniff("NOTICE:  AUDIT: SESSION,3,1,MISC,SET,,,SET x = 1,<not logged>\n") == 100
    assert loader.sniff("2024-05-02 10:00:00 UTC [1] LOG:  checkpoint starting: time\n") == 0


def test_format_auto_picks_pgaudit(ws):
    r = investigate.ingest_file(ws, FIXTURES / "pgbadger_t_pid_keywords.log", "auto")
    assert r.format == "pgaudit" and r.rows_loaded == 3


# --- the real sample: pgaudit's own regression output ---------------------------------------

def _regress() -> Path:
    if not REGRESS.exists():
        pytest.skip("real samples not present (/work/shared/real_samples)")
    return REGRESS


def _audit_starts(text: str) -> list[int]:
    return [i for i, line in enumerate(text.split("\n"), 1) if re.match(r"(NOTICE|WARNING):  AUDIT: ", line)]


def test_real_regression_output_has_no_timestamps_so_every_record_is_rejected(ws):
    """Client-side NOTICE/WARNING output: 922 lines, 415 AUDIT entries, none with a time."""
    path = _regress()
    r = load(ws, path)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (415, 0, 415)
    got = rejects(ws)
    assert {reason for _, reason in got} == {NO_TS}
    # Every record is numbered by the line its entry starts on (continuation lines are not records).
    assert [rec for rec, _ in got] == _audit_starts(path.read_text(encoding="utf-8"))
    assert got[0][0] == 1


def _with_server_prefix(text: str) -> str:
    """The regression output as a server log would hold it: a log_line_prefix on each entry's
    first line and PostgreSQL's tab at the start of every continuation line."""
    out = []
    for line in text.split("\n"):
        if re.match(r"(NOTICE|WARNING):  AUDIT: ", line):
            out.append("2024-05-02 10:00:00.000 UTC [4242] regress@contrib_regression " + line)
        elif line or out:
            out.append("\t" + line)
    while out and out[-1] == "\t":
        out.pop()
    return "\n".join(out) + "\n"


def _csv_records(text: str) -> list[list[str]]:
    """The same records parsed by Python's csv module, as an independent reading."""
    starts = _audit_starts(text)
    lines = text.split("\n")
    bounds = starts + [len(lines) + 1]
    records = []
    for a, b in zip(bounds, bounds[1:]):
        body = "\n".join(lines[a - 1:b - 1]).rstrip("\n")
        body = body.split("AUDIT: ", 1)[1]
        records.append(next(csv.reader(io.StringIO(body))))
    return records


def test_real_regression_output_parses_completely_once_given_a_prefix(ws, tmp_path):
    """Every one of the 415 entries parses: 231 with 9 fields, 184 with 10 (log_rows), 179 with
    a multi-line statement, and the fields equal Python's own CSV reading."""
    text = _regress().read_text(encoding="utf-8")
    p = write(tmp_path, _with_server_prefix(text))
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (415, 415, 0)
    got = ws.sql("SELECT raw_action, resource, records, extra->>'audit_type', extra->>'class', "
                 "extra->>'object_type', extra->>'statement', extra->>'parameter' "
                 "FROM access_events ORDER BY source_record").fetchall()
    expected = _csv_records(text)
    assert len(expected) == 415
    assert sum(1 for e in expected if len(e) == 10) == 184
    assert sum(1 for g in got if "\n" in g[6]) == 179
    for g, e in zip(got, expected):
        rows_field = int(e[9]) if len(e) == 10 else None
        assert g == (e[4], f"db://contrib_regression/{e[6]}" if e[6] else None, rows_field, e[0], e[3], e[5] or None, e[7], e[8])
    counts = dict(ws.sql("SELECT action, count(*) FROM access_events GROUP BY 1").fetchall())
    assert counts == {"admin": 147, "other": 94, "read": 79, "write": 83, "delete": 10, "export": 2}
    # <REDACTED> passwords and <long param suppressed> are kept as pgaudit wrote them.
    placeholders = ws.sql("SELECT count(*) FILTER (WHERE extra->>'statement' LIKE '%<REDACTED>%'), "
                          "count(*) FILTER (WHERE extra->>'parameter' LIKE '%<long param suppressed>%') "
                          "FROM access_events").fetchone()
    assert placeholders == (6, 1)


def test_permission_denied_errors_are_refused_accesses(ws):
    """A refused statement leaves no AUDIT entry: the ERROR and its STATEMENT (same process)
    are loaded as one record with outcome failure; other errors are not records."""
    r = load(ws, FIXTURES / "permission_denied.log")
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    got = ws.sql("""SELECT source_record, actor_id, action, raw_action, resource, outcome, extra->>'statement'
                    FROM access_events ORDER BY 1""").fetchall()
    assert got == [
        (1, "alice", "read", "SELECT", "db://shop/public.account", None, "select * from account"),
        (2, "mallory", "read", "SELECT", "db://shop/payroll", "failure", "select *\n  from payroll where id = 1"),
        (6, "eve", "other", None, "db://shop/secret", "failure", None),  # no STATEMENT line followed
    ]
