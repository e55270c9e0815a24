"""transfer_jobs: backup and replication job logs, CSV or JSON Lines, through a mapping."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import investigate as inv

MAPPING = {"table": "transfer_events", "columns": {
    "event_id": "job", "dataset": "dataset", "src_host": "from", "dst_host": "to",
    "bytes": "bytes", "ts_start": "start", "ts_end": "end", "outcome": "status"}}
ROWS = [
    {"job": "j1", "dataset": "us_user_data", "from": "us-east-dc", "to": "sg-dc", "bytes": 1000,
     "start": "2022-06-19T03:00:00Z", "end": "2022-06-19T03:05:00Z", "status": "Completed"},
    {"job": "j2", "dataset": "us_user_data", "from": "us-east-dc", "to": "sg-dc", "bytes": None,
     "start": "2022-06-20T03:00:00Z", "end": None, "status": "Aborted"},
    {"job": "j3", "dataset": "us_user_data", "from": "us-east-dc", "to": "sg-dc", "bytes": 5,
     "start": "2022-06-21T03:00:00Z", "end": "2022-06-21T03:01:00Z", "status": "Rebooting"},
]
UTC = timezone.utc


@pytest.mark.parametrize("shape", ["csv", "jsonl"])
def test_job_logs_load_from_csv_or_json_lines(ws, tmp_path, shape):
    path = tmp_path / f"jobs.{shape}"
    if shape == "csv":
        lines = ["job,dataset,from,to,bytes,start,end,status"] + [
            ",".join("" if r[k] is None else str(r[k]) for k in ("job", "dataset", "from", "to", "bytes", "start", "end", "status"))
            for r in ROWS]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    result = inv.ingest_file(ws, path, "transfer_jobs", mapping=MAPPING)
    assert (result.rows_read, result.rows_loaded, result.table) == (3, 3, "transfer_events")
    got = ws.sql("SELECT event_id, src_host, dst_host, bytes, ts_start, ts_end, outcome, extra->>'raw_outcome' "
                 "FROM transfer_events ORDER BY source_record").fetchall()
    assert got == [
        ("j1", "us-east-dc", "sg-dc", 1000, datetime(2022, 6, 19, 3, tzinfo=UTC), datetime(2022, 6, 19, 3, 5, tzinfo=UTC), "success", None),
        ("j2", "us-east-dc", "sg-dc", None, datetime(2022, 6, 20, 3, tzinfo=UTC), None, "failure", None),
        # a status word nobody knows: no outcome, and the word is kept
        ("j3", "us-east-dc", "sg-dc", 5, datetime(2022, 6, 21, 3, tzinfo=UTC), datetime(2022, 6, 21, 3, 1, tzinfo=UTC), None, "Rebooting"),
    ]


def test_a_mapping_for_another_table_is_refused(ws, tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("job,start\nj1,2022-06-19T03:00:00Z\n")
    with pytest.raises(inv.MappingError, match="transfer_jobs fills transfer_events"):
        inv.ingest_file(ws, path, "transfer_jobs", mapping={"table": "access_events", "columns": {"ts": "start"}})
