"""Every benchmark in one run: ingest, enrichment, queries, the pandas baseline, reproduce, Spark.

    python benchmarks/run.py [--scale 1] [--runs 3] [--memory-limit 4GB] [--data DIR] [--spark-memory 8g]

Generates the fictional case at SCALE (``benchmarks/generate.py``) unless ``--data`` holds one
already, then measures, each as the median of ``--runs`` runs, wall time and peak resident memory:

1. ingest of each format against DuckDB's own read of the same files into a table;
2. enrichment (every address against the range table, every resource against the catalogue)
   and the enriched view written, against a plain scan of the events;
3. every query of the library against a plain scan of the tables it reads;
4. the case loaded and its headline questions answered, against the same work done with pandas
   the way analysts do it today (``benchmarks/pandas_baseline.py``);
5. ``investigate reproduce`` of the samples;
6. ``spark``: the case loaded and exported as Parquet, the export opened on Spark in local mode
   (``investigate.spark``), and every query of the library on DuckDB and on Spark with the same
   parameters, results fetched whole on both (needs pyspark and Java; ``--skip spark`` without).

Timed work runs in a fresh process each time (so one run's memory is not counted in another's
peak), except the enrichment and query timings, which share one workspace and are reported with
that process's peak, and the Spark section, which runs in this process with its JVM beside it.
Writes ``benchmarks/results/<date>-scale<SCALE>.json`` and ``.md`` and prints the table. Ratios
are what the targets are about; they hold for this machine only as long as both sides ran in the
same run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (benchmarks/ is not a package)

TARGETS = {"ingest": 2.0, "enrichment": 1.5, "query": 10.0, "pandas": 10.0}

# --- running one measurement in a fresh process --------------------------------------------

def measure(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; its last stdout line, JSON with ``seconds`` and
    ``peak_mb`` (the process's own peak resident memory). A failure stops the benchmark."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"benchmark step failed ({' '.join(args)[:200]}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _peak_mb() -> float:
    """This process's peak resident memory in MiB (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The timed children run the same function (not an import of this module, whose imports would
# count in a child's peak).
PEAK = inspect.getsource(_peak_mb)

RAW_READ = PEAK + """
import json, sys, time, duckdb
files, db, memory, sql = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
con = duckdb.connect(db, config={'memory_limit': memory, 'preserve_insertion_order': False})
t = time.perf_counter()
con.execute('CREATE TABLE raw AS ' + sql, {'files': files})
seconds = time.perf_counter() - t
rows = con.execute('SELECT count(*) FROM raw').fetchone()[0]
print(json.dumps({'seconds': seconds, 'rows': rows, 'peak_mb': _peak_mb()}))
"""

INGEST = PEAK + """
import json, sys, time
import investigate as inv
files, db, memory, fmt, mapping = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ws = inv.Workspace.open(db, memory_limit=memory)
t = time.perf_counter()
results = inv.ingest(ws, files, fmt, mapping=mapping or None)
seconds = time.perf_counter() - t
print(json.dumps({'seconds': seconds, 'rows': sum(r.rows_loaded for r in results),
                  'rejected': sum(r.rows_rejected for r in results), 'files': len(results),
                  'peak_mb': _peak_mb()}))
"""

CASE_ANSWERS = PEAK + """
import json, sys, time
import investigate as inv
manifest, db, memory = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
ws = inv.Workspace.open(db, memory_limit=memory)
case = inv.read_manifest(manifest)
inv.ingest_case(ws, manifest)
summary = inv.run_query(ws, 'cross_border_access_summary', category=case['protected_category'])
routes = inv.run_query(ws, 'transfer_routes')
share = inv.run_query(ws, 'partner_share', partner_org=case['partner_org'])
seconds = time.perf_counter() - t
print(json.dumps({'seconds': seconds, 'rows': ws.count('access_events') + ws.count('transfer_events'),
                  'summary_rows': len(summary), 'peak_mb': _peak_mb()}))
"""

PANDAS = PEAK + """
import json, sys, time
sys.path.insert(0, sys.argv[2])
import pandas_baseline
t = time.perf_counter()
result = pandas_baseline.run(sys.argv[1])
print(json.dumps({'seconds': time.perf_counter() - t, 'rows': result.get('access_rows', 0) + result.get('flow_rows', 0),
                  'peak_mb': _peak_mb()}, default=str))
"""

REPRODUCE = PEAK + """
import json, sys, time
import investigate as inv
t = time.perf_counter()
inv.reproduce(sys.argv[1])
print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mb': _peak_mb()}))
"""

# --- what is ingested, and DuckDB's own read of the same files -----------------------------

_LINES = "read_csv($files, columns={'line': 'VARCHAR'}, header=false, delim=E'\\x01', quote='', escape='')"
RAW_SQL = {
    "csv": "SELECT * FROM read_csv($files, header=true, all_varchar=true, ignore_errors=true)",
    "csv;": "SELECT * FROM read_csv($files, delim=';', header=true, all_varchar=true, ignore_errors=true)",
    "jsonl": "SELECT * FROM read_json($files, format='newline_delimited', ignore_errors=true)",
    "cloudtrail": "SELECT unnest(Records) AS record FROM read_json($files, columns={'Records': 'JSON[]'})",
    "pgaudit": f"SELECT * FROM {_LINES}",
    "web_access": f"SELECT * FROM {_LINES}",
    "vpc_flow": "SELECT * FROM read_csv($files, delim=' ', header=true, all_varchar=true, ignore_errors=true)",
    "zeek_conn": "SELECT * FROM read_csv($files, delim=E'\\t', comment='#', header=false, all_varchar=true, "
                 "ignore_errors=true, null_padding=true)",
}


def ingest_inputs(data: Path, wanted=generate.FORMAT_SETS["all"]) -> list[dict]:
    """One entry per format the data holds (of those ``wanted``): label, loader format,
    mapping, files, raw SQL."""
    def files(paths):
        return sorted(str(p) for p in paths if p.is_file())

    entries = [
        ("csv (platform audit)", "csv", "mappings/access_platform_audit.yml", "csv",
         [data / "exports/access_platform_audit.csv", *(data / "exports/bulk/access_platform_audit").glob("*.csv")]),
        ("csv (APAC gateway)", "csv", "mappings/access_apac_gateway.yml", "csv;",
         [data / "exports/access_apac_gateway.csv", *(data / "exports/bulk/access_apac_gateway").glob("*.csv")]),
        ("jsonl (edge flows)", "jsonl", "mappings/edge_flows.yml", "jsonl",
         [data / "exports/edge_flows.jsonl.gz", *(data / "exports/bulk/edge_flows").glob("*.jsonl.gz")]),
        ("cloudtrail", "cloudtrail", "", "cloudtrail",
         (data / "exports_native/AWSLogs").glob("*/CloudTrail/*/*/*/*/*.json.gz")),
        ("pgaudit", "pgaudit", "", "pgaudit", (data / "exports_native/postgresql").rglob("*.log.gz")),
        ("web_access (nginx)", "web_access", "", "web_access", (data / "exports_native/gateway").glob("*.gz")),
        ("vpc_flow", "vpc_flow", "", "vpc_flow", (data / "exports_flows/vpcflow").rglob("*.log.gz")),
        ("zeek_conn", "zeek_conn", "", "zeek_conn", (data / "exports_flows/zeek").glob("*.log.gz")),
    ]
    out = []
    for label, fmt, mapping, raw, paths in entries:
        found = files(paths)
        if found and fmt in wanted:
            out.append({"label": label, "format": fmt, "mapping": str(data / mapping) if mapping else "",
                        "files": found, "raw_sql": RAW_SQL[raw],
                        "mb": round(sum(Path(f).stat().st_size for f in found) / 2**20, 1)})
    return out


# --- the sections ----------------------------------------------------------------------------

def _median(runs: list[dict]) -> dict:
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mb": max((r.get("peak_mb") or 0) for r in runs),
            "runs": [round(r["seconds"], 3) for r in runs]}


def bench_ingest(data: Path, tmp: Path, runs: int, memory: str, wanted, say) -> list[dict]:
    engine = f"{int(engine_share_mib(memory))}MiB"
    rows = []
    for entry in ingest_inputs(data, wanted):
        raw, ours = [], []
        listed = tmp / "files.json"   # too many for a command line
        listed.write_text(json.dumps(entry["files"]), encoding="utf-8")
        for i in range(runs):  # alternated, so a drift of the machine touches both sides
            db = tmp / f"ingest-{i}.duckdb"
            raw.append(measure(RAW_READ, str(listed), str(db), engine, entry["raw_sql"]))
            _remove(db)
            ours.append(measure(INGEST, str(listed), str(db), memory, entry["format"],
                                entry["mapping"]))
            _remove(db)
        row = {"label": entry["label"], "files": len(entry["files"]), "mb": entry["mb"],
               "records": ours[0]["rows"], "rejected": ours[0]["rejected"], "raw_rows": raw[0]["rows"],
               "duckdb": _median(raw), "investigate": _median(ours)}
        row["ratio"] = row["investigate"]["seconds"] / row["duckdb"]["seconds"]
        rows.append(row)
        say(f"ingest {row['label']:<22} {row['records']:>12,} records: DuckDB {row['duckdb']['seconds']:.1f} s, "
            f"investigate {row['investigate']['seconds']:.1f} s ({row['ratio']:.2f}x), peak "
            f"{row['duckdb']['peak_mb']:,.0f} / {row['investigate']['peak_mb']:,.0f} MB")
    return rows


def engine_share_mib(memory: str) -> float:
    """DuckDB's own read gets the share of the limit a workspace gives DuckDB (in MiB)."""
    from investigate.workspace import ENGINE_SHARE, parse_size
    return parse_size(memory) * ENGINE_SHARE / 2**20


def _remove(db: Path) -> None:
    for p in (db, Path(f"{db}.wal")):
        p.unlink(missing_ok=True)


def bench_workspace(data: Path, tmp: Path, runs: int, memory: str, say) -> tuple[dict, list[dict]]:
    """Enrichment and every query, on one workspace holding the case."""
    import investigate as inv
    from investigate.enrich.locate import categorise_resources, locate_addresses
    import queries as query_bench

    ws = inv.Workspace.open(tmp / "case.duckdb", memory_limit=memory)
    case = inv.read_manifest(data / generate.CASE_MANIFEST)
    t = time.perf_counter()
    inv.ingest_case(ws, data / generate.CASE_MANIFEST)
    loaded = time.perf_counter() - t
    say(f"case loaded in {loaded:.1f} s")

    def timed(fn, drop=True):
        if drop:
            ws.sql("DROP TABLE IF EXISTS bench_out")
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    scans = [timed(lambda: ws.sql("CREATE TABLE bench_out AS SELECT * FROM access_events"))
             for _ in range(runs)]
    lookups = [timed(lambda: (locate_addresses(ws, everything=True), categorise_resources(ws, everything=True)))
               for _ in range(runs)]
    views = [timed(lambda: ws.sql("CREATE TABLE bench_out AS SELECT * FROM access_enriched"))
             for _ in range(runs)]
    ws.sql("DROP TABLE IF EXISTS bench_out")
    enrichment = {"case_load_seconds": loaded, "events": ws.count("access_events"),
                  "scan": statistics.median(scans), "enrichment": statistics.median(lookups),
                  "view_written": statistics.median(views),
                  "runs": {"scan": scans, "enrichment": lookups, "view_written": views}}
    enrichment["ratio"] = enrichment["enrichment"] / enrichment["scan"]
    enrichment["view_ratio"] = enrichment["view_written"] / enrichment["scan"]
    say(f"enrichment {enrichment['ratio']:.2f}x a scan; view written {enrichment['view_ratio']:.2f}x")

    # The queries: each against a plain scan of the event tables it reads (BASE_SCAN reads the
    # columns the queries filter and join on: count(*) alone is answered from metadata).
    listed = inv.list_queries()
    params = query_params(ws, case, listed)
    def baseline(sql):
        return statistics.median(timed(lambda: ws.sql(sql).fetchall(), drop=False) for _ in range(runs))

    base = {t: baseline(sql) for t, sql in query_bench.BASE_SCAN.items()}
    view_count = {t: baseline(sql) for t, sql in query_bench.VIEW_COUNT.items()}
    rows = []
    for q in listed:
        views, tables = query_bench.reads(q)
        times, n = [], 0
        for _ in range(runs):
            t = time.perf_counter()
            n = _stream(ws, q, params[q.name])
            times.append(time.perf_counter() - t)
        scan = sum(base[t] for t in tables) if tables else None
        counted = sum(view_count[v] for v in views) if views else None
        row = {"query": q.name, "seconds": statistics.median(times), "runs": times, "rows": n,
               "reads": sorted(tables), "scan": scan, "view_count": counted}
        row["ratio"] = row["seconds"] / scan if scan else None
        row["view_ratio"] = row["seconds"] / counted if counted else None
        rows.append(row)
        say(f"query {q.name:<28} {row['seconds']:7.2f} s {n:>12,} rows" + (f" {row['ratio']:6.2f}x a scan" if scan else ""))
    ws.close()
    _remove(tmp / "case.duckdb")
    # This process ran nothing else as heavy (the other sections run in processes of their own).
    enrichment["process_peak_mb"] = _peak_mb()
    return enrichment, rows


def query_params(ws, case: dict, listed) -> dict[str, dict]:
    """Each query's parameters (``queries.plan``): the case's partner, and its busiest actor for
    the queries about one actor (so they return rows)."""
    import queries as query_bench

    known = dict(query_bench.KNOWN_VALUES)
    busiest = ws.sql("SELECT actor_id FROM access_events GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
    known.update(partner_org=case["partner_org"], entity=busiest, actor=busiest, actor_id=busiest)
    return query_bench.plan(listed, known)


def _stream(ws, query, params: dict) -> int:
    """Run a query as run_query does, its result fetched as Arrow batches and counted: a listing
    of millions of rows is what a user writes to a file, not what a DataFrame should hold."""
    from investigate.queries import arrow_reader, bind_params

    reader = arrow_reader(ws, query.text, bind_params(query, params), 1_000_000)
    return sum(batch.num_rows for batch in reader)


def bench_spark(data: Path, tmp: Path, runs: int, memory: str, say) -> dict:
    """Every query on DuckDB and on Spark in local mode, over the same case: loaded into a
    workspace, exported as Parquet, the export opened in a Spark session of this process."""
    import investigate as inv
    from investigate.spark import open_export
    from investigate.spark.dialect import sqlglot_version
    from investigate.spark.session import get_session

    ws = inv.Workspace.open(tmp / "spark-case.duckdb", memory_limit=memory)
    case = inv.read_manifest(data / generate.CASE_MANIFEST)
    loaded, _ = _timed(lambda: inv.ingest_case(ws, data / generate.CASE_MANIFEST))
    export = tmp / "export"
    exported, _ = _timed(lambda: inv.export(ws, export))
    say(f"spark: case loaded in {loaded:.1f} s, exported in {exported:.1f} s ({_folder_mb(export):,.1f} MB)")
    # The session first, on its own: its time is the JVM's start; then the export opened on it.
    started, spark = _timed(get_session)
    opened, src = _timed(lambda: open_export(export))
    say(f"spark: session started in {started:.1f} s, export opened in {opened:.1f} s")
    result = {"spark": spark.version, "sqlglot": sqlglot_version(), "master": spark.sparkContext.master,
              "cores": spark.sparkContext.defaultParallelism,
              "driver_memory": spark.conf.get("spark.driver.memory", None),
              "case_load_seconds": loaded, "export_seconds": exported, "export_mb": _folder_mb(export),
              "session_seconds": started, "open_seconds": opened}
    listed = inv.list_queries()
    params = query_params(ws, case, listed)
    result["queries"] = [compare_engines(ws, src, q, params[q.name], runs, say) for q in listed]
    result["process_peak_mb"] = _peak_mb()   # DuckDB's and the driver's Python side; the JVM apart
    result["jvm_peak_mb"] = _jvm_peak_mb(spark)
    spark.stop()   # the JVM's memory back before anything else runs
    ws.close()
    _remove(tmp / "spark-case.duckdb")
    return result


def compare_engines(ws, src, query, params: dict, runs: int, say) -> dict:
    """One query on DuckDB (its result streamed as Arrow batches, as in the workspace section)
    and on Spark (transpiled and collected to the driver as Arrow, as run_query does), the two
    alternated so a drift of the machine touches both. A failure on Spark is recorded, not raised."""
    from investigate.queries import bind_params
    from investigate.spark.dialect import to_spark

    bound = bind_params(query, params)
    duckdb_runs, spark_runs, duckdb_rows, spark_rows, error = [], [], 0, None, None
    for _ in range(runs):
        seconds, duckdb_rows = _timed(lambda: _stream(ws, query, params))
        duckdb_runs.append(seconds)
        if error is None:
            try:
                seconds, table = _timed(lambda: src.arrow(to_spark(query.text, query.name), bound, query.name))
            except Exception as exc:  # a query Spark cannot run is a finding of this benchmark
                error = str(exc).splitlines()[0] if str(exc) else repr(exc)
                continue
            spark_runs.append(seconds)
            spark_rows = table.num_rows
            del table
    row = {"query": query.name, "duckdb": statistics.median(duckdb_runs), "duckdb_runs": duckdb_runs,
           "duckdb_rows": duckdb_rows, "spark": statistics.median(spark_runs) if spark_runs else None,
           "spark_runs": spark_runs, "spark_rows": spark_rows, "same_rows": spark_rows == duckdb_rows}
    row["ratio"] = row["spark"] / row["duckdb"] if row["spark"] is not None and row["duckdb"] else None
    if error:
        row["error"] = error
        say(f"spark: query {query.name:<28} DuckDB {row['duckdb']:6.2f} s, Spark failed: {error}")
    else:
        say(f"spark: query {query.name:<28} DuckDB {row['duckdb']:6.2f} s, Spark {row['spark']:6.2f} s "
            f"({row['ratio']:.1f}x), rows {duckdb_rows:,}"
            + ("" if row["same_rows"] else f" vs {spark_rows:,} on Spark"))
    return row


def _timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def _jvm_peak_mb(spark) -> float | None:
    """The peak resident memory of the JVM behind the session (a process of its own), in MiB."""
    try:
        pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except Exception:  # no /proc, or a JVM that is not on this machine
        return None
    return None


def bench_pandas(data: Path, tmp: Path, runs: int, memory: str, say) -> dict:
    manifest = str(data / generate.CASE_MANIFEST)
    ours, theirs = [], []
    for i in range(runs):
        db = tmp / f"answers-{i}.duckdb"
        ours.append(measure(CASE_ANSWERS, manifest, str(db), memory))
        _remove(db)
        theirs.append(measure(PANDAS, manifest, str(HERE)))
    result = {"investigate": _median(ours), "pandas": _median(theirs), "rows": ours[0]["rows"]}
    result["ratio"] = result["pandas"]["seconds"] / result["investigate"]["seconds"]
    result["memory_ratio"] = result["pandas"]["peak_mb"] / result["investigate"]["peak_mb"]
    say(f"pandas baseline {result['ratio']:.1f}x slower, {result['memory_ratio']:.2f}x the peak memory")
    return result


def bench_reproduce(tmp: Path, runs: int, say) -> dict:
    done = [measure(REPRODUCE, str(tmp / f"reproduce-{i}")) for i in range(runs)]
    result = _median(done)
    say(f"reproduce {result['seconds']:.1f} s")
    return result


# --- the report ------------------------------------------------------------------------------

def _s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:,.0f} s"


def _verdict(ratio: float | None, target: float, below: bool = True) -> str:
    if ratio is None:
        return ""
    met = ratio <= target if below else ratio >= target
    return "met" if met else "**missed**"


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# Benchmarks, {r['date']}, SCALE={r['scale']:g}",
             "",
             f"{m['cores']} cores, {m['memory_gb']} GB, {m['system']}, Python {m['python']}, DuckDB "
             f"{m['duckdb']}; memory limit {r['memory_limit']}; median of {r['runs']} runs. "
             f"Data: {r['data_records']:,} records, {r['data_mb']:,.0f} MB.", ""]
    if r.get("ingest"):
        lines += ["## Ingest against DuckDB's own read of the same files (target: at most "
                  f"{TARGETS['ingest']:g}x)", "",
                  "| format | files | MB | records | DuckDB read | investigate | ratio | | peak MB (DuckDB / investigate) |",
                  "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
        for row in r["ingest"]:
            lines.append(f"| {row['label']} | {row['files']:,} | {row['mb']:,.0f} | {row['records']:,} | "
                         f"{_s(row['duckdb']['seconds'])} | {_s(row['investigate']['seconds'])} | "
                         f"{row['ratio']:.2f}x | {_verdict(row['ratio'], TARGETS['ingest'])} | "
                         f"{row['duckdb']['peak_mb']:,.0f} / {row['investigate']['peak_mb']:,.0f} |")
        lines.append("")
    if r.get("enrichment"):
        e = r["enrichment"]
        lines += [f"## Enrichment against a plain scan ({e['events']:,} access events; target: at most "
                  f"{TARGETS['enrichment']:g}x)", "",
                  "| | time | / scan | |", "|---|---:|---:|---|",
                  f"| scan: every event written to a new table | {_s(e['scan'])} | 1 | |",
                  f"| enrichment: every address and resource looked up | {_s(e['enrichment'])} | "
                  f"{e['ratio']:.2f}x | {_verdict(e['ratio'], TARGETS['enrichment'])} |",
                  f"| the enriched view written | {_s(e['view_written'])} | {e['view_ratio']:.2f}x | |",
                  "", f"The case loaded into this workspace in {_s(e['case_load_seconds'])}"
                  + (f"; the process that loaded it, enriched and ran every query below peaked at "
                     f"{e['process_peak_mb']:,.0f} MB resident" if e.get("process_peak_mb") else "") + ".", ""]
    if r.get("queries"):
        lines += [f"## Queries against a plain scan of the tables they read (target: at most "
                  f"{TARGETS['query']:g}x)", "",
                  "Each result fetched as Arrow batches and counted. The plain scan reads every row of the "
                  "columns the queries filter and join on (`count(*)` of a table alone is answered from "
                  "metadata); the view count is `count(*)` of the enriched view(s) the query reads, "
                  "which runs the view's joins.", "",
                  "| query | time | rows | / plain scan | | / view count |", "|---|---:|---:|---:|---|---:|"]
        for q in r["queries"]:
            ratio = "-" if q["ratio"] is None else f"{q['ratio']:.2f}x"
            view = "-" if q.get("view_ratio") is None else f"{q['view_ratio']:.2f}x"
            lines.append(f"| {q['query']} | {_s(q['seconds'])} | {q['rows']:,} | {ratio} | "
                         f"{_verdict(q['ratio'], TARGETS['query'])} | {view} |")
        lines.append("")
    if r.get("pandas"):
        p = r["pandas"]
        lines += [f"## The case loaded and answered, against pandas (target: at least {TARGETS['pandas']:g}x faster)",
                  "", "| | time | peak MB |", "|---|---:|---:|",
                  f"| investigate: load, enrich, three questions | {_s(p['investigate']['seconds'])} | "
                  f"{p['investigate']['peak_mb']:,.0f} |",
                  f"| pandas: read_csv / json_normalize, per-row lookup, groupby | {_s(p['pandas']['seconds'])} | "
                  f"{p['pandas']['peak_mb']:,.0f} |",
                  f"| **pandas / investigate** | **{p['ratio']:.1f}x** {_verdict(p['ratio'], TARGETS['pandas'], below=False)} | "
                  f"{p['memory_ratio']:.2f}x |", ""]
    if r.get("reproduce"):
        lines += ["## `investigate reproduce` of the samples", "",
                  f"{_s(r['reproduce']['seconds'])} (runs: {', '.join(_s(x) for x in r['reproduce']['runs'])}), "
                  f"peak {r['reproduce']['peak_mb']:,.0f} MB in the main process.", ""]
    if r.get("spark"):
        lines += spark_markdown(r["spark"])
    return "\n".join(lines)


def spark_markdown(sp: dict) -> list[str]:
    """The Spark section: how the export was made and opened, then every query on both engines."""
    jvm = f", the JVM {sp['jvm_peak_mb']:,.0f} MB" if sp.get("jvm_peak_mb") else ""
    lines = ["## Every query on DuckDB and on Spark (local mode), over the same case", "",
             f"Spark {sp['spark']} on this machine ({sp['master']}, {sp['cores']} cores, driver memory "
             f"{sp['driver_memory']}), the SQL transpiled by sqlglot {sp['sqlglot']}: the overhead of "
             "Spark on one machine, not a cluster. Each result fetched whole: DuckDB's as Arrow "
             "batches, Spark's collected to the driver as Arrow (the query transpiled each time, as "
             "`run_query` does).", "",
             f"- case loaded into a DuckDB workspace: {_s(sp['case_load_seconds'])}",
             f"- workspace exported as Parquet: {_s(sp['export_seconds'])} ({sp['export_mb']:,.1f} MB)",
             f"- Spark session started (the JVM): {_s(sp['session_seconds'])}",
             f"- export opened on Spark (tables read and cached, enrichment by Spark joins): {_s(sp['open_seconds'])}",
             f"- peak resident memory: this process {sp['process_peak_mb']:,.0f} MB{jvm}", "",
             "| query | DuckDB s | Spark s | Spark/DuckDB | rows | same rows |",
             "|---|---:|---:|---:|---:|---|"]
    for q in sp["queries"]:
        spark = "failed" if q["spark"] is None else _s(q["spark"])
        ratio = "-" if q["ratio"] is None else f"{q['ratio']:.1f}x"
        rows = f"{q['duckdb_rows']:,}" if q["same_rows"] else \
            f"{q['duckdb_rows']:,} / {'-' if q['spark_rows'] is None else format(q['spark_rows'], ',')}"
        lines.append(f"| {q['query']} | {_s(q['duckdb'])} | {spark} | {ratio} | {rows} | "
                     f"{'yes' if q['same_rows'] else '**no**'} |")
    ran = [q for q in sp["queries"] if q["spark"] is not None]
    if ran:
        duckdb, spark = sum(q["duckdb"] for q in ran), sum(q["spark"] for q in ran)
        lines += ["", f"The {len(ran)} queries Spark ran: {_s(duckdb)} on DuckDB, {_s(spark)} on Spark "
                      f"({spark / duckdb:.1f}x)."]
    if not all(q["same_rows"] for q in sp["queries"]):
        lines += ["", "Where the engines returned different numbers of rows, rows reads DuckDB's / Spark's."]
    failed = [q for q in sp["queries"] if q.get("error")]
    if failed:
        lines += ["", "Failed on Spark:", ""] + [f"- {q['query']}: {q['error']}" for q in failed]
    return lines + [""]


def machine() -> dict:
    import duckdb
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gb": round(mem), "system": platform.platform(terse=True),
            "python": platform.python_version(), "duckdb": duckdb.__version__}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1: about 1 million access events and 1 million flows")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--data", help="a folder holding the generated case (made there when missing)")
    ap.add_argument("--formats", default="all", help="formats to generate and ingest: all, case, or names")
    ap.add_argument("--skip", default="", help="sections to leave out, comma separated: "
                                               "ingest, workspace, pandas, reproduce, spark")
    ap.add_argument("--spark-memory", default="8g", help="the Spark driver's memory (local mode: "
                                                         "all of Spark's), as Spark writes it")
    ap.add_argument("--results", default=str(HERE / "results"), help="where the JSON and Markdown go")
    ap.add_argument("--render", metavar="JSON", help="only print the table of an earlier results file")
    args = ap.parse_args(argv)
    if args.render:
        print(markdown(json.loads(Path(args.render).read_text(encoding="utf-8"))))
        return 0
    skip = {s for s in args.skip.split(",") if s}
    # Read by investigate.spark.session when the session starts, so set before any section runs.
    os.environ["INVESTIGATE_SPARK_MEMORY"] = args.spark_memory

    def say(text):
        print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="investigate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data = Path(args.data) if args.data else tmp / "data"
        wanted = generate.FORMAT_SETS.get(args.formats) or tuple(args.formats.split(","))
        if not (data / "scale.json").exists():
            generate.generate(args.scale, data, formats_wanted=wanted, progress=say)
        made = json.loads((data / "scale.json").read_text(encoding="utf-8"))
        started = time.perf_counter()
        result = {"date": date.today().isoformat(), "scale": made["scale"], "runs": args.runs,
                  "memory_limit": args.memory_limit, "machine": machine(),
                  "data_records": sum(f["case_records"] + f["bulk_records"] for f in made["formats"]),
                  "data_mb": sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 2**20}
        out = Path(args.results)
        out.mkdir(parents=True, exist_ok=True)
        stem = f"{result['date']}-scale{result['scale']:g}"

        def save():  # after every section: a long run that fails late keeps what it measured
            result["seconds"] = round(time.perf_counter() - started, 1)
            (out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
            (out / f"{stem}.md").write_text(markdown(result) + "\n", encoding="utf-8")

        if "ingest" not in skip:
            result["ingest"] = bench_ingest(data, tmp, args.runs, args.memory_limit, wanted, say)
            save()
        if "workspace" not in skip:
            result["enrichment"], result["queries"] = bench_workspace(data, tmp, args.runs, args.memory_limit, say)
            save()
        if "pandas" not in skip:
            result["pandas"] = bench_pandas(data, tmp, args.runs, args.memory_limit, say)
            save()
        if "reproduce" not in skip:
            result["reproduce"] = bench_reproduce(tmp, args.runs, say)
            save()
        if "spark" not in skip:  # last: its JVM holds memory while the others would run
            result["spark"] = bench_spark(data, tmp, args.runs, args.memory_limit, say)
        save()

    table = markdown(result)
    print(table)
    print(f"\nwritten: {out / stem}.json and .md ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
