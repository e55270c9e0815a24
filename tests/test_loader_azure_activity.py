"""Azure activity log loader (format ``azure_activity``): own fixtures, bad inputs, real samples."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import Workspace, ingest_file

from .conftest import rows

FIXTURES = Path(__file__).parent / "fixtures" / "azure_activity"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
COLS = "ts, actor_id, actor_type, src_ip, action, raw_action, resource, outcome"
SUB = "00000000-1111-2222-3333-444444444444"
STG = f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-US-DATA/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/USUSERSDATA"
UPN = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM access_events ORDER BY source_file, source_record").fetchall()


def real(*parts) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip("shared real samples not present")
    return path


def test_storage_blob_records_wrapper(ws):
    result = ingest_file(ws, FIXTURES / "storage_blob_PT1H.json", "azure_activity")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 7, 0)
    alice = "alice@contoso.example"
    assert loaded(ws) == [
        # 7 fractional digits: microseconds kept; a started operation has no outcome yet
        (utc(2023, 3, 1, 9, 0, 0, 123456), alice, "human", "203.0.113.10", "write",
         "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", STG, None),
        (utc(2023, 3, 1, 9, 0, 2, 765432), alice, "human", "203.0.113.10", "write",
         "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE", STG, "success"),
        (utc(2023, 3, 1, 9, 5), alice, "human", "203.0.113.10", "delete",
         "MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE", STG, "failure"),
        # a service principal fetching the account keys: admin, identified by its object id
        (utc(2023, 3, 1, 9, 10), "bbbbbbbb-0000-0000-0000-00000000000b", "service", "2001:db8:a::10", "admin",
         "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", STG, "success"),
        # a role assignment (mixed case, as some providers log it); 'Accept' is not an outcome
        (utc(2023, 3, 1, 9, 15), alice, "human", "203.0.113.10", "admin",
         "Microsoft.Authorization/roleAssignments/write",
         f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/r1", None),
        # a disk SAS lets the disk be downloaded: export; 'Succeeded' spelling
        (utc(2023, 3, 1, 9, 20), alice, "human", "198.51.100.99", "export", "MICROSOFT.COMPUTE/DISKS/BEGINGETACCESS/ACTION",
         f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-US-DATA/PROVIDERS/MICROSOFT.COMPUTE/DISKS/DB-DISK", "success"),
        # no callerIpAddress: NULL; 'Failed' spelling
        (utc(2023, 3, 1, 9, 25), alice, "human", None, "read", "MICROSOFT.COMPUTE/VIRTUALMACHINES/READ",
         f"/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-US-DATA/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/VM1", "failure"),
    ]


def test_extra_keeps_claims_result_and_json_inside_strings(ws):
    ingest_file(ws, FIXTURES / "storage_blob_PT1H.json", "azure_activity")
    extras = [json.loads(e) for (e,) in ws.sql("SELECT extra FROM access_events ORDER BY source_record").fetchall()]
    assert extras[0]["identity"]["claims"][UPN] == "alice@contoso.example"
    assert extras[0]["identity"]["claims"]["ipaddr"] == "203.0.113.10"
    assert (extras[0]["resultType"], extras[0]["resultSignature"], extras[0]["correlationId"]) == \
        ("Start", "Started.", "c0rr-0001")
    assert extras[1]["correlationId"] == "c0rr-0001"  # the start and its end share it
    # statusMessage is JSON inside a string: kept verbatim, still parseable
    message = extras[2]["properties"]["statusMessage"]
    assert isinstance(message, str) and json.loads(message)["error"]["code"] == "ScopeLocked"
    assert "time" not in extras[0]


def test_name_claim_and_caller_fallbacks(ws, tmp_path):
    base = {"time": "2023-03-01T10:00:00Z", "resourceId": STG, "category": "Write", "resultType": "Success",
            "operationName": "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE"}
    records = [
        {**base, "identity": {"claims": {NAME: " bob@contoso.example"}}},       # leading space, as Azure writes it
        {**base, "caller": "carol@contoso.example", "identity": {"claims": {}}},  # a 'caller' added by an exporter
        {**base, "callerIpAddress": "not-an-ip"},                                  # no identity at all
    ]
    f = tmp_path / "lines.json"
    f.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    ingest_file(ws, f, "azure_activity")
    got = ws.sql("SELECT actor_id, actor_type, src_ip, extra->>'$.callerIpAddress' FROM access_events "
                 "ORDER BY source_record").fetchall()
    assert got == [("bob@contoso.example", "human", None, None), ("carol@contoso.example", "human", None, None),
                   (None, None, None, "not-an-ip")]


def test_event_hub_lines_and_gzip_equal_the_blob(tmp_path):
    packed = tmp_path / "PT1H.json.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "storage_blob_PT1H.json").read_bytes()))
    with Workspace.open() as a, Workspace.open() as b, Workspace.open() as c:
        ingest_file(a, FIXTURES / "storage_blob_PT1H.json", "azure_activity")
        ingest_file(b, FIXTURES / "event_hub_lines.jsonl", "azure_activity")
        ingest_file(c, packed, "azure_activity")
        assert rows(a) == rows(b) == rows(c) and len(rows(a)) == 7


def test_bad_records_are_rejected_with_their_number_and_reason(ws, tmp_path):
    lines = (FIXTURES / "event_hub_lines.jsonl").read_text(encoding="utf-8").splitlines()
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join([
        lines[1],
        lines[1].replace('"time":"2023-03-01T09:00:02.7654321Z"', '"time":"3/1/2023 9:00:02 AM"'),
        lines[1].replace('"time":"2023-03-01T09:00:02.7654321Z",', ""),
        "time,resourceId,operationName",
        lines[2][:200],
    ]) + "\n", encoding="utf-8")
    result = ingest_file(ws, f, "azure_activity")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 1, 4)
    assert [(r.record, r.reason) for r in result.rejects] == [
        (2, "unreadable timestamp in expression 'time': '3/1/2023 9:00:02 AM' (expected ISO 8601)"),
        (3, "missing timestamp (expression 'time' is empty)"),
        (4, "not valid JSON"),
        (5, "not valid JSON"),
    ]


def test_empty_file_and_empty_records_list(ws, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert ingest_file(ws, empty, "azure_activity").note == "empty file: no records"
    none = tmp_path / "PT1H.json"
    none.write_text('{"records": []}\n', encoding="utf-8")
    result = ingest_file(ws, none, "azure_activity")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)


def test_format_auto(ws):
    for name in ("storage_blob_PT1H.json", "event_hub_lines.jsonl"):
        assert ingest_file(ws, FIXTURES / name, "auto").format == "azure_activity"


def test_real_sample_ipv6_line(ws):
    result = ingest_file(ws, real("azure_activity", "beats_activitylog_ipv6.jsonl"), "auto")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("azure_activity", 1, 1, 0)
    sub = "8a4de8b5-095c-47d0-a96f-a75130c61d53"
    assert loaded(ws) == [(
        utc(2019, 10, 24, 0, 13, 46, 355425), sub, "service", "2603:c022:c000:301:41db:be0e:16ba:b4d7", "admin",
        "MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION",
        f"/SUBSCRIPTIONS/{sub}/RESOURCEGROUPS/SA-HEMA/PROVIDERS/MICROSOFT.EVENTHUB/NAMESPACES/AZURELSEVENTS/"
        "AUTHORIZATIONRULES/ROOTMANAGESHAREDACCESSKEY", None)]
    extra = json.loads(ws.sql("SELECT extra FROM access_events").fetchone()[0])
    assert extra["resultType"] == "Start" and extra["identity"]["claims"]["exp"] == "1571904826"


def test_real_sample_pretty_records_wrapper(ws):
    result = ingest_file(ws, real("azure_activity", "beats_activitylog_records_wrapper.json"), "auto")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("azure_activity", 2, 2, 0)
    got = loaded(ws)
    assert [(r[0], r[1], r[2], r[3], r[4], r[7]) for r in got] == [
        (utc(2019, 10, 4, 10, 38, 37, 515197), "2a7e2503-d7e2-405a-a84c-c333b9f7cb73", "service", "51.191.161.11",
         "admin", None),
        (utc(2019, 10, 4, 10, 38, 37, 525198), "2a7e2503-d7e2-405a-a84c-c333b9f7cb73", "service", "51.191.161.11",
         "admin", "failure"),
    ]
    message = ws.sql("SELECT extra->>'$.properties.statusMessage' FROM access_events WHERE source_record = 2").fetchone()[0]
    assert json.loads(message)["error"]["code"] == "ParentResourceNotFound"


def test_no_other_format_claims_these_files():
    from investigate.loaders import formats

    for path in [FIXTURES / "storage_blob_PT1H.json", FIXTURES / "event_hub_lines.jsonl"]:
        head = path.read_text(encoding="utf-8")[:65536]
        sure = {name for name, loader in formats().items() if loader.sniff(head) >= 50}
        assert sure == {"azure_activity"}, path.name
