"""Hostile input, for every registered format (issue 9): property-based tests (hypothesis).

Each example starts from a *valid* file of the format (the test fixtures, or records written like
the loader tests write them) and damages it: cut at a random byte, NUL bytes, invalid UTF-8,
random bytes, absurd numbers, dates in year 0 and 9999 or without a zone, IPv6 with zone ids,
deeply nested JSON, a UTF-16 file with a BOM, gzip or zstd (whole, or cut short). Whatever comes
in, :func:`check_ingest` holds:

- ``ingest_file`` returns a LoadResult with ``rows_read = rows_loaded + rows_rejected +
  rows_set_apart``, every reject has a reason, and the tables grew by exactly those counts; or
- it raises an :class:`InvestigateError` naming the file, and the workspace is exactly as before
  (no row, reject, record set apart or ingest on record, no temporary table, no temporary copy).

Anything else (another exception, a load that overruns its time) fails. The nastiest fixed
cases (100k-deep JSON, a 100 MB line) run in a child process, so a crash of DuckDB shows as a
failed test rather than taking pytest down.

Profiles (tests/conftest.py): ``ci`` by default; ``HYPOTHESIS_PROFILE=nightly`` for the long run.
The child process runs ``python -m tests.test_hostile_inputs deep|long|long_csv DIR``.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import zstandard
from hypothesis import assume, given
from hypothesis import strategies as st

from investigate import Workspace
from investigate.errors import InvestigateError
from investigate.loaders import formats, ingest_file

from .test_loader_azure_nsg_flow import ANALYTICS
from .test_loader_transfer_jobs import MAPPING as JOBS_MAPPING

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests" / "fixtures"
# A load that takes longer than this is a hang: DuckDB is interrupted and the example fails.
# (Hypothesis' deadline, per profile, is the tighter limit; this one also stops a load that
# would never end.)
HARD_LIMIT_S = 60
TABLES = ("access_events", "transfer_events", "rejects", "set_apart", "ingests")


# --- valid records of every format ---------------------------------------------------------------

def _lines(path: Path, n: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:n])


def _trimmed_document(path: Path, n: int = 2) -> bytes:
    """A JSON document fixture with its first ``n`` records only, pretty-printed as delivered."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        data = data[:n]
    else:
        for key in ("records", "Records"):
            if isinstance(data.get(key), list):
                data[key] = data[key][:n]
    return json.dumps(data, indent=2).encode()


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


CT_EVENTS = [
    {"eventVersion": "1.08", "eventTime": "2022-01-05T08:00:00Z", "eventSource": "s3.amazonaws.com",
     "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
     "userAgent": "aws-cli/2.4", "eventID": "id-1", "eventType": "AwsApiCall",
     "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111:user/alice",
                      "accountId": "111"},
     "requestParameters": {"bucketName": "us-users", "key": "export.csv"},
     "additionalEventData": {"bytesTransferredOut": 2048}},
    {"eventVersion": "1.08", "eventTime": "2022-01-05T09:30:00.123Z", "eventSource": "s3.amazonaws.com",
     "eventName": "PutObject", "awsRegion": "eu-west-1", "sourceIPAddress": "2001:db8::7",
     "userAgent": "console.amazonaws.com", "eventID": "id-2", "eventType": "AwsApiCall",
     "errorCode": "AccessDenied",
     "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Admin/bob@corp.example"}},
]
GCP_FLOW = {
    "insertId": "a1", "logName": "projects/case-proj/logs/compute.googleapis.com%2Fvpc_flows",
    "receiveTimestamp": "2024-05-02T10:06:00.123456789Z", "timestamp": "2024-05-02T10:06:00.123456789Z",
    "resource": {"type": "gce_subnetwork", "labels": {"project_id": "case-proj"}},
    "jsonPayload": {"connection": {"src_ip": "10.0.0.5", "src_port": 5432, "dest_ip": "2001:db8::9",
                                   "dest_port": 41000, "protocol": 6},
                    "reporter": "SRC", "bytes_sent": "52000", "packets_sent": "40", "rtt_msec": "3",
                    "start_time": "2024-05-02T10:00:00.123456789Z", "end_time": "2024-05-02T10:05:00.5Z",
                    "src_instance": {"vm_name": "db-1", "project_id": "case-proj", "zone": "us-east1-b",
                                     "region": "us-east1"}}}
OCI_FLOW = {
    "data": {"action": "ACCEPT", "bytesOut": 4132, "destinationAddress": "198.51.100.20", "destinationPort": 443,
             "endTime": 1714644060, "flowid": "f-e1", "packets": 9, "protocol": 6,
             "sourceAddress": "10.0.0.219", "sourcePort": 60830, "startTime": 1714644000, "status": "OK",
             "version": "2"},
    "id": "e1", "oracle": {"compartmentid": "ocid1.compartment.oc1..case",
                           "ingestedtime": "2024-05-02T10:02:01.000Z", "vnicocid": "ocid1.vnic.oc1..case"},
    "source": "-", "specversion": "1.0", "time": "2024-05-02T10:00:00.000Z",
    "type": "com.oraclecloud.vcn.flowlogs.DataEvent"}
NSG_FLOW = {
    "time": "2024-05-02T10:01:00.1234567Z", "systemId": "5f0d1a11-0000-4000-8000-000000000001",
    "macAddress": "000D3A11AA22", "category": "NetworkSecurityGroupFlowEvent",
    "resourceId": "/SUBSCRIPTIONS/0/RESOURCEGROUPS/CASE-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/DB-NSG",
    "operationName": "NetworkSecurityGroupFlowEvents",
    "properties": {"Version": 2, "flows": [{"rule": "DefaultRule_AllowInternetOutBound", "flows": [
        {"mac": "000D3A11AA22", "flowTuples": [
            "1714644060,10.0.0.4,198.51.100.20,44931,443,T,O,A,C,30,16000,28,2100",
            "1714644020,2001:db8::9,2001:db8::4,53,40000,U,I,A,E,1,90,0,0"]}]}]}}
NSG_ANALYTICS = ANALYTICS.encode()  # the loader test's export, a row unreadable
VPC_HDR = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
VPC_V2 = [
    "2 123456789010 eni-0a1b2c3d4e5f60718 192.0.2.10 10.0.1.5 51000 22 6 10 840 1714644901 1714644960 ACCEPT OK",
    "2 123456789010 eni-0a1b2c3d4e5f60718 2001:db8::1 2001:db8::2 0 0 58 10 840 1714644901 1714644960 REJECT OK",
    "2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1714644901 1714644960 - NODATA"]
VPC_ALL5 = ("5 123456789010 eni-0a1b2c3d4e5f60718 198.51.100.7 10.0.1.5 44321 443 6 12 2048 1714644901 1714644960 "
            "ACCEPT OK vpc-0a1 subnet-0b2 i-0c3d4e5f607182930 19 IPv4 198.51.100.7 10.0.1.5 eu-west-1 euw1-az2 - - "
            "- - ingress 1")
ZEEK_JSON = [{"ts": 1709287200.123456, "uid": "CAbc1", "id.orig_h": "10.0.0.5", "id.orig_p": 49152,
              "id.resp_h": "93.184.216.34", "id.resp_p": 443, "proto": "tcp", "service": "ssl",
              "duration": 2.5, "orig_bytes": 1200, "resp_bytes": 35000, "conn_state": "SF"},
             {"ts": "2024-03-01T10:00:01.000001Z", "uid": "CAbc2", "id_orig_h": "fe80::1%eth0", "id_orig_p": 5353,
              "id_resp_h": "ff02::fb", "id_resp_p": 5353, "proto": "udp", "conn_state": "S0", "_path": "conn"}]

# The generic formats, with the mappings their tests use.
GENERIC_HEADER = "id,when,who,ip,op,object,result,bytes,agent"
GENERIC_ROWS = [
    "e1,2022-01-05T08:00:00.123456Z,alice,10.0.0.1,GET,s3://bucket/a,OK,100,curl/8.0",
    'e2,2022-01-05T09:30:00Z,bob,2001:db8::7,PUT,s3://bucket/b,DENIED,2048,"Mozilla/5.0 (X11, Linux)"',
    "e3,2022-01-05T10:00:00+08:00,carol,,LIST,s3://bucket,OK,-,",
]
GENERIC_MAPPING = {
    "table": "access_events",
    "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip", "raw_action": "op",
                "resource": "object", "outcome": "result", "bytes": "bytes", "user_agent": "agent"},
    "actions": {"GET": "read", "PUT": "write", "LIST": "list"},
    "outcomes": {"OK": "success", "DENIED": "failure"},
}
GENERIC_RECORDS = [dict(zip(GENERIC_HEADER.split(","), row))
                   for row in csv.reader(GENERIC_ROWS)]
JOBS = [
    {"job": "j1", "dataset": "us_user_data", "from": "us-east-dc", "to": "sg-dc", "bytes": 1000,
     "start": "2022-06-19T03:00:00Z", "end": "2022-06-19T03:05:00Z", "status": "Completed"},
    {"job": "j2", "dataset": "us_user_data", "from": "10.0.0.1", "to": "2001:db8::2", "bytes": None,
     "start": "2022-06-20T03:00:00+02:00", "end": None, "status": "Aborted"},
]
JOBS_KEYS = list(JOBS[0])
JOBS_CSV = (",".join(JOBS_KEYS) + "\n" + "".join(
    ",".join("" if r[k] is None else str(r[k]) for k in JOBS_KEYS) + "\n" for r in JOBS)).encode()


@dataclass(frozen=True)
class Case:
    seeds: tuple[bytes, ...]      # valid files of the format
    suffix: str
    mapping: dict | None = None
    family: str = "line"          # "json", "line" or "csv": which fixed cases fit


def _cases() -> dict[str, Case]:
    return {
        "azure_activity": Case((_lines(FIX / "azure_activity/event_hub_lines.jsonl", 2),
                                _trimmed_document(FIX / "azure_activity/storage_blob_PT1H.json")), ".json",
                               family="json"),
        "azure_nsg_analytics": Case((NSG_ANALYTICS,), ".csv", family="csv"),
        "azure_nsg_flow": Case((json.dumps({"records": [NSG_FLOW]}, indent=1).encode(), _jsonl([NSG_FLOW])),
                               ".json", family="json"),
        "azure_signin": Case((_lines(FIX / "azure_signin/signin_lines.jsonl", 2),
                              _trimmed_document(FIX / "azure_signin/signin_PT1H.json")), ".json", family="json"),
        "cloudtrail": Case((json.dumps({"Records": CT_EVENTS}).encode(), _jsonl(CT_EVENTS)), ".json",
                           family="json"),
        "csv": Case((("\n".join([GENERIC_HEADER, *GENERIC_ROWS]) + "\n").encode(),), ".csv", GENERIC_MAPPING,
                    "csv"),
        "gcp_audit": Case((_lines(FIX / "gcp_audit/sink_export.jsonl", 2),
                           (FIX / "gcp_audit/pretty_entry.json").read_bytes()), ".json", family="json"),
        "gcp_vpc_flow": Case((_jsonl([GCP_FLOW]), json.dumps([GCP_FLOW], indent=2).encode()), ".json",
                             family="json"),
        "jsonl": Case((_jsonl(GENERIC_RECORDS),), ".jsonl", GENERIC_MAPPING, "json"),
        "mysql_audit": Case((_lines(FIX / "mysql_audit/audit_one_per_line.log", 3),), ".log", family="json"),
        "netflow_csv": Case(((FIX / "netflow_csv/nfdump_csv_export.csv").read_bytes(),), ".csv", family="csv"),
        "oci_audit": Case((_trimmed_document(FIX / "oci_audit/connector_array.json"),
                           (FIX / "oci_audit/logging_search.json").read_bytes()), ".json", family="json"),
        "oci_vcn_flow": Case((_jsonl([OCI_FLOW]), json.dumps([{"datetime": 1714644121000, "logContent": OCI_FLOW}],
                                                            indent=2).encode()), ".json", family="json"),
        "pgaudit": Case(((FIX / "pgaudit/server_log_m_pid_user_db.log").read_bytes(),
                         (FIX / "pgaudit/rds_t_r_user_db_pid.log").read_bytes()), ".log"),
        "s3_access": Case((_lines(FIX / "s3_access/2024-03-01-12-00-00-7C1D9E0F2A3B4C5D", 3),), ".log"),
        "transfer_jobs": Case((JOBS_CSV, _jsonl(JOBS)), ".csv", JOBS_MAPPING, "csv"),
        "vpc_flow": Case((("\n".join([VPC_HDR, *VPC_V2]) + "\n").encode(), ("\n".join(VPC_V2) + "\n").encode(),
                          (VPC_ALL5 + "\n").encode()), ".log"),
        "web_access": Case((_lines(FIX / "web_access/access.log", 5),), ".log"),
        "zeek_conn": Case(((FIX / "zeek_conn/conn_basic.log").read_bytes(), _jsonl(ZEEK_JSON)), ".log"),
    }


CASES = _cases()
TEXT_FORMATS = sorted(CASES)


def test_every_registered_format_is_covered():
    assert set(formats()) == set(CASES) | {"parquet"}


# --- what every example must satisfy --------------------------------------------------------------

def _counts(ws) -> dict[str, int]:
    return {t: ws.sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _temp_relations(ws) -> set[str]:
    return {r[0] for r in ws.sql("SELECT table_name FROM information_schema.tables "
                                 "WHERE table_catalog = 'temp'").fetchall()}


def _leftovers() -> list[str]:
    """Temporary copies of the evidence (a JSON document rewritten as lines) left behind."""
    return sorted(p.name for p in Path(tempfile.gettempdir()).glob("investigate-records-*"))


def check_ingest(ws: Workspace, path: Path, fmt: str, mapping=None, limit: float = HARD_LIMIT_S):
    """Load ``path`` and check the contract (see the module docstring); the result or the error."""
    before, temps, copies = _counts(ws), _temp_relations(ws), _leftovers()
    overran = threading.Event()

    def stop():
        overran.set()
        ws.con.interrupt()

    timer = threading.Timer(limit, stop)
    timer.start()
    result = error = None
    try:
        result = ingest_file(ws, path, fmt, mapping=mapping)
    except InvestigateError as exc:
        error = exc
    finally:
        timer.cancel()
    assert not overran.is_set(), f"{fmt}: loading {path} took more than {limit} s"
    after = _counts(ws)
    assert _leftovers() == copies, f"{fmt}: a temporary copy of {path} was left behind"
    if error is not None:
        assert str(path) in str(error), f"{fmt}: the error does not name the file: {error!r}"
        assert after == before, f"{fmt}: {type(error).__name__} ({error}) but the workspace changed"
        assert _temp_relations(ws) == temps, f"{fmt}: temporary tables left after {error!r}"
        return error
    r = result
    assert r.rows_read == r.rows_loaded + r.rows_rejected + r.rows_set_apart, r
    assert min(r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart) >= 0, r
    assert all(x.reason and x.reason.strip() for x in r.rejects), r.rejects
    expected = dict(before)
    if not r.skipped:
        expected["ingests"] += 1
        expected[r.table] += r.rows_loaded
        expected["rejects"] += r.rows_rejected
        expected["set_apart"] += r.rows_set_apart
        stored = ws.sql("SELECT rows_read, rows_loaded, rows_rejected, rows_set_apart FROM ingests "
                        "WHERE sha256 = ?", [r.sha256]).fetchone()
        assert stored == (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart), (stored, r)
        blank = ws.sql("SELECT count(*) FROM rejects WHERE source_sha256 = ? AND trim(reason) = ''",
                       [r.sha256]).fetchone()[0]
        assert blank == 0, f"{fmt}: {blank} rejects without a reason"
        ts = "ts" if r.table == "access_events" else "ts_start"
        untimed = ws.sql(f"SELECT count(*) FROM {r.table} WHERE source_file = ? AND {ts} IS NULL",
                         [r.path]).fetchone()[0]
        assert untimed == 0, f"{fmt}: {untimed} rows loaded without a timestamp"
    else:
        assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart) == (0, 0, 0, 0), r
    assert after == expected, f"{fmt}: tables {after}, expected {expected} after {r}"
    assert _temp_relations(ws) == temps, f"{fmt}: temporary tables left after a load"
    return r


def check_file(path: Path, fmt: str, mapping=None, limit: float = HARD_LIMIT_S):
    """:func:`check_ingest` into a fresh in-memory workspace."""
    with Workspace.open() as ws:
        return check_ingest(ws, path, fmt, mapping, limit)


def known_bug(path: Path, fmt: str) -> str | None:
    """Why ``path`` hits a bug already reported (each has a strict xfail test below), or None.
    Such inputs are left out of the other tests, so that they go on testing everything else;
    when the bug is fixed, its xfail test fails: then delete it and its line here. (None known:
    the three the first runs found are fixed, and tested below.)"""
    return None


# --- damage ---------------------------------------------------------------------------------------

NASTY_BYTES = [b"\x00", b"\x00" * 17, b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
               b"\x80", b"\xc0\xaf", b"\xe2\x80\xa8", b"\r", b"\n", b"\r\n", b"\t", b'"', b"\\", b",", b" ",
               b"\x1b[2J", b"\xef\xbb\xbf", b"\x1f\x8b\x08", b"{", b"[", b"#fields\tts", b"%s%n"]
ABSURD_NUMBERS = [b"-1", b"0", b"-0", b"99999999999999999999999999999", b"1e400", b"-1e400", b"NaN", b"nan",
                  b"Infinity", b"-inf", b"9223372036854775808", b"-9223372036854775809",
                  b"18446744073709551616", b"1.7976931348623157e309", b"4.9e-324", b"0x1F", b"1_000",
                  "\u0661\u0662\u0663".encode(), b"", b"65536", b"-65536", b"1" * 400]
ISO_DATES = [b"0000-01-01T00:00:00Z", b"0000-00-00 00:00:00", b"0001-01-01T00:00:00Z",
             b"9999-12-31T23:59:59.999999999Z", b"9999-12-31 23:59:59", b"2024-05-02T10:00:00",
             b"2024-05-02 10:00:00", b"2024-02-30T00:00:00Z", b"2024-05-02T25:61:61Z",
             b"-0001-01-01T00:00:00Z", b"10000-01-01T00:00:00Z", b"2024-05-02T10:00:00+99:99",
             b"2024-05-02T10:00:00.12345678901234567890Z", b"294247-01-10T04:00:54.775807Z",
             b"2024-05-02T10:00:00 Mars/Olympus", b"2024-05-02T10:00:00-00:00"]
CLF_DATES = [b"01/Jan/0000:00:00:00 +0000", b"31/Dec/9999:23:59:59 +0000", b"01/Mar/2024:13:00:01",
             b"31/Feb/2024:99:99:99 +9999", b"01/Foo/2024:13:00:01 +0100", b"01/Mar/-2024:13:00:01 +0100"]
EPOCHS = [b"0", b"-62167219200", b"253402300799", b"253402300800", b"-1", b"1e400", b"9223372036854775807",
          b"99999999999999999999999", b"NaN", b"1714644000.99999999999999999", b"-0", b"1714644000e3"]
ODD_IPS = [b"fe80::1%eth0", b"fe80::1%25eth0", b"fe80::1%", b"[fe80::1%eth0]", b"::ffff:192.0.2.1", b"::",
           b"256.256.256.256", b"1.2.3", b"01.02.03.004", b"1.2.3.4/32", b"2001:db8::1::2",
           b"2001:0db8:0000:0000:0000:0000:0000:0001:ffff", b"1.2.3.4%eth0", b"fe80::1%" + b"x" * 300,
           b"localhost", b"-", b"", b"1.2.3.4:443", b"[2001:db8::1]:443"]
JSON_VALUES = [b"1e400", b"-1e400", b"NaN", b"Infinity", b"-Infinity", b"18446744073709551616",
               b"-9223372036854775809", b"-0", b"1e-400", b'"NaN"', b'"1e400"', b'"\\ud800"', b'"\\u0000"',
               b'"a\\u0000b"', b'""', b"null", b"[]", b"{}", b"true", b'"fe80::1%eth0"',
               b'"0000-01-01T00:00:00Z"', b'"9999-12-31T23:59:59Z"', b'"2024-05-02T10:00:00"',
               b'{"Records":[]}', b'[1,[2,[3]]]', b'"\\"; DROP TABLE access_events; --"', b"'single'",
               b'{"a":1,"a":2}', b'"\xff\xfe"']
BIG_STRING = 100_000          # a JSON string value this long
DEPTHS = (64, 600, 1100, 3000)   # nesting in process; the child process takes 100,000

_NUMBER = re.compile(rb"(?<![\w.:/-])-?\d+(?:\.\d+)?(?![\w.:/-])")
_ISO = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?| ?[A-Z]{2,5}\b)?")
_CLF = re.compile(rb"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?")
_EPOCH = re.compile(rb"(?<![\w.])1[0-9]{9}(?:\d{3})?(?:\.\d+)?(?![\w])")
_IP = re.compile(rb"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]*::[0-9a-fA-F:]*[0-9a-fA-F]|"
                 rb"(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4})(?![\w.:])")
_JSON_SCALAR = re.compile(rb'(:\s*)("(?:[^"\\\n]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)')


def nested(kind: str, depth: int) -> bytes:
    if kind == "[":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def _render(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if value[0] == "big":
        return b'"' + b"x" * value[1] + b'"'
    return nested(value[1], value[2])


def _nth(matches: list, pos: int):
    return matches[pos % len(matches)] if matches else None


def _splice(data: bytes, span: tuple[int, int], new: bytes) -> bytes:
    return data[:span[0]] + new + data[span[1]:]


def mutate(data: bytes, op) -> bytes:
    """Apply one damage (an op drawn by :data:`ops`) to a file's bytes."""
    kind, n = op[0], len(data)
    if kind == "truncate":
        return data[:op[1] % (n + 1)]
    if kind == "insert":
        p = op[1] % (n + 1)
        return data[:p] + op[2] + data[p:]
    if kind == "overwrite":
        p = op[1] % (n + 1)
        return data[:p] + op[2] + data[p + len(op[2]):]
    if kind == "delete":
        p = op[1] % (n + 1)
        return data[:p] + data[p + op[2]:]
    if kind == "dup_line":
        lines = data.splitlines(keepends=True)
        if not lines:
            return data
        i = op[1] % len(lines)
        return b"".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])
    if kind == "eol":
        return data.replace(b"\n", op[1])
    if kind == "number":
        m = _nth(list(_NUMBER.finditer(data)), op[1])
        return _splice(data, m.span(), op[2]) if m else data
    if kind == "date":
        found = ([(m, ISO_DATES) for m in _ISO.finditer(data)] + [(m, CLF_DATES) for m in _CLF.finditer(data)]
                 + [(m, EPOCHS) for m in _EPOCH.finditer(data)])
        hit = _nth(sorted(found, key=lambda x: x[0].start()), op[1])
        return _splice(data, hit[0].span(), hit[1][op[2] % len(hit[1])]) if hit else data
    if kind == "ip":
        m = _nth(list(_IP.finditer(data)), op[1])
        return _splice(data, m.span(), op[2]) if m else data
    if kind == "json_value":
        m = _nth(list(_JSON_SCALAR.finditer(data)), op[1])
        return _splice(data, m.span(2), _render(op[2])) if m else data
    raise AssertionError(kind)


def wrap(data: bytes, how: str, pos: int = 0) -> bytes:
    """The damaged content as it sits on disk: as is, with a BOM, in UTF-16, compressed, cut."""
    if how == "plain":
        return data
    if how == "utf8_bom":
        return b"\xef\xbb\xbf" + data
    if how in ("utf16le_bom", "utf16be_bom"):
        text = data.decode("utf-8", errors="surrogateescape")
        if how == "utf16le_bom":
            return b"\xff\xfe" + text.encode("utf-16-le", errors="surrogatepass")
        return b"\xfe\xff" + text.encode("utf-16-be", errors="surrogatepass")
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "gzip_twice":
        return gzip.compress(gzip.compress(data, mtime=0), mtime=0)
    if how == "gzip_trailing_garbage":
        return gzip.compress(data, mtime=0) + b"not gzip\xff"
    if how == "gzip_cut":
        z = gzip.compress(data, mtime=0)
        return z[:2 + pos % (len(z) - 2)]
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    if how == "zstd_cut":
        z = zstandard.ZstdCompressor().compress(data)
        return z[:4 + pos % (len(z) - 4)]
    raise AssertionError(how)


WRAPPERS = ["plain", "plain", "plain", "plain", "utf8_bom", "utf16le_bom", "utf16be_bom", "gzip", "gzip_twice",
            "gzip_trailing_garbage", "gzip_cut", "zstd", "zstd_cut"]

positions = st.integers(0, 1 << 20)
blobs = st.one_of(st.sampled_from(NASTY_BYTES), st.binary(min_size=1, max_size=64))
json_values = st.one_of(st.sampled_from(JSON_VALUES), st.just(("big", BIG_STRING)),
                        st.tuples(st.just("deep"), st.sampled_from("[{"), st.sampled_from(DEPTHS)))
ops = st.one_of(
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("insert"), positions, blobs),
    st.tuples(st.just("overwrite"), positions, blobs),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("dup_line"), positions),
    st.tuples(st.just("eol"), st.sampled_from([b"\r\n", b"\r", b"\n\n", b"\x00\n"])),
    st.tuples(st.just("number"), positions, st.sampled_from(ABSURD_NUMBERS)),
    st.tuples(st.just("date"), positions, st.integers(0, 63)),
    st.tuples(st.just("ip"), positions, st.sampled_from(ODD_IPS)),
    st.tuples(st.just("json_value"), positions, json_values),
)
# (which seed, the damage in order, how it is stored, where a compressed stream is cut)
plans = st.tuples(st.integers(0, 7), st.lists(ops, min_size=1, max_size=3), st.sampled_from(WRAPPERS), positions)


def build(seed: bytes, plan) -> bytes:
    _, damage, how, pos = plan
    data = seed
    for op in damage:
        data = mutate(data, op)
    return wrap(data, how, pos)


_serial = itertools.count()


def _write(folder: Path, data: bytes, suffix: str) -> Path:
    path = folder / f"example{next(_serial)}{suffix}"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Where examples are written; the temporary directory the loaders use is made private too,
    so a copy of the evidence left behind is seen (and no one else's files are)."""
    base = tmp_path_factory.mktemp("hostile")
    private = base / "tmp"
    private.mkdir()
    old = tempfile.tempdir
    tempfile.tempdir = str(private)
    yield base
    tempfile.tempdir = old


# --- property tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@given(plan=plans)
def test_damaged_files_load_reject_or_fail_cleanly(folder, fmt, plan):
    case = CASES[fmt]
    path = _write(folder, build(case.seeds[plan[0] % len(case.seeds)], plan), case.suffix)
    try:
        assume(known_bug(path, fmt) is None)
        check_file(path, fmt, case.mapping)
    finally:
        path.unlink()


AUTO_FORMATS = [f for f in TEXT_FORMATS if CASES[f].mapping is None]


@given(fmt=st.sampled_from(AUTO_FORMATS), plan=plans)
def test_damaged_files_with_format_auto(folder, fmt, plan):
    """Detection reads the damaged head too; it may choose any format, or none (an error)."""
    case = CASES[fmt]
    path = _write(folder, build(case.seeds[plan[0] % len(case.seeds)], plan), case.suffix)
    try:
        check_file(path, "auto")
    finally:
        path.unlink()


def _parquet_bytes(records: list[dict], variant: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {k: [r[k] for r in records] for k in records[0]}
    table = pa.table({k: pa.array(v, pa.string()) for k, v in cols.items()})
    n = len(records)
    extremes = {
        "timestamps": ("when", pa.array([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
                                         None][:n], pa.timestamp("us"))),
        "timestamps_ns_tz": ("when", pa.array([-2**63 + 1, 2**63 - 1, 0][:n], pa.timestamp("ns", tz="UTC"))),
        "floats": ("bytes", pa.array([float("nan"), float("inf"), -1e308][:n], pa.float64())),
        "ints": ("bytes", pa.array([-2**63, 2**63 - 1, 0][:n], pa.int64())),
        "uints": ("bytes", pa.array([2**64 - 1, 0, 1][:n], pa.uint64())),
        "nested": ("ip", pa.array([["fe80::1%eth0"], [], None][:n], pa.list_(pa.string()))),
        "struct": ("who", pa.array([{"a": 1}, None, {"a": None}][:n], pa.struct([("a", pa.int64())]))),
        "dictionary": ("op", pa.array(cols["op"]).dictionary_encode()),
        "binary": ("agent", pa.array([b"\xff\xfe", b"\x00", None][:n], pa.binary())),
    }
    if variant in extremes:
        name, array = extremes[variant]
        table = table.set_column(table.column_names.index(name), name, array)
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


PARQUET_TEXT = st.one_of(st.sampled_from([v.decode("utf-8", "replace") for v in
                                          ABSURD_NUMBERS + ISO_DATES + ODD_IPS + JSON_VALUES]),
                         st.text(max_size=30))
PARQUET_VARIANTS = ["strings", "timestamps", "timestamps_ns_tz", "floats", "ints", "uints", "nested", "struct",
                    "dictionary", "binary"]


@given(cells=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(GENERIC_HEADER.split(",")),
                                st.one_of(st.none(), PARQUET_TEXT)), max_size=4),
       variant=st.sampled_from(PARQUET_VARIANTS),
       damage=st.lists(st.one_of(st.tuples(st.just("truncate"), positions),
                                 st.tuples(st.just("overwrite"), positions, blobs)), max_size=1))
def test_parquet_with_absurd_values_or_damage(folder, cells, variant, damage):
    records = [dict(r) for r in GENERIC_RECORDS]
    for row, column, value in cells:
        records[row][column] = value
    data = _parquet_bytes(records, variant)
    for op in damage:
        data = mutate(data, op)
    path = _write(folder, data, ".parquet")
    try:
        check_file(path, "parquet", GENERIC_MAPPING)
    finally:
        path.unlink()


# --- fixed cases ----------------------------------------------------------------------------------

FIXED = {
    "empty": lambda seed: b"",
    "random_bytes": lambda seed: random.Random(9).randbytes(8192),
    "nul_bytes": lambda seed: b"\x00" * 4096,
    "bom_only": lambda seed: b"\xef\xbb\xbf",
    "blank_lines": lambda seed: b"\n \r\n\t\n" * 100,
    "first_line_only": lambda seed: seed.split(b"\n", 1)[0],
    "utf16_bom": lambda seed: wrap(seed, "utf16le_bom"),
    "gzip_of_nothing": lambda seed: gzip.compress(b"", mtime=0),
    "gzip_cut_in_half": lambda seed: gzip.compress(seed, mtime=0)[:len(gzip.compress(seed, mtime=0)) // 2],
    "nul_in_every_line": lambda seed: seed.replace(b"\n", b"\x00\n"),
}


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, "parquet"])
def test_fixed_hostile_files(folder, fmt):
    """Each fixed case, in one workspace per format (the cases all differ, so none is skipped as
    a file already loaded)."""
    if fmt == "parquet":
        seed, suffix, mapping = _parquet_bytes(GENERIC_RECORDS, "strings"), ".parquet", GENERIC_MAPPING
    else:
        seed, suffix, mapping = CASES[fmt].seeds[0], CASES[fmt].suffix, CASES[fmt].mapping
    with Workspace.open() as ws:
        for make in FIXED.values():
            path = _write(folder, make(seed), suffix)
            if not known_bug(path, fmt):
                check_ingest(ws, path, fmt, mapping)


@pytest.mark.parametrize("fmt", ["csv", "azure_nsg_analytics", "transfer_jobs"])
def test_a_csv_file_that_is_only_a_byte_order_mark(folder, fmt):
    check_file(_write(folder, b"\xef\xbb\xbf", ".csv"), fmt, CASES[fmt].mapping)


@pytest.mark.parametrize("first", ["cut", "deep"])
def test_a_damaged_first_line_does_not_hide_the_json_lines_after_it(folder, first):
    good = [json.dumps({**CT_EVENTS[0], "eventID": f"id-{i}"}) for i in range(3)]
    bad = good[0][:40] if first == "cut" else json.dumps({**CT_EVENTS[0], "x": "DEEP"}).replace(
        '"DEEP"', nested("[", 1100).decode())
    path = _write(folder, "\n".join([bad, *good, ""]).encode(), ".json")
    result = check_file(path, "cloudtrail")
    # A cut line is a reject; a deep one is valid JSON (too deep for Python's json, not for
    # DuckDB's reader), so it loads, its deep value in extra.
    expected = (4, 3, 1) if first == "cut" else (4, 4, 0)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == expected, result


@pytest.mark.parametrize("flows", [b"99999999999999999999999999999", b"five", b""])
def test_netflow_summary_with_an_unreadable_flow_count(folder, flows):
    """Found by the property test: a summary whose flow count is not a BIGINT was a TypeError
    (netflow_csv.py, formatting None with ',')."""
    seed = CASES["netflow_csv"].seeds[0]
    data = seed.replace(b"\n5,17648,", b"\n" + flows + b",17648,")
    assert data != seed
    result = check_file(_write(folder, data, ".csv"), "netflow_csv")
    assert result.rows_loaded == 3 and "summary flow count cannot be read" in result.note, result


def test_seeds_are_valid_records(folder):
    """The examples start from files that load (else the damage tests little)."""
    for fmt in TEXT_FORMATS:
        case = CASES[fmt]
        with Workspace.open() as ws:
            for seed in case.seeds:
                result = check_ingest(ws, _write(folder, seed, case.suffix), fmt, case.mapping)
                assert not isinstance(result, Exception), (fmt, result)
                assert result.rows_loaded >= 1 and not result.skipped, (fmt, result, result.rejects)


# --- the nastiest cases, in a child process --------------------------------------------------------

JSON_FORMATS = [f for f in TEXT_FORMATS if CASES[f].family == "json"] + ["zeek_conn", "transfer_jobs"]
DEEP = 100_000
LONG = 100 * 1024 * 1024


def _json_seed(fmt: str) -> bytes:
    """The first JSON record of the format's seeds (out of its wrapper or array), on one line."""
    for seed in CASES[fmt].seeds:
        for text in (seed, seed.split(b"\n", 1)[0].rstrip().rstrip(b",")):  # MySQL: records end with a comma
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, list):
                value = value[0]
            wrapped = [value[k] for k in ("records", "Records") if isinstance(value.get(k), list)]
            return json.dumps(wrapped[0][0] if wrapped else value).encode()
    raise AssertionError(f"{fmt}: no JSON seed")


def _deep_files(folder: Path):
    """(format, file, records or None) triples, for every JSON format: a record holding a
    100,000-deep array as a line, the same record in a wrapper with a 100,000-deep object, and a
    file that is nothing but an unclosed 100,000-deep array or object."""
    for no, fmt in enumerate(JSON_FORMATS):
        line = _json_seed(fmt)
        m = list(_JSON_SCALAR.finditer(line))[-1]
        yield fmt, _write(folder, _splice(line, m.span(2), nested("[", DEEP)) + b"\n", ".json"), None
        wrapped = b'{"records": [\n' + _splice(line, m.span(2), nested("{", DEEP)) + b"\n]}\n"
        yield fmt, _write(folder, wrapped, ".json"), None
        yield fmt, _write(folder, b"[" * DEEP if no % 2 else b'{"a":' * DEEP, ".json"), None


def _long_files(folder: Path, which: str):
    """(format, file, records) triples with a 100 MB line among valid ones: a line format, JSON (a
    valid record with a 100 MB value, and a 100 MB line that is not JSON), CSV (a 100 MB field).
    The file either fails as a whole or accounts for exactly ``records`` records."""
    if which == "long_csv":
        path = folder / "long.csv"
        with open(path, "wb") as fh:
            fh.write(CASES["csv"].seeds[0])
            fh.write(b"e9,2022-01-05T08:00:00Z,zed,10.0.0.9,GET,")
            fh.write(b"z" * LONG)
            fh.write(b",OK,1,curl\n")
        yield "csv", path, len(GENERIC_ROWS) + 1
        return
    web = CASES["web_access"].seeds[0]
    path = folder / "long_web.log"
    with open(path, "wb") as fh:
        fh.write(web)
        fh.write(b'198.51.100.23 - alice [01/Mar/2024:13:00:01 +0100] "GET /')
        fh.write(b"a" * LONG)
        fh.write(b' HTTP/1.1" 200 5120\n')
        fh.write(web)
    yield "web_access", path, 2 * web.count(b"\n") + 1
    path = folder / "long_trail.json"
    event = json.dumps(CT_EVENTS[0]).encode()
    with open(path, "wb") as fh:
        fh.write(event[:-1] + b', "huge": "')
        fh.write(b"x" * LONG)
        fh.write(b'"}\n' + event + b"\n")
    yield "cloudtrail", path, 2
    path = folder / "long_generic.jsonl"
    with open(path, "wb") as fh:   # a line of one JSON value, not a record: no closing brace
        fh.write(_jsonl(GENERIC_RECORDS[:1]) + b'{"id": "e9", "who": "')
        fh.write(b"y" * LONG)
        fh.write(b"\n" + _jsonl(GENERIC_RECORDS[1:]))
    yield "jsonl", path, len(GENERIC_RECORDS) + 1


def _child(which: str, folder: Path) -> None:
    """Run the fixed nasty cases of ``which`` ("deep", "long" or "long_csv"), saying each before
    and after, so a crash names the case it died in."""
    files = _deep_files(folder) if which == "deep" else _long_files(folder, which)
    for fmt, path, records in files:
        print(f"start {fmt} {path.name}", flush=True)
        got = check_file(path, fmt, CASES[fmt].mapping)
        what = (f"error: {got}" if isinstance(got, Exception) else
                f"read {got.rows_read} loaded {got.rows_loaded} rejected {got.rows_rejected}")
        print(f"ok {fmt} {path.name}: {what[:300]}", flush=True)
        if records is not None and not isinstance(got, Exception):
            assert got.rows_read == records, f"{fmt}: {path.name} holds {records} records, {got.rows_read} were read"
        path.unlink()


@pytest.mark.parametrize("which", ["deep", "long", "long_csv"])
def test_nastiest_cases_do_not_crash_the_process(tmp_path, which):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.test_hostile_inputs", which, str(tmp_path)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{which}: no answer within 300 s (a hang); last output: {str(exc.stdout)[-2000:]}")
    said = f"\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    assert proc.returncode >= 0, f"{which}: the process was killed by signal {-proc.returncode}{said}"
    assert proc.returncode == 0, f"{which}: the contract did not hold{said}"


if __name__ == "__main__":   # the child process of test_nastiest_cases_do_not_crash_the_process
    tempfile.tempdir = str(Path(sys.argv[2]) / "tmp")   # private: the leftover check sees only ours
    Path(tempfile.tempdir).mkdir()
    _child(sys.argv[1], Path(sys.argv[2]))
