"""Small files loaded in batches: the same rows, rejects and records as one by one.

Thousands of small files (CloudTrail every five minutes, flow logs every ten) are loaded several
at a time: one statement reads, types and writes a batch, in one transaction. Everything a
user sees must be what loading the files one by one gives; a file at fault must get its own
error and leave the others loaded.
"""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from investigate import Workspace, ingest
from investigate.errors import RejectedRecordError, UnreadableInputError
from investigate.loaders import base, records
from investigate.loaders.base import iter_ingest

HDR = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
V2 = "2 123456789010 eni-0a1b {src} 10.0.1.5 {sp} 443 6 10 840 {start} {end} ACCEPT OK"
NODATA = "2 123456789010 eni-0a1b - - - - - - - 1714644901 1714644960 - NODATA"
# Every table a load writes, in an order that does not depend on how files were grouped.
TABLES = {
    "transfer_events": "SELECT * EXCLUDE (event_id), event_id FROM transfer_events ORDER BY source_file, source_record",
    "access_events": "SELECT * FROM access_events ORDER BY source_file, source_record",
    "rejects": "SELECT * FROM rejects ORDER BY ALL",
    "set_apart": "SELECT * FROM set_apart ORDER BY ALL",
    "ingests": "SELECT * EXCLUDE (loaded_at, checked_at) FROM ingests ORDER BY path",
    "address_locations": "SELECT * FROM address_locations ORDER BY ALL",
}


def flow_files(folder, n=12):
    """Flow log files as delivered: a header line, or none (default layout), gzip or plain,
    a NODATA line, an unreadable line, a blank line, CRLF, IPv6, a record before 2000."""
    folder.mkdir()
    for i in range(n):
        start = 1714644901 + i * 600
        lines = [V2.format(src=f"198.51.100.{i + 1}", sp=40000 + j, start=start + j, end=start + 60)
                 for j in range(i + 1)]
        if i % 3 == 0:
            lines.insert(0, HDR)
        if i == 4:
            lines += [NODATA, "2 123456789010 eni-0a1b 10.0.0.1 broken", ""]
        if i == 5:
            lines.append(V2.format(src="2001:db8::7", sp=1, start=1714644901, end=1714644960))
        if i == 7:
            lines.append(V2.format(src="192.0.2.9", sp=2, start=94668480, end=94668540))
        write(folder / f"flow-{i:02d}.log", ("\r\n" if i == 8 else "\n").join(lines) + "\n", gz=i % 2)
    return folder


def write(path, text, gz):
    """``text`` at ``path``, or gzip-compressed at ``path.gz``."""
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8", newline="")


def event(name, i, ip="203.0.113.9"):
    return {"eventVersion": "1.08", "eventTime": f"2024-05-02T10:{i:02d}:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": name, "sourceIPAddress": ip, "awsRegion": "eu-west-1",
            "userIdentity": {"type": "IAMUser", "userName": f"user{i}", "arn": f"arn:aws:iam::111:user/user{i}",
                             "accountId": "111"},
            "requestParameters": {"bucketName": "b", "key": f"k{i}"}}


def trail_files(folder, n=8):
    """CloudTrail delivery files ({"Records": [...]}, gzip), one as JSON Lines, one cut short,
    one with a record that is not an object."""
    folder.mkdir()
    for i in range(n):
        evs = [event("GetObject", i * 3 + j, ip="2001:db8::9" if j == 1 else "203.0.113.9") for j in range(3)]
        if i == 2:
            text = "\n".join(json.dumps(e) for e in evs) + "\n"
        else:
            text = json.dumps({"Records": evs + ([42] if i == 3 else [])})
        if i == 5:
            text = text[:-40]  # cut inside the last record
        (folder / f"trail-{i}.json.gz").write_bytes(gzip.compress(text.encode()))
    return folder


JSONL_MAPPING = {"table": "transfer_events",
                 "columns": {"ts_start": "start", "src_ip": "$.src.ip", "dst_ip": "dst", "bytes": "bytes",
                             "dst_port": "dst_port"}}


def jsonl_files(folder, n=7):
    """A SIEM's JSON Lines export split in parts: nested keys, a line that is not JSON, an
    array, a port out of range, blank lines, CRLF, one part as a JSON array document."""
    folder.mkdir()
    for i in range(n):
        recs = [{"start": f"2022-01-0{1 + i % 9}T00:00:0{j}Z", "src": {"ip": f"198.51.100.{i}"},
                 "dst": "2001:db8::5" if j else "198.18.0.5", "bytes": 100 * j, "dst_port": 443} for j in range(i + 2)]
        lines = [json.dumps(r) for r in recs]
        if i == 1:
            lines[1:1] = ['{"start": "2022-01-01T00:00:00Z", "src": {', "", "[1, 2]"]
        if i == 3:
            lines.append(json.dumps({**recs[0], "dst_port": 70000}))
        text = ("\r\n" if i == 2 else "\n").join(lines) + "\n"
        write(folder / f"part-{i}.jsonl", json.dumps(recs, indent=1) if i == 5 else text, gz=i % 2)
    return folder


def load_all(path, folder, fmt, batch_files, monkeypatch, **kw):
    monkeypatch.setattr(base, "BATCH_FILES", batch_files)
    ws = Workspace.open(str(path))
    results = ingest(ws, [folder], fmt, **kw)
    return ws, results


def tables(ws):
    return {name: ws.sql(sql).fetchall() for name, sql in TABLES.items()}


def summaries(results):
    return [(r.path, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart, r.ts_min, r.ts_max, r.note,
             [(x.record, x.reason, x.raw) for x in r.rejects]) for r in results]


@pytest.mark.parametrize("fmt, make", [("vpc_flow", flow_files), ("cloudtrail", trail_files), ("jsonl", jsonl_files)])
def test_a_batch_gives_what_file_by_file_gives(tmp_path, monkeypatch, fmt, make):
    folder = make(tmp_path / "in")
    kw = {"mapping": JSONL_MAPPING} if fmt == "jsonl" else {}
    calls = []
    real = base._load
    monkeypatch.setattr(base, "_load", lambda ws, items, *a, **k: (calls.append(len(items)), real(ws, items, *a, **k))[1])
    one_ws, one = load_all(tmp_path / "one.duckdb", folder, fmt, 1, monkeypatch, **kw)
    assert set(calls) == {1}
    calls.clear()
    many_ws, many = load_all(tmp_path / "many.duckdb", folder, fmt, 5, monkeypatch, **kw)
    assert max(calls) == 5 and sum(calls) == len(one)  # batches of up to five files, each file once
    assert summaries(many) == summaries(one)
    got = tables(many_ws)
    assert got == tables(one_ws)
    assert sum(r.rows_rejected for r in many) > 0 and len(got["rejects"]) == sum(r.rows_rejected for r in many)
    if fmt == "vpc_flow":
        assert sum(r.rows_set_apart for r in many) == 1
        assert sum(r.rows_loaded for r in many) == sum(range(1, 13)) + 1
        # Event ids are made from each file's own hash and record number.
        ids = many_ws.sql("SELECT event_id, source_record, i.sha256 FROM transfer_events t "
                          "JOIN ingests i ON i.path = t.source_file").fetchall()
        assert all(eid == f"{sha[:12]}-{rec}" for eid, rec, sha in ids)
    elif fmt == "jsonl":
        assert [(r.rows_read, r.rows_loaded, r.rows_rejected) for r in many] == [
            (2, 2, 0), (5, 3, 2), (4, 4, 0), (6, 5, 1), (6, 6, 0), (7, 7, 0), (8, 8, 0)]
        assert [(x.record, x.reason) for x in many[1].rejects] == [
            (2, "not valid JSON"), (4, "not a JSON object (a JSON array)")]
    else:
        cut = next(r for r in many if r.path.endswith("trail-5.json.gz"))
        assert (cut.rows_read, cut.rows_loaded, cut.rows_rejected) == (3, 2, 1)
        assert cut.rejects[0].reason.startswith("not valid JSON from line 1 on")
        scalar = next(r for r in many if r.path.endswith("trail-3.json.gz"))
        assert [(x.record, x.reason) for x in scalar.rejects] == [(4, "not a JSON object (a JSON number)")]


def test_a_file_that_fails_in_a_batch_gets_its_own_error_and_the_others_load(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        evs = [event("GetObject", i * 3 + j) for j in range(3)]
        text = (json.dumps({"Records": evs}) if i == 3  # a document: the others are JSON Lines
                else "".join(json.dumps(e) + "\n" for e in evs))
        (folder / f"trail-{i}.json.gz").write_bytes(gzip.compress(text.encode()))
    # The document is too large to read at once: it fails while its batch is being read.
    monkeypatch.setattr(records, "MAX_DOCUMENT_BYTES", 100)
    ws = Workspace.open(None)
    out = list(iter_ingest(ws, [folder], "cloudtrail"))
    assert [p.name for p, _, _ in out] == [f"trail-{i}.json.gz" for i in range(6)]
    assert [(p.name, type(e)) for p, _, e in out if e is not None] == [("trail-3.json.gz", UnreadableInputError)]
    assert [r.rows_loaded for _, r, e in out if e is None] == [3, 3, 3, 3, 3]
    assert ws.sql("SELECT count(*), count(DISTINCT source_file) FROM access_events").fetchone() == (15, 5)
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 5
    # ingest() stops at the file at fault; the files before it stay loaded, none after it.
    ws2 = Workspace.open(None)
    with pytest.raises(UnreadableInputError, match="trail-3.json.gz"):
        ingest(ws2, [folder], "cloudtrail")
    assert ws2.sql("SELECT count(DISTINCT source_file) FROM access_events").fetchone()[0] == 3


def test_strict_stops_at_the_file_with_a_reject_the_files_before_it_stay(tmp_path):
    folder = flow_files(tmp_path / "in", n=6)
    ws = Workspace.open(None)
    with pytest.raises(RejectedRecordError) as err:
        ingest(ws, [folder], "vpc_flow", strict=True)
    assert "flow-04.log:7: 5 fields" in str(err.value)
    assert ws.sql("SELECT count(DISTINCT source_file), count(*) FROM transfer_events").fetchone() == (4, 10)


def test_a_copy_in_the_same_batch_is_skipped_as_already_ingested(tmp_path):
    folder = flow_files(tmp_path / "in", n=4)
    shutil.copy(folder / "flow-01.log.gz", folder / "flow-99-copy-of-01.log.gz")
    ws = Workspace.open(None)
    results = ingest(ws, [folder], "vpc_flow")
    copy = next(r for r in results if r.path.endswith("flow-99-copy-of-01.log.gz"))
    assert copy.skipped and copy.note.startswith("already ingested (same sha256) from ") and "flow-01.log.gz" in copy.note
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 4
    assert sum(r.rows_loaded for r in results) == 1 + 2 + 3 + 4


def test_large_files_go_alone_and_batches_respect_their_limits(tmp_path, monkeypatch):
    folder = flow_files(tmp_path / "in", n=9)
    sizes = []
    real = base._load
    monkeypatch.setattr(base, "_load", lambda ws, items, *a, **k: (sizes.append([i.source.path.name for i in items]),
                                                                   real(ws, items, *a, **k))[1])
    # flow-04 counts as a file large enough to be read in parts; the byte limit cuts the rest.
    monkeypatch.setattr(base, "MIN_PART_BYTES", (folder / "flow-04.log").stat().st_size // 2)
    monkeypatch.setattr(base, "BATCH_BYTES", 10_000)
    ingest(Workspace.open(None), [folder], "vpc_flow")
    assert ["flow-04.log"] in sizes
    assert all("flow-04.log" not in s for s in sizes if len(s) > 1)
    assert [n for s in sizes for n in s] == sorted(p.name for p in folder.iterdir())  # in order, each once


def test_formats_that_say_they_batch_load_a_batch(tmp_path):
    """Every loader that says it batches has stage_batch, and no subclass undoes it by
    overriding stage() alone (its batches would skip what its stage() adds)."""
    from investigate.loaders import formats

    for name, loader in formats().items():
        if not loader.batch:
            continue
        cls = type(loader)
        defining = next(k for k in cls.__mro__ if "stage_batch" in vars(k))
        stage_owner = next(k for k in cls.__mro__ if "stage" in vars(k))
        assert issubclass(defining, stage_owner), f"{name}: stage() overridden below stage_batch()"
    assert {n for n, l in formats().items() if l.batch} >= {"cloudtrail", "vpc_flow", "web_access", "s3_access",
                                                           "azure_signin", "gcp_audit", "oci_audit"}
    assert not formats()["pgaudit"].batch and not formats()["csv"].batch
