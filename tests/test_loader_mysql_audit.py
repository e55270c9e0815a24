"""mysql_audit: MySQL Enterprise Audit JSON logs (an array written without its brackets, one
record per line or pretty-printed), the bad inputs a user will feed, the real sample and the
Filebeat module's expected output for it."""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import investigate
from investigate.loaders import get_loader

from .conftest import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mysql_audit"
ONE_PER_LINE = FIXTURES / "audit_one_per_line.log"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
REAL_FILE = REAL / "db_audit_mysql" / "beats_mysql_enterprise_audit.log"
PEER_FILE = REAL / "peer_tests" / "elastic" / "db_audit_mysql" / "beats_mysql_enterprise_audit.log.expected.json"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def load(ws, path, **kw):
    return investigate.ingest_file(ws, path, "mysql_audit", **kw)


def events(ws):
    return ws.sql("SELECT source_record, ts, actor_id, actor_type, src_ip, action, raw_action, resource, "
                  "outcome, bytes, records, user_agent FROM access_events ORDER BY source_record").fetchall()


def extra(ws, record: int) -> dict:
    return json.loads(ws.sql("SELECT extra FROM access_events WHERE source_record = ?", [record]).fetchone()[0])


def rejects(ws):
    return ws.sql("SELECT source_record, reason FROM rejects ORDER BY source_record").fetchall()


# --- our own fixtures -----------------------------------------------------------------------

def test_one_record_per_line_with_trailing_commas(ws):
    r = load(ws, ONE_PER_LINE)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (14, 14, 0)
    N, U = None, "unknown"
    assert events(ws) == [
        (1, utc(2024, 3, 4, 8, 0, 0), "skip-grants user", U, N, "other", "startup", N, N, N, N, N),
        (2, utc(2024, 3, 4, 8, 1, 10), "ana", U, "198.51.100.23", "login", "connect", "sales", "success", N, N,
         "mysql libmysql 8.0.36"),
        (3, utc(2024, 3, 4, 8, 1, 11), "ana", U, "198.51.100.23", "read", "status", N, "success", 18384, 3, N),
        (4, utc(2024, 3, 4, 8, 1, 11), "ana", U, "198.51.100.23", "read", "read", "sales.customer", N, N, N, N),
        # A refused login: no account yet, so the login name is the actor; status 1045 -> failure.
        (5, utc(2024, 3, 4, 8, 2, 0), "mallory", U, "203.0.113.9", "login", "connect", N, "failure", N, N, N),
        (6, utc(2024, 3, 4, 8, 3, 30), "root", U, N, "admin", "status", N, "failure", N, N, N),
        (7, utc(2024, 3, 4, 8, 3, 45), "root", U, N, "admin", "status", N, "success", N, N, N),
        (8, utc(2024, 3, 4, 8, 4, 0), "ana", U, "198.51.100.23", "write", "update", "sales.customer", N, N, N, N),
        (9, utc(2024, 3, 4, 8, 4, 5), "ana", U, "198.51.100.23", "delete", "delete", "sales.orders", N, N, N, N),
        (10, utc(2024, 3, 4, 8, 5, 0), "svc_report", U, "::1", "export", "status", N, "success", N, N, N),
        (11, utc(2024, 3, 4, 8, 5, 1), "svc_report", U, "::1", "list", "status", N, "success", N, N, N),
        (12, utc(2024, 3, 4, 8, 5, 2), "ana", U, "::1", "login", "change_user", N, "success", N, N, N),
        (13, utc(2024, 3, 4, 8, 6, 0), "ana", U, "198.51.100.23", "other", "disconnect", N, N, N, N, N),
        (14, utc(2024, 3, 4, 8, 7, 0), N, N, N, "other", "shutdown", N, N, N, N, N),
    ]
    # Non-ASCII (typographic quotes) and <secret> redaction stay as written, in extra.
    assert extra(ws, 6)["general_data"]["query"] == "GRANT SELECT ON sales.* TO \u2018ana\u2019@\u2019%\u2019"
    assert extra(ws, 7)["general_data"]["query"] == "CREATE USER 'ben'@'%' IDENTIFIED BY <secret>"
    # Everything but the timestamp is kept; login.ip '' stays '' there (src_ip is NULL).
    assert extra(ws, 1)["login"] == {"user": "", "os": "", "ip": "", "proxy": ""}
    assert extra(ws, 2)["connection_data"]["connection_attributes"]["_client_name"] == "libmysql"
    assert "timestamp" not in extra(ws, 2)
    assert extra(ws, 3)["query_statistics"]["query_time"] == 0.11625


def _pretty(tmp_path, brackets: bool) -> Path:
    lines = ONE_PER_LINE.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line.rstrip().rstrip(",")) for line in lines]
    body = ",\n".join(json.dumps(r, indent=2, ensure_ascii=False) for r in records)
    p = tmp_path / "audit.json"
    p.write_text(("[\n" + body + "\n]\n") if brackets else body + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("variant", ["pretty", "pretty_with_brackets", "gzip", "crlf"])
def test_variants_give_identical_rows(tmp_path, variant):
    if variant.startswith("pretty"):
        other = _pretty(tmp_path, brackets=variant.endswith("brackets"))
    elif variant == "gzip":
        other = tmp_path / "audit.log.gz"
        other.write_bytes(gzip.compress(ONE_PER_LINE.read_bytes()))
    else:
        other = tmp_path / "audit-crlf.log"
        other.write_bytes(ONE_PER_LINE.read_bytes().replace(b"\n", b"\r\n"))
    with investigate.Workspace.open() as a, investigate.Workspace.open() as b:
        load(a, ONE_PER_LINE)
        load(b, other)
        assert rows(a) == rows(b)


def test_file_still_being_written_starts_with_a_bracket_and_has_no_closing_one(tmp_path):
    # What the server leaves on disk while it writes: "[" on the first line, no "]" yet.
    other = tmp_path / "audit.log"
    other.write_text("[\n" + ONE_PER_LINE.read_text(encoding="utf-8"), encoding="utf-8")
    with investigate.Workspace.open() as a, investigate.Workspace.open() as b:
        load(a, ONE_PER_LINE)
        r = load(b, other)
        assert (r.rows_read, r.rows_loaded) == (14, 14)
        assert rows(a) == rows(b)


def test_truncated_last_record_is_one_reject_and_the_rest_loads(ws, tmp_path):
    # The server was still writing: the last record stops in the middle.
    lines = ONE_PER_LINE.read_text(encoding="utf-8").splitlines()
    p = tmp_path / "audit.log"
    p.write_text("\n".join(lines[:3]) + "\n" + lines[3][:120] + "\n", encoding="utf-8")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (4, 3, 1)
    (rec, reason, raw), = ws.sql("SELECT source_record, reason, raw FROM rejects").fetchall()
    assert rec == 4
    # The line named is where the decoder noticed: the end of the cut record.
    assert re.fullmatch(r"not valid JSON from line [45] on \(.+\); the rest of the file cannot be split into "
                        r"records", reason)
    assert raw == lines[3][:120] + "\n"


def test_bad_records_are_rejected_with_reasons(ws, tmp_path):
    p = tmp_path / "audit.log"
    p.write_text("\n".join([
        '{ "timestamp": "2024-03-04 08:00:00", "id": 0, "class": "connection", "event": "connect", "connection_id": 1 },',
        '{ "id": 0, "class": "connection", "event": "connect", "connection_id": 2 },',
        '{ "timestamp": "yesterday", "id": 0, "class": "connection", "event": "connect", "connection_id": 3 },',
        '42,',
        '{ "timestamp": "2024-03-04 08:00:04", "id": 0, "class": "general", "event": "status", "connection_id": 4 }',
    ]) + "\n", encoding="utf-8")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 2, 3)
    expr = ("coalesce(timestamp, strftime(to_timestamp(TRY_CAST(unix_time AS BIGINT)), "
            "'%Y-%m-%dT%H:%M:%SZ'))")
    got = rejects(ws)
    assert got[:2] == [
        (2, f"missing timestamp (expression {expr!r} is empty)"),
        (3, f"unreadable timestamp in expression {expr!r}: 'yesterday' (expected ISO 8601)"),
    ]
    # The wording of the type comes from the shared JSON loader (DuckDB's name for it).
    assert got[2][0] == 4 and got[2][1].startswith("not a JSON object (a JSON ")


def test_epoch_time_when_the_timestamp_text_is_absent(ws, tmp_path):
    p = tmp_path / "audit.log"
    p.write_text('{ "time": 1709539200, "id": 0, "class": "audit", "event": "noaudit", "connection_id": 0 }\n',
                 encoding="utf-8")
    load(ws, p)
    assert ws.sql("SELECT ts FROM access_events").fetchone()[0] == utc(2024, 3, 4, 8, 0, 0)


def test_empty_file(ws, tmp_path):
    p = tmp_path / "audit.log"
    p.write_bytes(b"")
    r = load(ws, p)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (0, 0, 0)
    assert "empty file" in r.note


def test_sniff_and_format_auto(ws, tmp_path):
    loader = get_loader("mysql_audit")
    assert loader.sniff(ONE_PER_LINE.read_text(encoding="utf-8")) == 100
    assert loader.sniff(_pretty(tmp_path, brackets=True).read_text(encoding="utf-8")) == 100
    assert loader.sniff('{"eventVersion": "1.08", "eventTime": "2024-03-04T08:00:00Z"}') == 0
    r = investigate.ingest_file(ws, ONE_PER_LINE, "auto")
    assert (r.format, r.rows_loaded) == ("mysql_audit", 14)


# --- the real sample and the Filebeat module's expected output for it -----------------------

def _real() -> Path:
    if not REAL_FILE.exists():
        pytest.skip("real samples not present (/work/shared/real_samples)")
    return REAL_FILE


def test_real_sample_counts_and_spot_values(ws):
    r = load(ws, _real())
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (31, 31, 0)
    got = {e[0]: e for e in events(ws)}
    N, U = None, "unknown"
    assert got[1] == (1, utc(2020, 10, 19, 19, 21, 33), "skip-grants user", U, N, "other", "startup", N, N, N, N, N)
    assert got[2] == (2, utc(2020, 10, 19, 19, 25, 51), "root", U, N, "login", "connect", N, "success", N, N,
                      "libmysql 8.0.22")
    # GRANT ... failed with 1064 (syntax error).
    assert got[7][5:9] == ("admin", "status", N, "failure")
    assert got[17][2:9] == ("audit_test_user2", U, "192.168.2.5", "login", "connect", N, "success")
    assert got[25][5:9] == ("write", "insert", "audit_test.audit_test_table", N)
    assert got[27][5:9] == ("read", "read", "audit_test.audit_test_table", N)
    assert got[31] == (31, utc(2020, 10, 19, 19, 32, 16), N, N, N, "other", "shutdown", N, N, N, N, N)
    counts = dict(ws.sql("SELECT action, count(*) FROM access_events GROUP BY 1").fetchall())
    assert counts == {"other": 6, "login": 3, "read": 6, "admin": 12, "list": 2, "write": 2}
    assert ws.sql("SELECT count(src_ip) FROM access_events").fetchone()[0] == 13


def _peer_docs() -> list[dict]:
    if not PEER_FILE.exists():
        pytest.skip("peer test expected output not present")
    return json.loads(PEER_FILE.read_text(encoding="utf-8"))


def _peer_query(doc: dict):
    return (doc.get("mysqlenterprise.audit.general_data.query")
            or doc.get("mysqlenterprise.audit.table_access_data.query"))


# Differences between Filebeat's mysqlenterprise module and us that we accept, by record.
ACCEPTED = {
    # Upstream changed its test input after our copy: its doc 12 reads "CREATE USER IF NOT
    # EXISTS ..." where our line 12 reads "CREATE USER ..." (INDEX.md row 21).
    (12, "query"): ("CREATE USER 'audit_test_user2'@'hades.home' IDENTIFIED BY <secret>",
                    "CREATE USER IF NOT EXISTS 'audit_test_user2'@'hades.home' IDENTIFIED BY <secret>"),
}


def test_peer_filebeat_expected_output(ws):
    docs = _peer_docs()
    load(ws, _real())
    # Docs 32-34 come from lines upstream added later ("evil user", 2021-02-10): not in our input.
    assert len(docs) == 34
    assert all(d["@timestamp"].startswith("2021-02-10") for d in docs[31:])
    ours = ws.sql("SELECT source_record, ts, src_ip, actor_id, raw_action, outcome, "
                  "coalesce(extra->'general_data'->>'query', extra->'table_access_data'->>'query') "
                  "FROM access_events ORDER BY source_record").fetchall()
    assert len(ours) == 31
    found = {}
    for (rec, ts, ip, user, raw_action, outcome, query), doc in zip(ours, docs[:31]):
        pairs = {
            # Both read the zone-less timestamp as UTC (Filebeat despite event.timezone -02:00).
            "ts": (ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"), doc["@timestamp"]),
            "src_ip": (ip, doc.get("client.ip")),
            "user": (user, doc.get("server.user.name")),
            "action": (f"mysql-{raw_action}", doc["event.action"]),
            # Filebeat says "unknown" where there is no status; we say NULL.
            "outcome": (outcome or "unknown", doc["event.outcome"]),
            "query": (query, _peer_query(doc)),
        }
        found.update({(rec, k): v for k, v in pairs.items() if v[0] != v[1]})
    assert found == ACCEPTED
