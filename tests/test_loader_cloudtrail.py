"""CloudTrail: every delivery shape, every identity type, and the real samples with a peer check."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import investigate as inv
from investigate.loaders.sources import inspect

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
UTC = timezone.utc


def event(name="GetObject", *, ident=None, ip="198.51.100.7", time="2022-01-05T08:00:00Z", **extra):
    record = {"eventVersion": "1.08", "eventTime": time, "eventSource": "s3.amazonaws.com",
              "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
              "userAgent": "aws-cli/2.4", "eventID": f"id-{name}-{time}", "eventType": "AwsApiCall",
              "userIdentity": ident if ident is not None else
              {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111:user/alice",
               "accountId": "111"}}
    if time is None:
        record.pop("eventTime")
    record.update(extra)
    return record


def load(ws, tmp_path, records=None, text=None, name="trail.json", fmt="cloudtrail"):
    path = tmp_path / name
    body = text if text is not None else json.dumps({"Records": records})
    path.write_bytes(gzip.compress(body.encode()) if name.endswith(".gz") else body.encode())
    return inv.ingest_file(ws, path, fmt)


def row(ws, record=1):
    return ws.sql("""SELECT ts, actor_id, actor_type, src_ip, action, raw_action, resource, outcome, bytes
                     FROM access_events WHERE source_record = ?""", [record]).fetchone()


IDENTITIES = [
    ({"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111:user/alice"}, "alice", "human"),
    ({"type": "Root", "arn": "arn:aws:iam::111:root", "principalId": "111"}, "root", "human"),
    ({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Admin/alice@corp.example",
      "sessionContext": {"sessionIssuer": {"userName": "Admin"}}}, "alice@corp.example", "human"),
    ({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/Deploy/ci-run-42"}, "ci-run-42", "unknown"),
    ({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}, "ec2.amazonaws.com", "service"),
    ({"type": "FederatedUser", "arn": "arn:aws:sts::1:federated-user/bob"}, "bob", "human"),
    ({"type": "AWSAccount", "accountId": "222", "principalId": "AIDA:x"}, "222", "unknown"),
]


@pytest.mark.parametrize("ident, actor, kind", IDENTITIES, ids=[i[0]["type"] + str(n) for n, i in enumerate(IDENTITIES)])
def test_actor_is_the_most_specific_identity(ws, tmp_path, ident, actor, kind):
    load(ws, tmp_path, [event(ident=ident)])
    assert row(ws)[1:3] == (actor, kind)
    raw = json.loads(ws.sql("SELECT extra FROM access_events").fetchone()[0])
    assert raw["userIdentity"] == ident  # the raw identity is kept


def test_s3_data_event_resource_bytes_and_sub_second_time(ws, tmp_path):
    data_event = event(time="2022-01-05T08:00:00.123456Z",
                       resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::rr-us/profiles/p1.parquet"},
                                  {"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::rr-us"}],
                       additionalEventData={"bytesTransferredOut": 1048576.0},
                       requestParameters={"bucketName": "rr-us", "key": "profiles/p1.parquet"})
    no_resources = event("PutObject", requestParameters={"bucketName": "rr-us", "key": "in/x.csv"})
    bucket_only = event("ListObjects", requestParameters={"bucketName": "rr-us"})
    service_only = event("DescribeInstances", eventSource="ec2.amazonaws.com")
    load(ws, tmp_path, [data_event, no_resources, bucket_only, service_only])
    assert row(ws, 1) == (datetime(2022, 1, 5, 8, 0, 0, 123456, tzinfo=UTC), "alice", "human", "198.51.100.7",
                          "read", "GetObject", "arn:aws:s3:::rr-us/profiles/p1.parquet", "success", 1048576)
    assert row(ws, 2)[4:7] == ("write", "PutObject", "arn:aws:s3:::rr-us/in/x.csv")
    assert row(ws, 3)[4:7] == ("list", "ListObjects", "arn:aws:s3:::rr-us")
    assert row(ws, 4)[4:7] == ("list", "DescribeInstances", "ec2.amazonaws.com")


@pytest.mark.parametrize("name, action", [
    ("ConsoleLogin", "login"), ("AssumeRole", "login"), ("GetObject", "read"), ("ListBuckets", "list"),
    ("DeleteObject", "delete"), ("CreateSnapshot", "export"), ("CopySnapshot", "export"),
    ("ExportImage", "export"), ("PutBucketPolicy", "write"), ("Frobnicate", "other")])
def test_action_vocabulary(ws, tmp_path, name, action):
    load(ws, tmp_path, [event(name)])
    assert row(ws)[4:6] == (action, name)


def test_iam_changes_are_admin(ws, tmp_path):
    load(ws, tmp_path, [event("AttachUserPolicy", eventSource="iam.amazonaws.com"),
                        event("GetUser", eventSource="iam.amazonaws.com")])
    assert [row(ws, i)[4] for i in (1, 2)] == ["admin", "read"]


def test_outcomes(ws, tmp_path):
    load(ws, tmp_path, [
        event(errorCode="AccessDenied", errorMessage="Access Denied"),
        event("ConsoleLogin", responseElements={"ConsoleLogin": "Failure"}, errorMessage="Failed authentication"),
        event("ConsoleLogin", responseElements={"ConsoleLogin": "Success"}),
        event(errorCode="null"),  # the string 'null' some exporters write
    ])
    assert [row(ws, i)[7] for i in (1, 2, 3, 4)] == ["failure", "failure", "success", "success"]


@pytest.mark.parametrize("ip, kept", [("s3.amazonaws.com", None), ("100.200.300.400", None),
                                      ("AWS Internal", None), ("2001:db8::7", "2001:db8::7"),
                                      ("10.1.2.3", "10.1.2.3")])
def test_source_address_that_is_not_an_ip_is_kept_as_text_only(ws, tmp_path, ip, kept):
    load(ws, tmp_path, [event(ip=ip)])
    assert row(ws)[3] == kept
    assert ws.sql("SELECT extra->>'sourceIPAddress' FROM access_events").fetchone() == (ip,)


def test_insight_event_has_no_user(ws, tmp_path):
    insight = {"eventVersion": "1.07", "eventTime": "2020-09-09T23:00:00Z", "awsRegion": "us-east-1",
               "eventID": "ins-1", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight",
               "insightDetails": {"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}}
    result = load(ws, tmp_path, [insight])
    assert result.rows_loaded == 1
    assert row(ws) == (datetime(2020, 9, 9, 23, tzinfo=UTC), None, None, None, None, None, None, None, None)


def test_logstash_lines_with_at_timestamp_instead_of_event_time(ws, tmp_path):
    lines = [json.dumps({**event(time=None), "@timestamp": "2022-01-05T08:00:00.250Z", "@version": "1"}),
             json.dumps(event(time=None)), "{not json", json.dumps(event())]
    result = load(ws, tmp_path, text="\n".join(lines) + "\n", name="lake.jsonl")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert [(r.record, r.reason) for r in result.rejects] == [
        (2, "missing timestamp (expression 'coalesce(event_time, at_timestamp)' is empty)"),
        (3, "not valid JSON")]
    assert row(ws, 1)[0] == datetime(2022, 1, 5, 8, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize("shape", ["one_line", "pretty", "gzip", "lines", "array"])
def test_delivery_shapes_give_the_same_rows(tmp_path, shape):
    records = [event("GetObject"), event("ConsoleLogin", time="2022-01-05T09:00:00Z")]
    name, text = "trail.json", json.dumps({"Records": records})
    if shape == "pretty":
        text = json.dumps({"Records": records}, indent=4)
    elif shape == "gzip":
        name = "111_CloudTrail_us-east-1_20220105T0800Z_abc.json.gz"
    elif shape == "lines":
        name, text = "trail.jsonl", "\n".join(json.dumps(r) for r in records)
    elif shape == "array":
        text = json.dumps(records, indent=2)
    with inv.Workspace.open() as ws:
        result = load(ws, tmp_path, text=text, name=name)
        assert (result.rows_read, result.rows_loaded) == (2, 2)
        got = ws.sql("SELECT source_record, event_id, ts, action FROM access_events ORDER BY 1").fetchall()
    assert got == [(1, "id-GetObject-2022-01-05T08:00:00Z", datetime(2022, 1, 5, 8, tzinfo=UTC), "read"),
                   (2, "id-ConsoleLogin-2022-01-05T09:00:00Z", datetime(2022, 1, 5, 9, tzinfo=UTC), "login")]


def test_truncated_delivery_file_keeps_the_events_before_the_cut(ws, tmp_path):
    text = json.dumps({"Records": [event(), event("PutObject")]}, indent=2)
    cut = text.index('"PutObject"')
    result = load(ws, tmp_path, text=text[:cut])
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert result.rejects[0].record == 2
    assert result.rejects[0].reason.startswith("not valid JSON from line ")


def test_hostile_delivery_files_give_rejects_and_leave_no_temporary_copy(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    # A lone surrogate escape decodes in Python to text UTF-8 cannot hold.
    surrogate = json.dumps({"Records": [event(), event("PutObject")]}).replace("PutObject", "Put\\ud800")
    result = load(ws, tmp_path, text=surrogate, name="surrogate.json")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert result.rejects[0].reason == "not valid JSON"  # DuckDB's reader refuses lone surrogates
    # The record as written in the file (its own bytes, escape and spacing kept).
    assert '"eventName": "Put\\ud800"' in result.rejects[0].raw
    deep = '{"Records": [' + json.dumps(event()) + ', {"a": ' + "[" * 50_000 + "]" * 50_000 + "}]}"
    result = load(ws, tmp_path, text=deep, name="deep.json")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert result.rejects[0].reason.startswith("a JSON value nested too deeply to read")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert row(ws, 1)[5] == "GetObject"


def test_digest_files_are_skipped_with_a_note(ws, tmp_path):
    digest = {"awsAccountId": "111", "digestStartTime": "2022-01-05T08:00:00Z",
              "digestEndTime": "2022-01-05T09:00:00Z", "logFiles": []}
    result = load(ws, tmp_path, text=json.dumps(digest), name="digest.json")
    assert result.skipped and "CloudTrail digest file" in result.note
    assert ws.count("ingests") == 0
    auto = load(ws, tmp_path, text=json.dumps(digest), name="digest2.json", fmt="auto")
    assert auto.skipped and auto.format == "cloudtrail"


def test_an_awslogs_tree_loads_logs_and_skips_digests(ws, tmp_path):
    base = tmp_path / "AWSLogs" / "111"
    day = base / "CloudTrail" / "us-east-1" / "2022" / "01" / "05"
    day.mkdir(parents=True)
    (day / "111_CloudTrail_us-east-1_20220105T0800Z_a.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [event()]}).encode()))
    (day / "111_CloudTrail_us-east-1_20220105T0805Z_b.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [event("PutObject"), event("DeleteObject")]}).encode()))
    digest_dir = base / "CloudTrail-Digest" / "us-east-1" / "2022" / "01" / "05"
    digest_dir.mkdir(parents=True)
    (digest_dir / "111_CloudTrail-Digest_us-east-1_x.json.gz").write_bytes(
        gzip.compress(json.dumps({"digestStartTime": "x", "logFiles": []}).encode()))
    results = inv.ingest(ws, tmp_path / "AWSLogs", "cloudtrail")
    loaded = sorted((Path(r.path).name, r.rows_loaded) for r in results if not r.skipped)
    skipped = [Path(r.path).name for r in results if r.skipped]
    assert loaded == [("111_CloudTrail_us-east-1_20220105T0800Z_a.json.gz", 1),
                      ("111_CloudTrail_us-east-1_20220105T0805Z_b.json.gz", 2)]
    assert skipped == ["111_CloudTrail-Digest_us-east-1_x.json.gz"]
    assert ws.count("access_events") == 3


# -- the real samples ------------------------------------------------------------------------

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real_samples is absent")

REAL_COUNTS = {  # file: (read, loaded, rejected)
    "beats_assume_role.jsonl": (1, 1, 0),
    "beats_console_login.jsonl": (2, 2, 0),
    "beats_insight_event.jsonl": (1, 1, 0),
    "openregister_records_wrapper.json": (2, 2, 0),
    "otrf_ec2_proxy_s3_exfiltration.jsonl": (103, 103, 0),
    "trailscraper_pretty_records.json": (2, 2, 0),
    "trailscraper_smoke_records.json": (3, 3, 0),
}


@needs_real
@pytest.mark.parametrize("name", sorted(REAL_COUNTS))
def test_real_cloudtrail_samples_load(ws, name):
    result = inv.ingest_file(ws, REAL / "aws_cloudtrail" / name, "cloudtrail")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == REAL_COUNTS[name]
    auto = inv.detect_format(inspect(REAL / "aws_cloudtrail" / name))[1]
    assert auto == "cloudtrail"


@needs_real
def test_real_samples_spot_values(ws):
    for name in REAL_COUNTS:
        inv.ingest_file(ws, REAL / "aws_cloudtrail" / name, "cloudtrail")
    # the invalid sanitised address and the service names are not addresses
    got = dict(ws.sql("""SELECT extra->>'sourceIPAddress', count(src_ip) FROM access_events
                         GROUP BY 1""").fetchall())
    assert got["100.200.300.400"] == 0 and got["ec2.amazonaws.com"] == 0 and got["1.2.3.4"] == 98
    # Logstash-shipped records have no eventTime: @timestamp is used
    assert ws.sql("""SELECT count(*) FROM access_events WHERE source_file LIKE '%otrf%'
                     AND ts IS NOT NULL""").fetchone() == (103,)
    kinds = dict(ws.sql("""SELECT actor_type, count(*) FROM access_events WHERE source_file LIKE '%otrf%'
                           GROUP BY 1""").fetchall())
    # IAM user pedro; EC2 instance role sessions (i-0317...) are not known to be people; EC2 itself
    assert kinds == {"human": 87, "service": 5, "unknown": 11}


@needs_real
def test_real_digest_file_is_skipped(ws):
    result = inv.ingest_file(ws, REAL / "aws_cloudtrail" / "beats_cloudtrail_digest_file.json", "auto")
    assert result.skipped and result.format == "cloudtrail"


@needs_real
def test_derived_honeybucket_csv_loads_through_a_mapping(ws, tmp_path):
    """A CSV made from CloudTrail by another tool is not CloudTrail: it loads with csv + a mapping."""
    # Two columns hold Python dict reprs, not JSON: the values are picked out with a pattern.
    user = "nullif(regexp_extract(\"User ID\", 'accountId'': ''([^'']*)''', 1), '')"
    bucket = "nullif(regexp_extract(\"Request Parameters\", 'bucketName'': ''([^'']*)''', 1), '')"
    mapping = {"table": "access_events", "columns": {
        "event_id": "Event ID", "ts": "Event DateTime", "src_ip": "Source IP", "raw_action": "Event Name",
        "user_agent": "Request User Agent", "actor_id": {"expr": user}, "resource": {"expr": bucket}},
        "actions": {"ListObjects": "list", "GetObject": "read"}}
    path = REAL / "aws_cloudtrail" / "otrf_s3_honeybucket_cloudtrail_derived.csv"
    result = inv.ingest_file(ws, path, "csv", mapping=mapping)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (301, 301, 0)
    first = ws.sql("""SELECT ts, src_ip, actor_id, action, resource, extra->>'Alert' FROM access_events
                      WHERE source_record = 1""").fetchone()
    assert first == (datetime(2022, 2, 18, 17, 34, 57, tzinfo=UTC), "177.131.167.145", "ANONYMOUS_PRINCIPAL",
                     "list", "microsoft-devtest", " 302-2022-02-18T17:34:57Z")


# -- peer check: what Filebeat's CloudTrail module makes of the same inputs --------------------

PEER = REAL / "peer_tests" / "elastic" / "aws_cloudtrail"
ACCEPTED = {
    # (file, record, field): why we differ on purpose
    ("beats_assume_role.jsonl", 1, "user"): "we take the role session name (JohnRole1) as the issue "
    "asks for assumed roles; Filebeat takes the session issuer's userName (the role, JohnDoe)",
    ("beats_insight_event.jsonl", 1, "outcome"): "an Insights event is a statistic, not a call that "
    "succeeded or failed: outcome NULL; Filebeat says success",
}


@needs_real
@pytest.mark.parametrize("name", ["beats_assume_role.jsonl", "beats_console_login.jsonl", "beats_insight_event.jsonl"])
def test_peer_parser_agrees_record_by_record(ws, name):
    inv.ingest_file(ws, REAL / "aws_cloudtrail" / name, "cloudtrail")
    ours = ws.sql("""SELECT source_record, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', src_ip, actor_id,
                            raw_action, outcome FROM access_events ORDER BY 1""").fetchall()
    theirs = json.loads((PEER / f"{name}.expected.json").read_text())
    assert len(ours) == len(theirs)
    found = {}
    for (rec, ts, ip, user, action, outcome), doc in zip(ours, theirs):
        pairs = {"ts": (ts, doc.get("@timestamp")),
                 "ip": (ip, doc.get("source.ip", doc.get("source.address"))),
                 "user": (user, doc.get("user.name")),
                 "action": (action, doc.get("event.action")),
                 "outcome": (outcome, doc.get("event.outcome"))}
        for field, (a, b) in pairs.items():
            if a != b:
                found[(name, rec, field)] = (a, b)
    assert set(found) == {k for k in ACCEPTED if k[0] == name}, found


@needs_real
def test_records_wrapper_unwraps_like_the_peer(ws):
    """openregister's expected output is the wrapper's records, one per line."""
    inv.ingest_file(ws, REAL / "aws_cloudtrail" / "openregister_records_wrapper.json", "cloudtrail")
    expected = [json.loads(line) for line in
                (REAL / "peer_tests" / "openregister_cloudtrail_sumologic" / "expected_one_record_per_line.log")
                .read_text().splitlines() if line.strip()]
    got = ws.sql("SELECT event_id, strftime(ts, '%Y-%m-%dT%H:%M:%SZ'), extra->>'sourceIPAddress' "
                 "FROM access_events ORDER BY source_record").fetchall()
    assert got == [(r["eventID"], r["eventTime"], r["sourceIPAddress"]) for r in expected]


def test_auto_on_a_folder_loads_what_it_recognises_and_skips_the_rest(ws, tmp_path, capsys):
    from investigate.cli import main

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "trail.json").write_text(json.dumps({"Records": [event(), event("PutObject")]}))
    (folder / "README.txt").write_text("exported by the platform team on 5 January\n")
    results = inv.ingest(ws, folder, "auto")
    assert [(Path(r.path).name, r.format, r.rows_loaded, r.skipped, r.note) for r in results] == [
        ("README.txt", "auto", 0, True, "format not recognised"),
        ("trail.json", "cloudtrail", 2, False, "format auto: cloudtrail")]
    with pytest.raises(inv.UnknownFormatError, match="README.txt: cannot tell which format this is"):
        inv.ingest(ws, folder / "README.txt", "auto")
    assert main(["ingest", str(tmp_path / "ws.duckdb"), str(folder), "--format", "auto"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "README.txt: skipped (format not recognised)",
        "trail.json: read 2, loaded 2, rejected 0 -> access_events (format auto: cloudtrail)"]


@pytest.mark.parametrize("shape", ["array, one per line", "array, pretty", "values and commas, no brackets",
                                   "one pretty object", "lines, first one cut"])
def test_small_documents_are_told_from_json_lines(ws, tmp_path, shape):
    """A JSON Lines file is recognised by any of its first lines (a cut first line does not make
    it a document), and a short document is never taken for JSON Lines because one of its lines
    happens to be a whole object."""
    evs = [event(time=f"2022-01-05T08:0{i}:00Z") for i in range(3)]
    lines = [json.dumps(e) for e in evs]
    text = {"array, one per line": "[\n" + ",\n".join(lines) + "\n]\n",
            "array, pretty": json.dumps(evs[:2], indent=2),
            "values and commas, no brackets": ",\n".join(lines) + "\n",
            "one pretty object": json.dumps(evs[0], indent=2),
            "lines, first one cut": "\n".join([lines[0][:50], *lines[1:]]) + "\n"}[shape]
    result = load(ws, tmp_path, text=text)
    expected = {"array, pretty": (2, 2, 0), "one pretty object": (1, 1, 0), "lines, first one cut": (3, 2, 1)}
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == expected.get(shape, (3, 3, 0))
