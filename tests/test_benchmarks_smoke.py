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
         "--formats", "csv,jsonl,zeek_conn", "--skip", "reproduce,spark", "--data", str(out / "data"),
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


def test_renders_the_spark_section():
    # Spark itself is not run here (a JVM would make CI minutes slower): the rendering of a
    # result holding the section is, with a row count that differs and a query that failed.
    import run

    def query(name, spark, spark_rows, error=None):
        row = {"query": name, "duckdb": 0.1, "duckdb_runs": [0.1], "duckdb_rows": 10, "spark": spark,
               "spark_runs": [] if spark is None else [spark], "spark_rows": spark_rows,
               "same_rows": spark_rows == 10, "ratio": None if spark is None else spark / 0.1}
        return row | ({"error": error} if error else {})

    result = {"date": "2026-11-29", "scale": 0.01, "runs": 1, "memory_limit": "4GB",
              "machine": {"cores": 2, "memory_gb": 24, "system": "Linux", "python": "3.11", "duckdb": "2"},
              "data_records": 1, "data_mb": 1.0,
              "spark": {"spark": "4.3.0", "sqlglot": "30", "master": "local[*]", "cores": 2,
                        "driver_memory": "8g", "case_load_seconds": 1.0, "export_seconds": 1.5,
                        "export_mb": 7.2, "session_seconds": 9.0, "open_seconds": 45.0,
                        "process_peak_mb": 300.0, "jvm_peak_mb": None,
                        "queries": [query("same", 2.0, 10), query("differs", 2.0, 9),
                                    query("broken", None, None, "broken on Spark: no such function")]}}
    text = run.markdown(result)
    assert "## Every query on DuckDB and on Spark (local mode)" in text
    assert "| same | 0.10 s | 2.00 s | 20.0x | 10 | yes |" in text
    assert "| differs | 0.10 s | 2.00 s | 20.0x | 10 / 9 | **no** |" in text
    assert "| broken | 0.10 s | failed | - | 10 / - | **no** |" in text
    assert "- broken: broken on Spark: no such function" in text
