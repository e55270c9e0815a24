"""GCP VPC Flow Logs loader (format ``gcp_vpc_flow``): our own fixtures, bad inputs, the real
sample, and Filebeat's expected output for the same input (peer test)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import Workspace, ingest_file

from .conftest import rows

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
COLS = ("event_id, ts_start, ts_end, src_ip, src_port, dst_ip, dst_port, protocol, bytes, packets, "
        "src_host, dst_host, action, outcome")
LOG = "projects/case-proj/logs/compute.googleapis.com%2Fvpc_flows"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def entry(insert_id, payload, **top) -> dict:
    return {"insertId": insert_id, "jsonPayload": payload, "logName": LOG,
            "receiveTimestamp": "2024-05-02T10:06:00.123456789Z", "timestamp": "2024-05-02T10:06:00.123456789Z",
            "resource": {"type": "gce_subnetwork", "labels": {"project_id": "case-proj"}}, **top}


VM_DB = {"vm_name": "db-1", "project_id": "case-proj", "zone": "us-east1-b", "region": "us-east1"}
VM_APP = {"vm_name": "app-1", "project_id": "case-proj", "zone": "us-east1-c", "region": "us-east1"}
CONN = {"src_ip": "10.0.0.5", "src_port": 5432, "dest_ip": "10.0.1.9", "dest_port": 41000, "protocol": 6}
ENTRIES = [
    # The same flow reported by both ends (SRC, then DEST): both load; windows differ a little.
    entry("a1", {"connection": CONN, "reporter": "SRC", "bytes_sent": "52000", "packets_sent": "40",
                 "rtt_msec": "3", "start_time": "2024-05-02T10:00:00.123456789Z",
                 "end_time": "2024-05-02T10:05:00.5Z", "src_instance": VM_DB, "dest_instance": VM_APP}),
    entry("a2", {"connection": CONN, "reporter": "DEST", "bytes_sent": "51960", "packets_sent": "40",
                 "start_time": "2024-05-02T10:00:00.2Z", "end_time": "2024-05-02T10:05:00.6Z",
                 "src_instance": VM_DB, "dest_instance": VM_APP}),
    # From outside: no src_instance, the source's own location instead; UDP; rtt missing.
    entry("a3", {"connection": {"src_ip": "203.0.113.40", "src_port": 53, "dest_ip": "10.0.1.9",
                                "dest_port": 40001, "protocol": 17},
                 "reporter": "DEST", "bytes_sent": "180", "packets_sent": "2",
                 "start_time": "2024-05-02T10:01:00Z", "end_time": "2024-05-02T10:01:00Z",
                 "dest_instance": VM_APP,
                 "src_location": {"asn": 64500, "country": "rus", "region": "Saint Petersburg",
                                  "city": "Saint Petersburg", "continent": "Europe"}}),
    # IPv6, ICMPv6 (58), a protocol number with no name here (253), no bytes_sent at all.
    entry("a4", {"connection": {"src_ip": "2001:db8::5", "dest_ip": "2001:db8::9", "protocol": 58},
                 "reporter": "SRC", "packets_sent": "1", "start_time": "2024-05-02T10:02:00.000001Z",
                 "end_time": "2024-05-02T10:02:00.000001Z", "src_instance": VM_DB}),
    entry("a5", {"connection": {"src_ip": "10.0.0.5", "dest_ip": "10.0.0.6", "protocol": 253},
                 "reporter": "SRC", "bytes_sent": "0", "packets_sent": "1",
                 "start_time": "2024-05-02T10:03:00Z", "end_time": "2024-05-02T10:03:01Z"}),
]


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM transfer_events ORDER BY source_file, source_record").fetchall()


def write_lines(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def test_sink_json_lines(ws, tmp_path):
    result = ingest_file(ws, write_lines(tmp_path / "flows.jsonl", ENTRIES), "gcp_vpc_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (5, 5, 0, 0)
    assert loaded(ws) == [
        ("a1", utc(2024, 5, 2, 10, 0, 0, 123456), utc(2024, 5, 2, 10, 5, 0, 500000), "10.0.0.5", 5432,
         "10.0.1.9", 41000, "tcp", 52000, 40, "db-1", "app-1", None, None),
        ("a2", utc(2024, 5, 2, 10, 0, 0, 200000), utc(2024, 5, 2, 10, 5, 0, 600000), "10.0.0.5", 5432,
         "10.0.1.9", 41000, "tcp", 51960, 40, "db-1", "app-1", None, None),
        ("a3", utc(2024, 5, 2, 10, 1), utc(2024, 5, 2, 10, 1), "203.0.113.40", 53, "10.0.1.9", 40001, "udp",
         180, 2, None, "app-1", None, None),
        ("a4", utc(2024, 5, 2, 10, 2, 0, 1), utc(2024, 5, 2, 10, 2, 0, 1), "2001:db8::5", None, "2001:db8::9",
         None, "icmpv6", None, 1, "db-1", None, None, None),
        ("a5", utc(2024, 5, 2, 10, 3), utc(2024, 5, 2, 10, 3, 1), "10.0.0.5", None, "10.0.0.6", None, "253",
         0, 1, None, None, None, None),
    ]


def test_extra_keeps_reporter_and_the_sources_own_location(ws, tmp_path):
    ingest_file(ws, write_lines(tmp_path / "flows.jsonl", ENTRIES), "gcp_vpc_flow")
    extra = {r: json.loads(e) for r, e in ws.sql("SELECT source_record, extra FROM transfer_events").fetchall()}
    assert [extra[r]["jsonPayload"]["reporter"] for r in (1, 2, 3)] == ["SRC", "DEST", "DEST"]
    assert extra[3]["jsonPayload"]["src_location"] == {
        "asn": 64500, "country": "rus", "region": "Saint Petersburg", "city": "Saint Petersburg", "continent": "Europe"}
    assert extra[1]["jsonPayload"]["rtt_msec"] == "3" and "rtt_msec" not in extra[2]["jsonPayload"]
    assert extra[1]["jsonPayload"]["src_instance"]["zone"] == "us-east1-b"


def test_one_reporter_per_flow_sums_bytes_once(ws, tmp_path):
    # The documented query: SRC reports, plus DEST reports of flows that have no SRC report.
    ingest_file(ws, write_lines(tmp_path / "flows.jsonl", ENTRIES[:3]), "gcp_vpc_flow")
    total = ws.sql("""
        SELECT sum(bytes) FROM transfer_events t
        WHERE extra->>'$.jsonPayload.reporter' = 'SRC'
           OR NOT EXISTS (SELECT 1 FROM transfer_events s
                          WHERE s.source_format = 'gcp_vpc_flow' AND s.extra->>'$.jsonPayload.reporter' = 'SRC'
                            AND (s.src_ip, s.src_port, s.dst_ip, s.dst_port, s.protocol)
                                = (t.src_ip, t.src_port, t.dst_ip, t.dst_port, t.protocol)
                            AND s.ts_start <= t.ts_end AND t.ts_start <= s.ts_end)""").fetchone()[0]
    assert total == 52000 + 180


def test_bad_records_are_rejected_with_their_number_and_reason(ws, tmp_path):
    ok = ENTRIES[0]
    no_start = entry("b2", {**ok["jsonPayload"], "start_time": None})
    bad_bytes = entry("b3", {**ok["jsonPayload"], "bytes_sent": "12x"})
    bad_time = entry("b4", {**ok["jsonPayload"], "start_time": "yesterday"})
    bad_port = entry("b5", {**ok["jsonPayload"], "connection": {**CONN, "dest_port": 70000}})
    path = write_lines(tmp_path / "bad.jsonl", [
        ok, no_start, bad_bytes, bad_time, bad_port,
        '{"insertId": "cut", "jsonPayload": {"connection": {"src_ip": "10.0',   # truncated
        "10.0.0.5 10.0.1.9 6 52000",                                            # another format
        "[1, 2]"])
    result = ingest_file(ws, path, "gcp_vpc_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 1, 7)
    got = ws.sql("SELECT source_record, reason FROM rejects ORDER BY source_record").fetchall()
    assert got == [
        (2, "missing timestamp (expression 'start_time' is empty)"),
        (3, "bytes in expression 'bytes_sent' is not a whole number: '12x'"),
        (4, "unreadable timestamp in expression 'start_time': 'yesterday' (expected ISO 8601)"),
        (5, "dst_port out of range 0-65535: 70000"),
        (6, "not valid JSON"),
        (7, "not valid JSON"),
        (8, "not a JSON object (a JSON array)"),
    ]


def test_empty_file(ws, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    result = ingest_file(ws, tmp_path / "empty.jsonl", "gcp_vpc_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)


def test_gzip_array_and_pretty_variants_equal_the_json_lines(tmp_path):
    plain = write_lines(tmp_path / "flows.jsonl", ENTRIES)
    gz = tmp_path / "flows.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    array = tmp_path / "explorer.json"
    array.write_text(json.dumps(ENTRIES, indent=2), encoding="utf-8")
    results = []
    for path in (plain, gz, array):
        with Workspace.open() as w:
            ingest_file(w, path, "auto")
            # extra compared as JSON: an array is rewritten compactly, lines are kept as written
            results.append([r[:-1] + (json.loads(r[-1]),) for r in rows(w, "transfer_events")])
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 5


# --- real sample -------------------------------------------------------------------------------

def real(*parts) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def test_real_sample_beats_lines(ws):
    result = ingest_file(ws, real("gcp_vpc_flow", "beats_gcp_vpcflow_first11.jsonl"), "auto")
    assert result.format == "gcp_vpc_flow"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (11, 11, 0, 0)
    first = ws.sql(f"SELECT {COLS} FROM transfer_events WHERE source_record = 1").fetchone()
    assert first == ("ut8lbrffooxyw", utc(2019, 6, 14, 3, 45, 37, 186193), utc(2019, 6, 14, 3, 45, 37, 301953),
                     "10.87.40.76", 5601, "203.0.113.12", 33478, "tcp", 1776, 7, "kibana", None, None, None)
    reporters = ws.sql("SELECT extra->>'$.jsonPayload.reporter', count(*) FROM transfer_events GROUP BY 1 "
                       "ORDER BY 1").fetchall()
    assert sum(n for _, n in reporters) == 11 and {r for r, _ in reporters} <= {"SRC", "DEST"}


# --- peer: Filebeat gcp/vpcflow on the same 11 lines (peer_tests/INDEX.md row 19) ---------------

# Differences we accept, by record and field, with the reason. Empty: none found so far.
ACCEPTED: dict[tuple[int, str], str] = {}


def _iso_us(value: str | None):
    # Filebeat keeps nanoseconds; we keep microseconds (DuckDB's precision): compare to the µs.
    if value is None:
        return None
    head, _, frac = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "." + (frac + "000000")[:6]).replace(tzinfo=timezone.utc)


def test_peer_filebeat_gcp_vpcflow(ws):
    expected = json.loads(real("peer_tests", "elastic", "gcp_vpc_flow",
                               "beats_gcp_vpcflow_first11.jsonl.expected.json").read_text(encoding="utf-8"))
    ingest_file(ws, real("gcp_vpc_flow", "beats_gcp_vpcflow_first11.jsonl"), "gcp_vpc_flow")
    ours = ws.sql(f"SELECT source_record, {COLS}, extra->>'$.jsonPayload.reporter' FROM transfer_events "
                  "ORDER BY source_record").fetchall()
    assert len(ours) == len(expected) == 11
    diffs = {}
    for (rec, eid, start, end, sip, sport, dip, dport, proto, nbytes, pkts, shost, dhost, _a, _o, rep), doc \
            in zip(ours, expected):
        theirs = {"event_id": doc.get("event.id"), "ts_start": _iso_us(doc.get("event.start")),
                  "ts_end": _iso_us(doc.get("event.end")), "src_ip": doc.get("source.ip"),
                  "src_port": doc.get("source.port"), "dst_ip": doc.get("destination.ip"),
                  "dst_port": doc.get("destination.port"), "protocol": doc.get("network.transport"),
                  "bytes": doc.get("network.bytes"), "packets": doc.get("network.packets"),
                  "src_host": doc.get("source.domain"), "dst_host": doc.get("destination.domain"),
                  "reporter": doc.get("gcp.vpcflow.reporter")}
        mine = {"event_id": eid, "ts_start": start, "ts_end": end, "src_ip": sip, "src_port": sport,
                "dst_ip": dip, "dst_port": dport, "protocol": proto, "bytes": nbytes, "packets": pkts,
                "src_host": shost, "dst_host": dhost, "reporter": rep}
        for key, value in mine.items():
            if value != theirs[key]:
                diffs[(rec, key)] = (value, theirs[key])
    assert diffs.keys() == ACCEPTED.keys(), diffs


def test_no_other_format_claims_these_files(tmp_path):
    from investigate.loaders import formats
    from investigate.loaders.sources import head_bytes, inspect

    path = write_lines(tmp_path / "flows.jsonl", ENTRIES)
    head = head_bytes(inspect(path), 65536).decode()
    scores = {name: loader.sniff(head) for name, loader in formats().items()}
    assert scores["gcp_vpc_flow"] == 100
    assert max(s for n, s in scores.items() if n != "gcp_vpc_flow") < 50
