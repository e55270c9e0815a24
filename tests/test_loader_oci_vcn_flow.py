"""OCI VCN flow log loader (format ``oci_vcn_flow``): our own fixtures, bad inputs, the real sample."""

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


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def event(eid, **data) -> dict:
    base = {"action": "ACCEPT", "bytesOut": 4132, "destinationAddress": "198.51.100.20", "destinationPort": 443,
            "endTime": 1714644060, "flowid": "f-" + eid, "packets": 9, "protocol": 6, "sourceAddress": "10.0.0.219",
            "sourcePort": 60830, "startTime": 1714644000, "status": "OK", "version": "2"}
    base.update(data)
    return {"data": {k: v for k, v in base.items() if v is not None}, "id": eid,
            "oracle": {"compartmentid": "ocid1.compartment.oc1..case", "ingestedtime": "2024-05-02T10:02:01.000Z",
                       "loggroupid": "ocid1.loggroup.oc1.eu-frankfurt-1.case", "logid": "ocid1.log.oc1.eu-frankfurt-1.case",
                       "tenantid": "ocid1.tenancy.oc1..case", "vnicocid": "ocid1.vnic.oc1.eu-frankfurt-1.case",
                       "vnicsubnetocid": "ocid1.subnet.oc1.eu-frankfurt-1.case"},
            "source": "-", "specversion": "1.0", "time": "2024-05-02T10:00:00.000Z",
            "type": "com.oraclecloud.vcn.flowlogs.DataEvent"}


def wrapped(e: dict) -> dict:
    # The console / Logging-search export: datetime in epoch MILLISECONDS around the event.
    return {"datetime": 1714644121000, "logContent": e}


EVENTS = [
    event("e1"),
    # rejected by a security rule; UDP; IPv6; no port numbers
    event("e2", action="REJECT", protocol=17, sourceAddress="2001:db8::7", destinationAddress="2001:db8::8",
          sourcePort=None, destinationPort=None, bytesOut=0, packets=1),
    # ICMP (1); a protocol number we have no name for (253) with protocolName
    event("e3", protocol=1, sourcePort=None, destinationPort=None, bytesOut=84, packets=1),
    event("e4", protocol=253, protocolName="EXP1"),
    # NODATA / SKIPDATA: set apart, not loaded, not rejected
    event("e5", status="NODATA", action=None, sourceAddress=None, destinationAddress=None, sourcePort=None,
          destinationPort=None, protocol=None, bytesOut=None, packets=None),
    event("e6", status="SKIPDATA", action=None, sourceAddress=None, destinationAddress=None, sourcePort=None,
          destinationPort=None, protocol=None, bytesOut=None, packets=None),
    # fractional epoch seconds
    event("e7", startTime=1714644000.25, endTime="1714644001"),
]


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM transfer_events ORDER BY source_file, source_record").fetchall()


def write_lines(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


EXPECTED = [
    ("e1", utc(2024, 5, 2, 10, 0), utc(2024, 5, 2, 10, 1), "10.0.0.219", 60830, "198.51.100.20", 443, "tcp",
     4132, 9, None, None, "ACCEPT", "success"),
    ("e2", utc(2024, 5, 2, 10, 0), utc(2024, 5, 2, 10, 1), "2001:db8::7", None, "2001:db8::8", None, "udp",
     0, 1, None, None, "REJECT", "failure"),
    ("e3", utc(2024, 5, 2, 10, 0), utc(2024, 5, 2, 10, 1), "10.0.0.219", None, "198.51.100.20", None, "icmp",
     84, 1, None, None, "ACCEPT", "success"),
    ("e4", utc(2024, 5, 2, 10, 0), utc(2024, 5, 2, 10, 1), "10.0.0.219", 60830, "198.51.100.20", 443, "exp1",
     4132, 9, None, None, "ACCEPT", "success"),
    ("e7", utc(2024, 5, 2, 10, 0, 0, 250000), utc(2024, 5, 2, 10, 0, 1), "10.0.0.219", 60830, "198.51.100.20",
     443, "tcp", 4132, 9, None, None, "ACCEPT", "success"),
]


def test_connector_lines_and_set_apart(ws, tmp_path):
    result = ingest_file(ws, write_lines(tmp_path / "flows.jsonl", EVENTS), "oci_vcn_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (7, 5, 0, 2)
    assert loaded(ws) == EXPECTED
    assert ws.sql("SELECT source_record, kind FROM set_apart ORDER BY 1").fetchall() == [
        (5, "NODATA: no traffic captured on the VNIC in this window"),
        (6, "SKIPDATA: flow records skipped by the capture in this window")]


def test_console_wrapper_array_gives_the_same_rows(tmp_path):
    plain = write_lines(tmp_path / "flows.jsonl", EVENTS)
    array = tmp_path / "console.json"
    array.write_text(json.dumps([wrapped(e) for e in EVENTS], indent=2), encoding="utf-8")
    gz = tmp_path / "flows.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    out = []
    for path in (plain, array, gz):
        with Workspace.open() as w:
            r = ingest_file(w, path, "auto")
            assert r.format == "oci_vcn_flow" and r.rows_set_apart == 2
            out.append([row[:-1] for row in rows(w, "transfer_events")])  # extra differs: the wrapper
    assert out[0] == out[1] == out[2]


def test_extra_keeps_flowid_and_vnic(ws, tmp_path):
    ingest_file(ws, write_lines(tmp_path / "flows.jsonl", [wrapped(EVENTS[0])]), "oci_vcn_flow")
    extra = json.loads(ws.sql("SELECT extra FROM transfer_events").fetchone()[0])
    assert extra["datetime"] == 1714644121000
    assert extra["logContent"]["data"]["flowid"] == "f-e1"
    assert extra["logContent"]["oracle"]["vnicocid"] == "ocid1.vnic.oc1.eu-frankfurt-1.case"


def test_bad_records_are_rejected_with_their_number_and_reason(ws, tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [
        EVENTS[0],
        event("b2", startTime=15),                       # relative seconds, not a date
        event("b3", startTime=1714644000000),            # milliseconds where seconds belong
        event("b4", startTime="soon"),
        event("b5", startTime=None),
        event("b6", bytesOut="12.5"),
        event("b7", endTime=12),
        '{"data": {"action": "ACCEPT", "bytesOut": 41',  # truncated
        "2 123456789010 eni-1 10.0.0.1 10.0.0.2 443 49152 6 20 4249 1418530010 1418530070 ACCEPT OK",
    ])
    result = ingest_file(ws, path, "oci_vcn_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 1, 8)
    assert ws.sql("SELECT source_record, reason FROM rejects ORDER BY 1").fetchall() == [
        (2, "data.startTime 15 is before 2000-01-01 in epoch seconds, so not a date of this log "
            "(loading it would give 1970)"),
        (3, "data.startTime 1714644000000 is after 2100 in epoch seconds (milliseconds?), so not a date "
            "of this log"),
        (4, "data.startTime is not a number of seconds since 1970: soon"),
        (5, "no data.startTime: the flow has no start time"),
        (6, "bytes in expression 'coalesce(w_bytes_out, bytes_out)' is not a whole number: '12.5'"),
        (7, "data.endTime 12 is before 2000-01-01 in epoch seconds, so not a date of this log "
            "(loading it would give 1970)"),
        (8, "not valid JSON"),
        (9, "not valid JSON"),
    ]


def test_empty_file(ws, tmp_path):
    (tmp_path / "empty.json").write_bytes(b"")
    result = ingest_file(ws, tmp_path / "empty.json", "oci_vcn_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)


def test_oci_audit_and_flow_logs_do_not_claim_each_other(tmp_path):
    from investigate.loaders import formats
    from investigate.loaders.sources import head_bytes, inspect

    flow = write_lines(tmp_path / "flows.jsonl", [wrapped(e) for e in EVENTS])
    scores = {n: l.sniff(head_bytes(inspect(flow), 65536).decode()) for n, l in formats().items()}
    assert scores["oci_vcn_flow"] == 100 and max(s for n, s in scores.items() if n != "oci_vcn_flow") < 50
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"data": {"eventName": "GetObject", "compartmentId": "ocid1.compartment.oc1..x",
                                          "identity": {"principalId": "ocid1.user.oc1..x"}},
                                 "type": "com.oraclecloud.objectstorage.getobject"}), encoding="utf-8")
    assert formats()["oci_vcn_flow"].sniff(audit.read_text()) == 0


# --- real sample -------------------------------------------------------------------------------

def test_real_sample_console_wrapper(ws):
    path = REAL / "oci_vcn_flow" / "carldowns_oci_flowlog_console_wrapper.json"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    result = ingest_file(ws, path, "auto")
    assert result.format == "oci_vcn_flow"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (1, 1, 0, 0)
    assert loaded(ws) == [("159f15e5", utc(2023, 7, 11, 20, 41, 30), utc(2023, 7, 11, 20, 41, 31), "10.0.0.219",
                           60830, "147.154.101.151", 443, "tcp", 4132, 9, None, None, "ACCEPT", "success")]
    extra = json.loads(ws.sql("SELECT extra FROM transfer_events").fetchone()[0])
    # not an OCI field (the sample's author added it): kept as delivered, used for nothing
    assert extra["logContent"]["data"]["targetSystem"] == "SPLUNK"
