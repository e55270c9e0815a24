"""A large file is read in parts on several threads: the rows, record numbers, rejects and
records set apart must be exactly those of a read in one piece, whatever the part estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import investigate as inv
from investigate.loaders import records

from .conftest import SAMPLES

CT = "exports_native/AWSLogs/111122223333/CloudTrail/us-east-1/2022/03/23/"
VPC = "exports_flows/vpcflow/AWSLogs/111122223333/vpcflowlogs/us-east-1/2022/03/09/"
FILES = [
    ("exports/edge_flows.jsonl.gz", "jsonl", "mappings/edge_flows.yml"),
    ("exports_native/gateway/access.log-20220630.gz", "web_access", None),
    ("exports_native/postgresql/sg-prod/postgresql-2022-06.log.gz", "pgaudit", None),
    (CT + "111122223333_CloudTrail_us-east-1_20220323T0000Z_ae300fa1.json.gz", "cloudtrail", None),
    ("exports_flows/zeek/conn.2022-06.log.gz", "zeek_conn", None),
    (VPC + "111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20220309T0000Z_df8bf7bd.log.gz",
     "vpc_flow", None),  # has a NODATA record
]


def everything(ws) -> dict:
    """Every row a load wrote, without the file path (it is the same in both reads)."""
    out = {"ingests": ws.sql("SELECT format, rows_read, rows_loaded, rows_rejected, rows_set_apart, "
                             "ts_min, ts_max FROM ingests ORDER BY sha256").fetchall()}
    for table in ("access_events", "transfer_events"):
        cols = [c for c in ws.sql(f"SELECT * FROM {table} LIMIT 0").df().columns if c != "source_file"]
        out[table] = ws.sql(f"SELECT {', '.join(cols)} FROM {table} "
                            "ORDER BY source_format, source_record, event_id").fetchall()
    out["rejects"] = ws.sql("SELECT source_sha256, source_record, reason, raw FROM rejects ORDER BY ALL").fetchall()
    out["set_apart"] = ws.sql("SELECT * EXCLUDE (source_file) FROM set_apart ORDER BY ALL").fetchall()
    return out


def load_all(files, monkeypatch, parts: int) -> dict:
    monkeypatch.setattr(records, "PARTS", parts)
    monkeypatch.setattr(records, "MIN_PART_BYTES", 1)  # every file is "large"
    with inv.Workspace.open() as ws:
        for path, fmt, mapping in files:
            inv.ingest_file(ws, path, fmt, mapping=mapping)
        return everything(ws)


def test_sample_exports_read_in_parts_give_the_same_rows(monkeypatch):
    files = [(SAMPLES / p, f, m and SAMPLES / m) for p, f, m in FILES]
    whole = load_all(files, monkeypatch, parts=1)
    assert sum(len(whole[t]) for t in ("access_events", "transfer_events")) > 3000
    assert whole["rejects"] and whole["set_apart"]  # the comparison covers both
    for parts in (2, 3, 4):
        assert load_all(files, monkeypatch, parts=parts) == whole, parts


def ct_line(i: int, pad: int) -> str:
    return json.dumps({"eventVersion": "1.08", "eventTime": f"2022-01-05T08:{i // 60 % 60:02d}:{i % 60:02d}Z",
                       "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
                       "sourceIPAddress": "198.51.100.7", "eventID": f"e{i}",
                       "userIdentity": {"type": "IAMUser", "userName": "alice"}, "pad": "x" * pad})


@pytest.mark.parametrize("shape", ["long_head", "short_head"])
def test_a_wrong_part_estimate_changes_nothing(tmp_path, monkeypatch, shape):
    # Long lines first make the estimate too low (the last part reads most of the file); short
    # lines first make it too high (later parts are empty). Blank lines, CRLF endings and
    # rejects fall in every part.
    lines = []
    for i in range(600):
        long = (i < 60) == (shape == "long_head")
        lines.append(ct_line(i, 3000 if long else 10))
        if i % 97 == 0:
            lines.append("")
        if i % 101 == 0:
            lines.append("{not json")
    path = tmp_path / "trail.jsonl"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n\r\n")
    whole = load_all([(path, "cloudtrail", None)], monkeypatch, parts=1)
    assert whole["ingests"][0][1:4] == (606, 600, 6)
    assert [r[1] for r in whole["rejects"]] == [n for n, line in enumerate(lines, 1) if line == "{not json"]
    for parts in (2, 4):
        assert load_all([(path, "cloudtrail", None)], monkeypatch, parts=parts) == whole


def test_part_bounds_estimate_lines_from_the_head(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"x" * 99 + b"\n")  # 100 bytes a line
    assert records.part_bounds(str(path), "none", records.MIN_PART_BYTES, parts=4) == []  # one part's worth
    big = 4 * records.MIN_PART_BYTES
    assert records.part_bounds(str(path), "none", big, parts=4) == [big // 400, big // 200, 3 * big // 400]
    assert records.part_bounds(str(path), "none", big, parts=1) == []
    path.write_bytes(b"no newline at all")
    assert records.part_bounds(str(path), "none", big, parts=4) == []


def settings(ws) -> tuple:
    return ws.sql("SELECT current_setting('preserve_insertion_order'), "
                  "current_setting('disabled_optimizers')").fetchone()


def test_a_load_leaves_the_session_settings_as_they_were(ws, tmp_path):
    before = settings(ws)
    assert before == (True, "")
    good = tmp_path / "trail.jsonl"
    good.write_text(ct_line(1, 0) + "\n")
    inv.ingest_file(ws, good, "cloudtrail")
    assert settings(ws) == before
    bad = tmp_path / "x.csv"  # fails inside the load's transaction
    bad.write_text("a\n1\n")
    with pytest.raises(inv.InvestigateError, match="unknown time zone 'Mars/Base'"):
        inv.ingest_file(ws, bad, "netflow_csv", options={"timezone": "Mars/Base"})
    assert settings(ws) == before
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 1
