"""The benchmark at a tiny scale, as CI runs it: it must finish and print its table.

No timing is asserted (timings belong to benchmarks/, as ratios within one run); what is checked
is that every section ran on the data it says it ran on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/run.py"), "--scale", "0.05", "--runs", "1",
         "--formats", "csv,jsonl,zeek_conn", "--skip", "reproduce", "--data", str(out / "data"),
         "--results", str(out / "results")],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (json_file,) = (out / "results").glob("*.json")
    return proc.stdout, json.loads(json_file.read_text(encoding="utf-8")), out


def test_prints_the_table_of_every_section(smoke):
    stdout, _, _ = smoke
    for heading in ("## Ingest against DuckDB's own read", "## Enrichment against a plain scan",
                    "## Queries against a plain scan", "## The case loaded and answered, against pandas"):
        assert heading in stdout
    assert "written: " in stdout


def test_ingest_rows_match_what_was_generated(smoke):
    _, result, out = smoke
    made = {f["format"]: f for f in json.loads((out / "data/scale.json").read_text())["formats"]}
    rows = {r["label"]: r for r in result["ingest"]}
    assert set(rows) == {"csv (platform audit)", "csv (APAC gateway)", "jsonl (edge flows)", "zeek_conn"}
    # SCALE=0.05: 50,000 access events (the two CSVs) and 50,000 edge flows, of which the
    # case's malformed records (6 + 3 in the CSVs, 2 in the flows, 1 in the Zeek logs) are rejected.
    csv_rows = rows["csv (platform audit)"]["records"] + rows["csv (APAC gateway)"]["records"]
    assert csv_rows + rows["csv (platform audit)"]["rejected"] + rows["csv (APAC gateway)"]["rejected"] == 50_000
    assert rows["jsonl (edge flows)"]["records"] + rows["jsonl (edge flows)"]["rejected"] == 50_000
    assert rows["jsonl (edge flows)"]["rejected"] == 2
    zeek = made["zeek_conn"]
    assert rows["zeek_conn"]["records"] == zeek["case_records"] + zeek["bulk_records"] - 1
    for row in rows.values():
        assert row["ratio"] > 0 and row["duckdb"]["peak_mb"] > 0 and row["investigate"]["peak_mb"] > 0


def test_every_query_ran(smoke):
    import investigate as inv

    _, result, _ = smoke
    assert [q["query"] for q in result["queries"]] == [q.name for q in inv.list_queries()]
    assert result["enrichment"]["events"] == 50_000 - 9
    assert result["pandas"]["rows"] == result["enrichment"]["events"] + 50_000 - 2 + 1308
