"""OCI Audit loader (format ``oci_audit``): our own fixtures, bad inputs, the real sample."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import Workspace, ingest_file

from .conftest import rows

FIXTURES = Path(__file__).parent / "fixtures" / "oci_audit"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
COLS = "event_id, ts, actor_id, actor_type, src_ip, action, raw_action, resource, outcome, user_agent"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM access_events ORDER BY source_file, source_record").fetchall()


def test_service_connector_array_pretty_printed(ws):
    result = ingest_file(ws, FIXTURES / "connector_array.json", "oci_audit")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 6, 0)
    assert loaded(ws) == [
        # a person's display name with spaces; no resourceName/resourceId: the request path
        ("11111111-aaaa-4bbb-8ccc-000000000001", utc(2024, 3, 5, 9, 15, 2, 123000), "Ana Lima Souza", "human",
         "203.0.113.77", "list", "ListEvents", "/20190901/auditEvents", "success", "Oracle-PythonSDK/2.100.0"),
        # an instance principal has no principalName: its OCID; a pre-authenticated request is a way out
        ("11111111-aaaa-4bbb-8ccc-000000000002", utc(2024, 3, 5, 9, 16), "ocid1.instance.oc1.eu-frankfurt-1.aaaafixturevm",
         "service", "10.0.4.17", "export", "CreatePreauthenticatedRequest", "payroll-exports", "success",
         "Oracle-JavaSDK/3.40.0"),
        # status '409' is a string; IPv6 kept; resourceId when there is no resourceName
        ("11111111-aaaa-4bbb-8ccc-000000000003", utc(2024, 3, 5, 9, 17, 30, 500000), "Ana Lima Souza", "human",
         "2001:db8:77::20", "delete", "DeleteBucket", "ocid1.bucket.oc1.eu-frankfurt-1.aaaafixturebucket", "failure", None),
        # sign-on; an offset in the time is honoured
        ("11111111-aaaa-4bbb-8ccc-000000000004", utc(2024, 3, 5, 9, 0), "bruno@example.org", "human", "198.51.100.4",
         "login", "InteractiveLogin", "/v1/authentication/authenticate", "success", "Mozilla/5.0 (X11; Linux x86_64)"),
        # no eventName: the HTTP method; a host name is not an address
        ("11111111-aaaa-4bbb-8ccc-000000000005", utc(2024, 3, 5, 10, 5, 0, 1), "carl", "human", None, "write", "POST",
         "/20160918/instances/ocid1.instance.oc1..x/actions", "failure", None),
        # identity control plane: admin; no status: no outcome
        ("11111111-aaaa-4bbb-8ccc-000000000006", utc(2024, 3, 5, 10, 6), "Ana Lima Souza", "human", "203.0.113.77",
         "admin", "CreatePolicy", "allow-vendor-read", None, None),
    ]


def test_extra_keeps_compartment_headers_and_the_unusable_address(ws):
    ingest_file(ws, FIXTURES / "connector_array.json", "oci_audit")
    first = json.loads(ws.sql("SELECT extra FROM access_events WHERE source_record = 1").fetchone()[0])
    assert first["data"]["compartmentName"] == "case-root"
    assert first["data"]["additionalDetails"] == {"X-Real-Port": 40312}
    assert first["data"]["request"]["headers"]["Accept"] == ["application/json"]
    assert first["source"] == "" and first["type"] == "com.oraclecloud.Audit.ListEvents"
    assert "id" not in first and "time" not in first  # held by event_id and ts
    fifth = json.loads(ws.sql("SELECT extra FROM access_events WHERE source_record = 5").fetchone()[0])
    assert fifth["data"]["identity"]["ipAddress"] == "bastion-host-01"


def test_logging_search_wrapper_gives_the_same_columns(ws):
    result = ingest_file(ws, FIXTURES / "logging_search.json", "oci_audit")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 2, 0)
    assert loaded(ws) == [
        ("22222222-bbbb-4ccc-8ddd-000000000001", utc(2024, 3, 5, 10, 10, 0, 250000), "Dina K", "human", "192.0.2.10",
         "read", "GetInstance", "analytics-db-1", "success", "Oracle-GoSDK/65.0.0"),
        ("22222222-bbbb-4ccc-8ddd-000000000002", utc(2024, 3, 5, 10, 11), "Dina K", "human", "192.0.2.10",
         "write", "UpdateInstance", "ocid1.instance.oc1..aaaafixturedb", "failure", None),
    ]
    extra = json.loads(ws.sql("SELECT extra FROM access_events WHERE source_record = 1").fetchone()[0])
    assert extra["datetime"] == 1709633400250 and extra["logContent"]["data"]["compartmentName"] == "analytics"


def test_json_lines_and_the_older_cloudevents_envelope(ws, tmp_path):
    v1 = {"cloudEventsVersion": "0.1", "contentType": "application/json", "eventID": "33333333-0000-0000-0000-000000000001",
          "eventTime": "2019-09-18T00:10:59.252Z", "eventType": "com.oraclecloud.ComputeApi.GetInstance",
          "eventTypeVersion": "2.0", "source": "ComputeApi",
          "data": {"eventName": "GetInstance", "compartmentName": "compartmentA", "resourceName": "my_instance",
                   "identity": {"principalName": "ExampleName", "principalId": "ocid1.user.oc1..x", "authType": "natv",
                                "ipAddress": "172.24.80.88", "userAgent": "Jersey/2.23"},
                   "request": {"action": "GET", "path": "/20160918/instances/x"}, "response": {"status": "200"}}}
    f = tmp_path / "audit.jsonl"
    f.write_text(json.dumps(v1) + "\n", encoding="utf-8")
    assert ingest_file(ws, f, "oci_audit").rows_loaded == 1
    assert loaded(ws) == [("33333333-0000-0000-0000-000000000001", utc(2019, 9, 18, 0, 10, 59, 252000), "ExampleName",
                           "human", "172.24.80.88", "read", "GetInstance", "my_instance", "success", "Jersey/2.23")]


def test_bad_records_are_rejected_with_their_number_and_reason(ws, tmp_path):
    good = json.dumps({"id": "e1", "time": "2024-03-05T10:00:00Z", "type": "com.oraclecloud.Audit.ListEvents",
                       "data": {"eventName": "ListEvents", "response": {"status": "200"}}})
    f = tmp_path / "audit.jsonl"
    f.write_text("\n".join([
        good,
        '{"id": "e2", "time": "05/03/2024 10:00", "data": {"eventName": "GetObject"}}',  # not ISO 8601
        '{"id": "e3", "data": {"eventName": "GetObject"}}',                               # no time
        "Mar  5 10:00:00 host sshd[1]: Accepted publickey for root",                      # another format
        '{"id": "e5", "time": "2024-03-05T10:00:00Z", "data": {"eventName": "Get',        # cut off
    ]) + "\n", encoding="utf-8")
    result = ingest_file(ws, f, "oci_audit")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    assert [(r.record, r.reason) for r in result.rejects] == [
        (2, "unreadable timestamp in expression 'coalesce(time, event_time_v1, lc_time)': '05/03/2024 10:00' "
            "(expected ISO 8601)"),
        (3, "missing timestamp (expression 'coalesce(time, event_time_v1, lc_time)' is empty)"),
        (4, "not valid JSON"),
        (5, "not valid JSON"),
    ]


def test_truncated_array_keeps_the_records_before_the_cut(ws, tmp_path):
    text = (FIXTURES / "connector_array.json").read_text(encoding="utf-8")
    f = tmp_path / "cut.json"
    f.write_text(text[: text.index('"eventName": "DeleteBucket"')], encoding="utf-8")
    result = ingest_file(ws, f, "oci_audit")
    # the array is entered element by element: the two events before the cut load; from the
    # cut on no record boundary can be trusted, so the rest is one reject naming its line
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 2, 1)
    assert result.rejects[0].record == 3 and result.rejects[0].reason.startswith("not valid JSON from line")


def test_empty_file(ws, tmp_path):
    f = tmp_path / "empty.json"
    f.write_bytes(b"")
    result = ingest_file(ws, f, "oci_audit")
    assert (result.rows_read, result.rows_loaded, result.note) == (0, 0, "empty file: no records")


def test_gzip_equals_plain(tmp_path):
    plain = FIXTURES / "connector_array.json"
    packed = tmp_path / "connector_array.json.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with Workspace.open() as a, Workspace.open() as b:
        ingest_file(a, plain, "oci_audit")
        ingest_file(b, packed, "oci_audit")
        assert rows(a) == rows(b) and len(rows(a)) == 6


def test_format_auto_recognises_both_shapes(ws):
    for name in ("connector_array.json", "logging_search.json"):
        assert ingest_file(ws, FIXTURES / name, "auto").format == "oci_audit"


def test_real_sample_service_connector_function_payload(ws):
    path = REAL / "oci_audit" / "newrelic_oci_audit_listevents.json"
    if not path.exists():
        pytest.skip("shared real samples not present")
    result = ingest_file(ws, path, "auto")
    assert result.format == "oci_audit"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1, 1, 0)
    assert loaded(ws) == [(
        "93e7a143-650b-4632-8a53-a464f45ee3c5", utc(2025, 7, 22, 8, 35, 57, 533000), "Mahim Dadhich", "human",
        "18.118.179.37", "list", "ListEvents", "/20190901/auditEvents", "success",
        "Oracle-JavaSDK/3.63.2 (Linux/5.10.228-219.884.amzn2.x86_64; Java/21.0.8; OpenJDK 64-Bit Server VM/21.0.8+9-LTS)")]
    extra = json.loads(ws.sql("SELECT extra FROM access_events").fetchone()[0])
    assert extra["data"]["compartmentName"] == "sandbox-beyond-cust-1"
    assert extra["data"]["additionalDetails"] == {"X-Real-Port": 14226}
    assert extra["oracle"]["loggroupid"] == "_Audit"


def test_no_other_format_claims_these_files():
    from investigate.loaders import formats

    for path in [FIXTURES / "connector_array.json", FIXTURES / "logging_search.json"]:
        head = path.read_text(encoding="utf-8")[:65536]
        sure = {name for name, loader in formats().items() if loader.sniff(head) >= 50}
        assert sure == {"oci_audit"}, path.name
