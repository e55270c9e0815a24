"""Crash safety: a process killed (SIGKILL) in the middle of an ingest leaves the workspace file
as it was before that file, or that batch of files; DuckDB recovers it from its write-ahead log
on the next open, and the same input then loads again, in full.

A child process opens a workspace file, ingests a first small input and reports the state of
every table, then ingests a second, large one. It reports each SQL statement it starts (a proxy
around its connection) and, from a thread, DuckDB's progress through the running statement
(``query_progress()``, as the progress bars read it) and the size of the workspace file. The
parent kills it once the statement aimed at has got so far through its work (or has written so
much to the file): the kill lands inside that statement whatever the machine's speed, with no
sleeps to tune.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from investigate import Workspace, ingest
from investigate.loaders import base

REPO = Path(__file__).resolve().parents[1]

CSV_ROWS = 500_000             # the large file: a few seconds to load on two cores
CSV_BAD_EVERY = 100_000        # one record in so many has an unreadable timestamp (a reject)
FLOW_FILES = 150               # the batch: small flow log files, loaded by one statement
FLOW_LINES = 300               # flow records in each
MAPPING = {"table": "access_events",
           "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip",
                       "raw_action": "op", "resource": "object", "outcome": "result", "bytes": "bytes"},
           "actions": {"GET": "read", "PUT": "write", "LIST": "list"}, "outcomes": {"OK": "success"}}
FLOW_V2 = "2 123456789010 eni-0a1b {src} 10.0.1.5 {sp} 443 6 10 840 {start} {end} ACCEPT OK"
FLOW_HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
               "bytes start end action log-status")
FLOW_NODATA = "2 123456789010 eni-0a1b - - - - - - - 1714644901 1714644960 - NODATA"
FLOW_BROKEN = "2 123456789010 eni-0a1b 10.0.0.1 broken"
TIMEOUT = 120                  # seconds a child may run at most (it is killed well before)


def _state(con) -> dict:
    """Every table of the workspace: its row count and a checksum of its rows (in any order)."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY ALL").fetchall()]
    out = {}
    for name in names:
        n, h = con.execute(f'SELECT count(*), sum(hash(t)) FROM "{name}" AS t').fetchone()
        out[name] = [n, str(h)]
    return out


# The child: ingest the first input, report the state, then ingest the second one, reporting
# each statement as it starts ("SQL <n> <bytes> <text>": its number, the workspace file's size,
# the SQL) and, while it runs, DuckDB's progress through it and the file's size ("P <n>
# <percent> <bytes>").
CHILD = inspect.getsource(_state) + r'''
import json, os, sys, threading, time
from investigate import Workspace, ingest

db, fmt, first, second, mapping = sys.argv[1:6]
mapping = json.loads(mapping) if mapping else None


def say(line):
    os.write(1, (line + "\n").encode())  # one write per line: the two threads' lines never mix


ws = Workspace.open(db)
ingest(ws, [first], fmt, mapping=mapping)
say("FIRST " + json.dumps(_state(ws.con)))

real = ws.con
statement = [0]


class Watched:
    """The connection, saying which statement starts (and the file's size then) before running it."""

    def execute(self, sql, *args, **kwargs):
        statement[0] += 1
        say(f"SQL {statement[0]} {os.stat(db).st_size} " + " ".join(sql.split())[:100])
        return real.execute(sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(real, name)


def poll():
    last = None
    while True:
        now = (statement[0], round(real.query_progress(), 1), os.stat(db).st_size)
        if now != last:
            say("P %d %.1f %d" % now)
            last = now
        time.sleep(0.01)


ws.con = Watched()
threading.Thread(target=poll, daemon=True).start()
results = ingest(ws, [second], fmt, mapping=mapping)
say(f"SECOND {len(results)}")
'''


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["INVESTIGATE_PROGRESS"] = "0"
    for name in ("INVESTIGATE_MEMORY_LIMIT", "INVESTIGATE_TEMP_DIRECTORY", "INVESTIGATE_THREADS"):
        env.pop(name, None)
    return env


def run_and_kill(tmp_path: Path, db: Path, fmt: str, first: Path, second: Path, mapping: dict | None,
                 moment: tuple) -> tuple[dict, list[str], str]:
    """Run the child and SIGKILL it at ``moment`` of its second ingest: ``(prefix, signal,
    threshold)``, the first statement starting with ``prefix``, and in it

    - ``("progress", p)``: once DuckDB's progress through it has gone from below ``p`` percent
      to ``p`` or more (from below: a value left over from the statement before never counts);
    - ``("grown", n)``: once the workspace file has grown by ``n`` bytes since it started (the
      rows of the uncommitted transaction written to the file, where DuckDB's progress is no
      guide: an INSERT from a table it reports done as soon as it starts);
    - ``("started", None)``: as soon as it starts.

    Should the statement end first, the kill comes as the next one starts, still inside the
    transaction. Returns the state the child reported after the first input, the statements of
    the second ingest that it started, and where the kill landed."""
    prefix, signal_, threshold = moment
    stderr = (tmp_path / "child.stderr").open("w")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), fmt, str(first), str(second),
                             json.dumps(mapping) if mapping else ""],
                            cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=stderr, text=True)
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    first_state, statements, landed = None, [], None
    aimed = None          # the number of the statement aimed at, once it has started
    size0 = 0             # the file's size as it started
    below = False         # whether its progress has been seen below the threshold
    try:
        for line in proc.stdout:
            kind, _, rest = line.rstrip("\n").partition(" ")
            if kind == "FIRST":
                first_state = json.loads(rest)
            elif kind == "SQL":
                no, size, text = rest.split(" ", 2)
                statements.append(text)
                if aimed is not None:  # it ended before the signal was seen
                    landed = f"as the statement after {prefix} started: {text[:50]}"
                elif text.startswith(prefix):
                    aimed, size0 = int(no), int(size)
                    if signal_ == "started":
                        landed = f"as {prefix} started"
            elif kind == "P" and aimed is not None:
                no, percent, size = rest.split(" ")
                if int(no) != aimed:
                    pass
                elif signal_ == "grown" and int(size) - size0 >= threshold:
                    landed = f"in {prefix}, the file grown by {(int(size) - size0) / 2**20:.1f} MB"
                elif signal_ == "progress" and float(percent) < threshold:
                    below = True
                elif signal_ == "progress" and below:
                    landed = f"in {prefix}, at {float(percent):.0f}%"
            elif kind == "SECOND":
                break
            if landed:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=TIMEOUT)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        stderr.close()
    err = (tmp_path / "child.stderr").read_text()
    assert first_state is not None, f"the child did not load the first input: {err[-3000:]}"
    assert landed and proc.returncode == -signal.SIGKILL, (
        f"the second ingest ended (exit {proc.returncode}) before the kill aimed at {moment}; "
        f"statements: {statements}; stderr: {err[-3000:]}")
    return first_state, statements, landed


def check_recovered(db: Path, first_state: dict, first: Path, second_paths: list[str],
                    table: str) -> str:
    """The workspace opens, holds exactly what it held after the first input, and checkpoints.
    Returns what there was to recover from."""
    wal = Path(f"{db}.wal")
    found = f"a WAL of {wal.stat().st_size:,} bytes" if wal.exists() else "no WAL"
    with Workspace.open(db) as ws:
        assert _state(ws.con) == first_state
        assert ws.sql("SELECT path FROM ingests").fetchall() == [(str(first.absolute()),)]
        for t in (table, "rejects", "set_apart"):
            assert ws.sql(f"SELECT count(*) FROM {t} WHERE source_file IN (SELECT unnest(?))",
                          [second_paths]).fetchone()[0] == 0
        assert ws.sql("PRAGMA database_size").fetchone()[0] == db.name.removesuffix(".duckdb")
        ws.sql("CHECKPOINT")
    with Workspace.open(db, read_only=True) as ws:  # and once more from the checkpoint alone
        assert _state(ws.con) == first_state
    return found


# -- the inputs ----------------------------------------------------------------------------------


def _access_csv(path: Path, start: int, n: int) -> Path:
    """``n`` access records from number ``start``; one in CSV_BAD_EVERY has an unreadable
    timestamp (from the 8th on)."""
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT 'e' || range AS id,
               CASE WHEN range % {CSV_BAD_EVERY} = 7 THEN 'not a time'
                    ELSE strftime(TIMESTAMP '2022-01-01' + to_seconds(range % 31536000),
                                  '%Y-%m-%dT%H:%M:%SZ') END AS "when",
               'user' || (range % 5000) AS who,
               '10.0.' || (range // 256 % 256) || '.' || (range % 256) AS ip,
               ['GET', 'PUT', 'LIST'][range % 3 + 1] AS op, 's3://bucket/' || (range % 20000) AS object,
               'OK' AS result, range % 1000 AS bytes
        FROM range({start}, {start + n})) TO '{path}' (HEADER)""")
    con.close()
    return path


@pytest.fixture(scope="module")
def csv_inputs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("csv")
    return (_access_csv(folder / "first.csv", 10**9, 1000),   # 1 reject (record 8)
            _access_csv(folder / "large.csv", 0, CSV_ROWS))


def _flow_logs(folder: Path) -> tuple[Path, Path]:
    """One small flow log file, then a folder of FLOW_FILES small ones that make one batch:
    a header line in every third, a NODATA record (set apart) in each, an unreadable line (a
    reject) in every 50th."""
    first = folder / "first.log"
    lines = [FLOW_V2.format(src=f"192.0.2.{j + 1}", sp=5000 + j, start=1714644901 + j, end=1714644960 + j)
             for j in range(20)]
    first.write_text("\n".join([FLOW_HEADER, *lines, FLOW_NODATA, FLOW_BROKEN]) + "\n")
    batch = folder / "batch"
    batch.mkdir()
    con = duckdb.connect()
    texts = con.execute(f"""
        SELECT f, string_agg('2 123456789010 eni-0a1b 10.1.' || (f % 256) || '.' || (j % 250 + 1)
                             || ' 10.0.1.5 ' || (1024 + j) || ' 443 6 10 ' || (840 + j) || ' '
                             || (1714644901 + f * 600 + j % 600) || ' ' || (1714644961 + f * 600 + j % 600)
                             || ' ACCEPT OK', chr(10) ORDER BY j)
        FROM range({FLOW_FILES}) AS a(f), range({FLOW_LINES}) AS b(j) GROUP BY f ORDER BY f""").fetchall()
    con.close()
    for f, text in texts:
        parts = [*([FLOW_HEADER] if f % 3 == 0 else []), text, FLOW_NODATA,
                 *([FLOW_BROKEN] if f % 50 == 0 else [])]
        (batch / f"flow-{f:03d}.log").write_text("\n".join(parts) + "\n")
    sizes = [p.stat().st_size for p in batch.iterdir()]
    # One batch: loaded by one statement, in one transaction.
    assert len(sizes) <= base.BATCH_FILES and sum(sizes) <= base.BATCH_BYTES
    assert max(sizes) < 2 * base.MIN_PART_BYTES
    return first, batch


@pytest.fixture(scope="module")
def flow_inputs(tmp_path_factory) -> tuple[Path, Path]:
    return _flow_logs(tmp_path_factory.mktemp("flow"))


# -- the tests -----------------------------------------------------------------------------------

# Where to kill the load of the large CSV file (see run_and_kill): reading it into a temporary
# table; writing its rows, once the first of them are in the workspace file and once about half
# are (a complete load adds about 24 bytes a record); the second pass, which collects the
# rejects' reasons; and COMMIT itself, where the file may already be in (then all of it) or not
# (then none of it).
CSV_MOMENTS = {
    "reading": ("CREATE TEMP TABLE __csv AS", "progress", 50),
    "writing-early": ("INSERT INTO access_events", "grown", 2**20),
    "writing-late": ("INSERT INTO access_events", "grown", 12 * CSV_ROWS),
    "second-pass": ("CREATE TEMP TABLE __rest", "progress", 40),
    "commit": ("COMMIT", "started", None),
}


@pytest.mark.parametrize("moment", list(CSV_MOMENTS))
def test_a_large_file_killed_midway_leaves_the_workspace_as_before_it(tmp_path, csv_inputs, moment):
    """A large CSV file (read into a temporary table, then written): killed at any moment of its
    load, the workspace holds the first file and nothing of it; loaded again, all of it is in."""
    first, large = csv_inputs
    db = tmp_path / "ws.duckdb"
    first_state, statements, landed = run_and_kill(tmp_path, db, "csv", first, large, MAPPING,
                                                   CSV_MOMENTS[moment])
    assert first_state["access_events"][0] == 999 and first_state["rejects"][0] == 1
    assert moment == "commit" or "COMMIT" not in statements
    bad = CSV_ROWS // CSV_BAD_EVERY
    if moment == "commit":
        # Killed as COMMIT began: the file is in, all of it, or not at all.
        with Workspace.open(db) as ws:
            committed = ws.count("ingests") == 2
            if committed:
                assert ws.count("access_events") == 999 + CSV_ROWS - bad
                assert ws.count("rejects") == 1 + bad
                assert ws.sql("SELECT rows_read, rows_loaded, rows_rejected FROM ingests WHERE path = ?",
                              [str(large.absolute())]).fetchone() == (CSV_ROWS, CSV_ROWS - bad, bad)
                ws.sql("CHECKPOINT")
                assert ingest(ws, [large], "csv", mapping=MAPPING)[0].skipped
                print(f"killed {landed}: the file was in, all of it")
                return
    found = check_recovered(db, first_state, first, [str(large.absolute())], "access_events")
    print(f"killed {landed}: back to the first file, from {found}")

    with Workspace.open(db) as ws:
        result, = ingest(ws, [large], "csv", mapping=MAPPING)
        assert not result.skipped, result.note
        assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (CSV_ROWS, CSV_ROWS - bad,
                                                                                bad)
        assert ws.count("ingests") == 2
        assert ws.count("access_events") == 999 + CSV_ROWS - bad
        assert ws.count("rejects") == 1 + bad
        distinct = ws.sql("SELECT count(DISTINCT event_id) FROM access_events").fetchone()[0]
        assert distinct == 999 + CSV_ROWS - bad
        ws.sql("CHECKPOINT")


# The batch of flow log files: the statement that reads, types and writes them all, early and
# late; the second pass, which collects the records set apart (NODATA) and the rejects.
FLOW_MOMENTS = {
    "writing-early": ("INSERT INTO transfer_events", "progress", 20),
    "writing-late": ("INSERT INTO transfer_events", "progress", 80),
    "second-pass": ("CREATE TEMP TABLE __rest", "progress", 50),
}


@pytest.mark.parametrize("moment", list(FLOW_MOMENTS))
def test_a_batch_killed_midway_leaves_none_of_its_files(tmp_path, flow_inputs, moment):
    """A batch of small flow log files (read, typed and written by one statement): killed while
    it loads, none of its files is in the workspace; loaded again, all of them are."""
    first, batch = flow_inputs
    db = tmp_path / "ws.duckdb"
    first_state, statements, landed = run_and_kill(tmp_path, db, "vpc_flow", first, batch, None,
                                                   FLOW_MOMENTS[moment])
    # One statement wrote the whole batch: the kill came while all of it was being loaded.
    assert sum(s.startswith("INSERT INTO transfer_events") for s in statements) == 1
    assert "COMMIT" not in statements
    assert first_state["transfer_events"][0] == 20
    assert (first_state["rejects"][0], first_state["set_apart"][0]) == (1, 1)
    files = sorted(batch.iterdir())
    found = check_recovered(db, first_state, first, [str(p.absolute()) for p in files], "transfer_events")
    print(f"killed {landed}: back to the first file, from {found}")

    bad = len(range(0, FLOW_FILES, 50))
    with Workspace.open(db) as ws:
        results = ingest(ws, [batch], "vpc_flow")
        assert len(results) == FLOW_FILES and not any(r.skipped for r in results)
        assert sum(r.rows_loaded for r in results) == FLOW_FILES * FLOW_LINES
        assert sum(r.rows_rejected for r in results) == bad
        assert sum(r.rows_set_apart for r in results) == FLOW_FILES
        assert ws.count("ingests") == 1 + FLOW_FILES
        assert ws.count("transfer_events") == 20 + FLOW_FILES * FLOW_LINES
        assert (ws.count("rejects"), ws.count("set_apart")) == (1 + bad, 1 + FLOW_FILES)
        ws.sql("CHECKPOINT")
