"""Google Cloud Audit Logs loader (format ``gcp_audit``): own fixtures, bad inputs, real samples,
and Filebeat's expected output for the same input (peer test)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import Workspace, ingest_file

from .conftest import rows

FIXTURES = Path(__file__).parent / "fixtures" / "gcp_audit"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
COLS = "event_id, ts, actor_id, actor_type, src_ip, action, raw_action, resource, outcome, records, user_agent"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM access_events ORDER BY source_file, source_record").fetchall()


def real(*parts) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip("shared real samples not present")
    return path


def test_sink_export_json_lines(ws):
    result = ingest_file(ws, FIXTURES / "sink_export.jsonl", "gcp_audit")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (9, 9, 0)
    bucket = "projects/_/buckets/us-users"
    instance = "projects/case-proj/zones/us-east1-b/instances/db-1"
    assert loaded(ws) == [
        # 9 fractional digits: microseconds kept, nanoseconds cut; status {} is code 0
        ("g-1", utc(2023, 3, 1, 10, 0, 0, 123456), "li.wei@case.example", "human", "198.51.100.23", "read",
         "storage.objects.get", bucket + "/objects/export.csv", "success", None, "gsutil/5.0 (linux),gzip(gfe)"),
        # BigQuery job metadata says QUERY: a read; callerIp redacted to 'private' is no address
        ("g-2", utc(2023, 3, 1, 10, 1, 0, 654321), "etl@case-proj.iam.gserviceaccount.com", "service", None, "read",
         "google.cloud.bigquery.v2.JobService.InsertJob", "projects/case-proj/jobs/job_123", "success", None, "bq-etl/1.0"),
        # numResponseItems '250' (a string) -> records; 'gce-internal-ip' is no address
        ("g-3", utc(2023, 3, 1, 10, 2, 0, 500000), "li.wei@case.example", "human", None, "list",
         "storage.objects.list", bucket, "success", 250, None),
        # setIamPolicy is admin; status code 7 is a failure; IPv6 kept
        ("g-4", utc(2023, 3, 1, 10, 3), "li.wei@case.example", "human", "2001:db8:4::5", "admin",
         "storage.setIamPolicy", bucket, "failure", None, None),
        # first entry of a long-running operation: started, no outcome yet
        ("g-5", utc(2023, 3, 1, 10, 4, 0, 1), "ops@case.example", "human", "203.0.113.50", "delete",
         "v1.compute.instances.delete", instance, None, None, None),
        # its last entry, without an error status: success
        ("g-6", utc(2023, 3, 1, 10, 4, 40), "ops@case.example", "human", "203.0.113.50", "delete",
         "v1.compute.instances.delete", instance, "success", None, None),
        # a Kubernetes service account over loopback ::1
        ("g-7", utc(2023, 3, 1, 10, 5, 0, 250000), "system:serviceaccount:default:reporting", "service", "::1", "read",
         "io.k8s.core.v1.secrets.get", "core/v1/namespaces/default/secrets/db", "success", None, "kubectl/v1.27.0"),
        # VPC Service Controls denial: no principal at all stays NULL
        ("g-8", utc(2023, 3, 1, 10, 6), None, None, "192.0.2.200", "read", "google.storage.objects.get",
         "projects/123456", "failure", None, None),
        # no status, but a permission refused in authorizationInfo; reading table rows is a read
        ("g-9", utc(2023, 3, 1, 10, 7), "li.wei@case.example", "human", "198.51.100.23", "read",
         "google.cloud.bigquery.v2.TableDataService.List", "projects/case-proj/datasets/users/tables/profiles",
         "failure", None, None),
    ]


def test_extra_keeps_log_name_encoded_resource_labels_and_redacted_caller(ws):
    ingest_file(ws, FIXTURES / "sink_export.jsonl", "gcp_audit")
    extras = [json.loads(e) for (e,) in ws.sql("SELECT extra FROM access_events ORDER BY source_record").fetchall()]
    assert extras[0]["logName"] == "projects/case-proj/logs/cloudaudit.googleapis.com%2Fdata_access"
    assert extras[0]["resource"] == {"type": "gcs_bucket",
                                     "labels": {"bucket_name": "us-users", "location": "us", "project_id": "case-proj"}}
    assert extras[0]["labels"] == {"authorization.k8s.io/decision": "allow", "note": 'a "quoted" value'}
    assert "insertId" not in extras[0] and "timestamp" not in extras[0]
    assert extras[1]["protoPayload"]["requestMetadata"]["callerIp"] == "private"
    assert extras[2]["protoPayload"]["requestMetadata"]["callerIp"] == "gce-internal-ip"
    assert extras[7]["logName"].endswith("%2Fpolicy")


def test_one_pretty_printed_entry_per_file(ws):
    result = ingest_file(ws, FIXTURES / "pretty_entry.json", "auto")
    assert (result.format, result.rows_read, result.rows_loaded) == ("gcp_audit", 1, 1)
    assert loaded(ws) == [
        ("g-10", utc(2023, 3, 2, 8, 0, 0, 987654), "li.wei@case.example", "human", "198.51.100.23", "admin",
         "google.iam.admin.v1.CreateServiceAccountKey",
         "projects/-/serviceAccounts/etl@case-proj.iam.gserviceaccount.com", "failure", None, "Mozilla/5.0,gzip(gfe)")]
    extra = json.loads(ws.sql("SELECT extra FROM access_events").fetchone()[0])
    assert extra["logName"] == "projects/[PROJECT_ID]/logs/cloudaudit.googleapis.com%2Factivity"
    assert extra["protoPayload"]["status"]["details"][0]["@type"] == "type.googleapis.com/google.rpc.PreconditionFailure"
    assert extra["severity"] == "ERROR"


def test_bad_records_are_rejected_with_their_number_and_reason(ws, tmp_path):
    lines = (FIXTURES / "sink_export.jsonl").read_text(encoding="utf-8").splitlines()
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join([
        lines[0],
        lines[2].replace('"numResponseItems":"250"', '"numResponseItems":"many"'),
        lines[3].replace('"timestamp":"2023-03-01T10:03:00Z"', '"timestamp":"1 March 2023"'),
        lines[3].replace(',"timestamp":"2023-03-01T10:03:00Z"', ""),
        '{"eventVersion":"1.08","eventTime":"2023-03-01T10:00:00Z","eventSource":"s3.amazonaws.com"}',
        lines[4][: len(lines[4]) // 2],
    ]) + "\n", encoding="utf-8")
    result = ingest_file(ws, f, "gcp_audit")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 1, 5)
    assert [(r.record, r.reason) for r in result.rejects] == [
        (2, "records in expression 'num_response_items' is not a whole number: 'many'"),
        (3, "unreadable timestamp in expression 'timestamp': '1 March 2023' (expected ISO 8601)"),
        (4, "missing timestamp (expression 'timestamp' is empty)"),
        (5, "missing timestamp (expression 'timestamp' is empty)"),  # a CloudTrail record
        (6, "not valid JSON"),
    ]


def test_empty_file(ws, tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_bytes(b"")
    result = ingest_file(ws, f, "gcp_audit")
    assert (result.rows_read, result.rows_loaded, result.note) == (0, 0, "empty file: no records")


def test_gzip_and_array_variants_equal_the_json_lines(tmp_path):
    plain = FIXTURES / "sink_export.jsonl"
    packed = tmp_path / "sink_export.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    array = tmp_path / "logs_explorer_download.json"  # Logs Explorer downloads a pretty JSON array
    array.write_text(json.dumps([json.loads(line) for line in plain.read_text().splitlines()], indent=2))
    with Workspace.open() as a, Workspace.open() as b, Workspace.open() as c:
        ingest_file(a, plain, "gcp_audit")
        ingest_file(b, packed, "gcp_audit")
        ingest_file(c, array, "gcp_audit")
        assert rows(a) == rows(b) == rows(c) and len(rows(a)) == 9


def test_real_sample_pubsub_lines(ws):
    result = ingest_file(ws, real("gcp_audit", "beats_gcp_audit_log_entries.jsonl"), "auto")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("gcp_audit", 11, 11, 0)
    got = loaded(ws)
    assert got[1] == ("-h6onuze1h7dg", utc(2019, 12, 19, 0, 45, 51, 228000), "xxx@xxx.xxx", "human", "192.168.1.1",
                      "list", "beta.compute.machineTypes.aggregatedList", "projects/elastic-beats/global/machineTypes",
                      "failure", 71,
                      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:71.0) Gecko/20100101 Firefox/71.0,gzip(gfe),gzip(gfe)")
    assert [r[1].microsecond for r in got] == [86000, 228000, 51000, 51000, 974750, 456000, 428000, 535383, 574776,
                                               805810, 899153]
    assert [r[4] for r in got][4:] == ["10.11.12.13", "81.2.69.143", "67.43.156.12", "192.168.1.1", "192.168.1.1",
                                       "127.0.0.1", "::1"]
    assert [r[8] for r in got] == ["success", "failure", "success", "failure", "success", None, "success",
                                   "success", "success", "success", "success"]
    assert [r[3] for r in got] == ["human"] * 4 + ["service", "human", "human", "human", "human", "unknown", "service"]
    assert [r[9] for r in got][:4] == [None, 71, 61, 61]


GARRETTWONG = {
    # file: (principal, action, method, outcome, microseconds)
    "admin-org-policy-service-account-key.log":
        ("user@domain.com", "admin", "google.iam.admin.v1.CreateServiceAccountKey", "failure", 382833),
    "admin-org-policy-service-account.log":
        ("user@domain.com", "admin", "google.iam.admin.v1.CreateServiceAccount", "failure", 99727),
    "admin-set-instance-metadata-instance.log":  # operation.first: started
        ("user@domain.com", "write", "v1.compute.instances.setMetadata", None, 716498),
    "admin-set-instance-metadata-project-2.log":  # operation.first: started
        ("user@domain.com", "write", "v1.compute.projects.setCommonInstanceMetadata", None, 113032),
    "admin-set-instance-metadata-project.log":  # operation.last: completed
        ("user@domain.com", "write", "v1.compute.projects.setCommonInstanceMetadata", "success", 803980),
    "data-gcs-object-get.log": ("user@domain.com", "read", "storage.objects.get", "success", 8513),
    "data-gcs-object-list.log": ("user@domain.com", "list", "storage.objects.list", "success", 918318),
    "policy-vpc-sc-violation.log": (None, "read", "google.storage.buckets.get", "failure", 801613),
}


@pytest.mark.parametrize("name", sorted(GARRETTWONG))
def test_real_samples_pretty_single_entries(ws, name):
    # Read from the shared folder only: these files carry no licence and are never copied here.
    result = ingest_file(ws, real("gcp_audit", "garrettwong_pretty_single_entries", name), "auto")
    assert (result.format, result.rows_read, result.rows_loaded, result.rows_rejected) == ("gcp_audit", 1, 1, 0)
    actor, action, method, outcome, micros = GARRETTWONG[name]
    got = ws.sql("SELECT actor_id, action, raw_action, outcome, microsecond(ts) % 1000000, src_ip, "
                 "extra->>'$.logName' FROM access_events").fetchone()
    assert got[:6] == (actor, action, method, outcome, micros, "8.8.8.8")
    assert "%2F" in got[6]  # logName stays URL-encoded, as written


# Filebeat (elastic/beats x-pack gcp/audit) parsed the same 11 lines; see peer_tests/INDEX.md row 18.
# (record, field): (theirs, ours, why we differ)
ACCEPTED_GCP_DISAGREEMENTS = {
    (6, "outcome"): ("success", None,
                     "operation.first without operation.last and response.status RUNNING: the operation had "
                     "only started; Filebeat takes the single authorizationInfo.granted as the outcome"),
    (7, "outcome"): (None, "success",
                     "operation.last with no error status: the operation completed; Filebeat has neither a "
                     "status code nor authorizationInfo and says 'unknown'"),
}


def _line_starts(path: Path) -> dict[int, int]:
    starts, pos = {}, 0
    for number, line in enumerate(path.read_bytes().splitlines(keepends=True), start=1):
        starts[pos] = number
        pos += len(line)
    return starts


def test_peer_filebeat_gcp_audit(ws):
    path = real("gcp_audit", "beats_gcp_audit_log_entries.jsonl")
    expected = json.loads(real("peer_tests", "elastic", "gcp_audit",
                               "beats_gcp_audit_log_entries.jsonl.expected.json").read_text(encoding="utf-8"))
    ingest_file(ws, path, "gcp_audit")
    ours = {rec: (ts, ip, actor, raw, outcome) for rec, ts, ip, actor, raw, outcome in ws.sql(
        "SELECT source_record, ts, src_ip, actor_id, raw_action, outcome FROM access_events").fetchall()}
    starts = _line_starts(path)
    assert len(expected) == len(ours) == 11
    found = {}
    for doc in expected:
        rec = starts[doc["log.offset"]]
        ts, ip, actor, raw, outcome = ours[rec]
        theirs_ts = datetime.fromisoformat(doc["@timestamp"])
        pairs = {
            "ts": (theirs_ts, ts.replace(microsecond=ts.microsecond // 1000 * 1000)),  # they keep milliseconds
            "src_ip": (doc.get("source.ip"), ip),
            "actor_id": (doc.get("user.email"), actor),
            "raw_action": (doc.get("event.action"), raw),
            "outcome": (None if doc.get("event.outcome") == "unknown" else doc.get("event.outcome"), outcome),
        }
        for field, (a, b) in pairs.items():
            if a != b:
                found[(rec, field)] = (a, b)
    assert found == {k: v[:2] for k, v in ACCEPTED_GCP_DISAGREEMENTS.items()}


def test_no_other_format_claims_these_files():
    from investigate.loaders import formats

    for path in [FIXTURES / "sink_export.jsonl", FIXTURES / "pretty_entry.json"]:
        head = path.read_text(encoding="utf-8")[:65536]
        sure = {name for name, loader in formats().items() if loader.sniff(head) >= 50}
        assert sure == {"gcp_audit"}, path.name
