"""The memory limit, spill directory and threads: settings with defaults, spilling instead of
failing, and a clear error when even spilling cannot help."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
import pytest
import yaml

from investigate import InvestigateError, MemoryLimitError, Workspace, ingest_file, run_query
from investigate.cli import _open, _settings_in_env, build_parser, main

ROWS = 500_000
MAPPING = {"table": "access_events",
           "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip",
                       "raw_action": "op", "resource": "object", "outcome": "result", "bytes": "bytes"},
           "actions": {"GET": "read", "PUT": "write", "LIST": "list"}, "outcomes": {"OK": "success"}}
# A sort of every event with a key of all its fields (~100 bytes a row, 50 MB in all): more
# than DuckDB's share of 100MB (57 MiB) leaves beside the table's own blocks.
RANKED = """-- question: Every event ranked by resource and time, with a key made of its fields.
-- returns: events, keys, rank_sum
SELECT count(*) AS events, count(DISTINCT k) AS keys, sum(rn) AS rank_sum
FROM (SELECT event_id || '/' || src_ip || '/' || actor_id || '/' || resource || '/' || strftime(ts, '%Y-%m-%dT%H:%M:%S') AS k,
             row_number() OVER (ORDER BY resource DESC, ts, event_id) AS rn
      FROM access_events)
"""


@pytest.fixture(autouse=True)
def no_settings_in_env(monkeypatch):
    for name in ("INVESTIGATE_MEMORY_LIMIT", "INVESTIGATE_TEMP_DIRECTORY", "INVESTIGATE_THREADS"):
        monkeypatch.delenv(name, raising=False)


def setting(ws, name: str):
    return ws.sql(f"SELECT current_setting('{name}')").fetchone()[0]


def engine_limit(limit: str) -> str:
    """DuckDB's memory_limit for a workspace limit (60% of it), as DuckDB prints it."""
    con = duckdb.connect(config={"memory_limit": f"{int(int(limit.removesuffix('MB')) * 10**6 * 0.6) // 2**20}MiB"})
    try:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()


# -- settings -----------------------------------------------------------------------------------


def test_the_environment_gives_the_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("INVESTIGATE_MEMORY_LIMIT", "1000MB")
    monkeypatch.setenv("INVESTIGATE_TEMP_DIRECTORY", str(tmp_path / "spill"))
    monkeypatch.setenv("INVESTIGATE_THREADS", "1")
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        assert ws.memory_limit == "1000MB" and setting(ws, "memory_limit") == engine_limit("1000MB")
        assert ws.temp_directory == setting(ws, "temp_directory") == str(tmp_path / "spill")
        assert setting(ws, "threads") == 1


def test_arguments_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INVESTIGATE_MEMORY_LIMIT", "1000MB")
    monkeypatch.setenv("INVESTIGATE_TEMP_DIRECTORY", str(tmp_path / "spill"))
    monkeypatch.setenv("INVESTIGATE_THREADS", "1")
    with Workspace.open(tmp_path / "ws.duckdb", memory_limit="500MB", threads=2,
                        temp_directory=tmp_path / "mine") as ws:
        assert ws.memory_limit == "500MB" and setting(ws, "memory_limit") == engine_limit("500MB")
        assert ws.temp_directory == setting(ws, "temp_directory") == str(tmp_path / "mine")
        assert setting(ws, "threads") == 2


def test_the_defaults(tmp_path):
    with Workspace.open(tmp_path / "ws.duckdb") as ws:
        assert ws.memory_limit == "4GB" and setting(ws, "memory_limit") == engine_limit("4000MB")
        assert ws.temp_directory == str(tmp_path / "ws.duckdb") + ".tmp"  # DuckDB's own default
        assert setting(ws, "threads") == duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    with Workspace.open() as ws:  # in memory: its own folder under the system's temp directory
        temp = Path(ws.temp_directory)
        assert temp.parent == Path(tempfile.gettempdir()) and temp.name.startswith("investigate-")
        assert setting(ws, "temp_directory") == str(temp)
        with Workspace.open() as other:
            assert other.temp_directory != ws.temp_directory


@pytest.mark.parametrize("name, value, says", [
    ("INVESTIGATE_MEMORY_LIMIT", "lots", "INVESTIGATE_MEMORY_LIMIT 'lots' is not a size"),
    ("INVESTIGATE_THREADS", "two", "INVESTIGATE_THREADS='two' is not a number of threads"),
    ("INVESTIGATE_THREADS", "0", "INVESTIGATE_THREADS='0' is not a number of threads"),
])
def test_a_bad_value_in_the_environment_is_named(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(InvestigateError, match=says):
        Workspace.open()


def test_the_cli_options_and_their_defaults(monkeypatch, tmp_path):
    ws_path = str(tmp_path / "ws.duckdb")
    Workspace.open(ws_path).close()
    args = build_parser().parse_args(["check", ws_path, "--memory-limit", "500MB", "--temp-dir",
                                      str(tmp_path / "spill")])
    with _open(args, read_only=True) as ws:
        assert (ws.memory_limit, ws.temp_directory) == ("500MB", str(tmp_path / "spill"))
    monkeypatch.setenv("INVESTIGATE_MEMORY_LIMIT", "1000MB")
    monkeypatch.setenv("INVESTIGATE_TEMP_DIRECTORY", str(tmp_path / "env-spill"))
    for command in (["check", ws_path], ["query", ws_path, "coverage"], ["ingest", ws_path, "f.csv", "--format", "csv"]):
        args = build_parser().parse_args(command)
        with _open(args, read_only=True) as ws:
            assert (ws.memory_limit, ws.temp_directory) == ("1000MB", str(tmp_path / "env-spill"))


def test_notebook_commands_pass_the_options_on_through_the_environment(monkeypatch, tmp_path):
    # run-notebook and reproduce open their workspaces in notebook kernels, which inherit them.
    monkeypatch.setenv("INVESTIGATE_TEMP_DIRECTORY", "/before")
    args = build_parser().parse_args(["run-notebook", "00", "--memory-limit", "8GB", "--temp-dir", str(tmp_path)])
    with _settings_in_env(args):
        assert os.environ["INVESTIGATE_MEMORY_LIMIT"] == "8GB"
        assert os.environ["INVESTIGATE_TEMP_DIRECTORY"] == str(tmp_path)
    assert "INVESTIGATE_MEMORY_LIMIT" not in os.environ
    assert os.environ["INVESTIGATE_TEMP_DIRECTORY"] == "/before"
    args = build_parser().parse_args(["reproduce", "--memory-limit", "lots"])
    with pytest.raises(InvestigateError, match="'lots' is not a size"):
        with _settings_in_env(args):
            pass


# -- spilling -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """ROWS short access records (75 bytes or so each)."""
    path = tmp_path_factory.mktemp("big") / "access.csv"
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT 'e' || range AS id,
               strftime(TIMESTAMP '2022-01-01' + to_seconds(range), '%Y-%m-%dT%H:%M:%SZ') AS "when",
               'user' || (range % 5000) AS who,
               '10.0.' || (range // 256 % 256) || '.' || (range % 256) AS ip,
               ['GET', 'PUT', 'LIST'][range % 3 + 1] AS op, 's3://bucket/' || (range % 20000) AS object,
               'OK' AS result, range % 1000 AS bytes
        FROM range({ROWS})) TO '{path}' (HEADER)""")
    con.close()
    return path


@pytest.fixture(scope="module")
def big_workspace(big_csv, tmp_path_factory):
    """A workspace file loaded with ``big_csv`` at a limit whose DuckDB share (57 MiB) the load's
    work exceeds (see the test without spilling), on one thread; and the load's result."""
    path = tmp_path_factory.mktemp("ws") / "big.duckdb"
    with Workspace.open(path, memory_limit="100MB", threads=1) as ws:
        result = ingest_file(ws, big_csv, "csv", mapping=MAPPING)
        counts = ws.sql("SELECT count(*), count(DISTINCT event_id), count(DISTINCT resource) "
                        "FROM access_events").fetchone()
    return path, result, counts


def test_a_load_larger_than_memory_spills_to_disk(big_workspace):
    path, result, counts = big_workspace
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (ROWS, ROWS, 0)
    assert counts == (ROWS, ROWS, 20_000)


def test_the_same_load_without_spilling_fails_with_a_clear_error(big_csv, tmp_path):
    with Workspace.open(tmp_path / "ws.duckdb", memory_limit="100MB", threads=1, temp_directory="") as ws:
        with pytest.raises(MemoryLimitError) as raised:
            ingest_file(ws, big_csv, "csv", mapping=MAPPING)
        assert ws.count("access_events") == 0 and ws.count("ingests") == 0  # all or nothing
    message = str(raised.value)
    assert message.startswith(f"{big_csv}: out of memory within the workspace's memory limit of 100MB")
    assert "spilling is off" in message
    assert '--memory-limit 1GB' in message and "INVESTIGATE_MEMORY_LIMIT=1GB" in message


def test_a_query_larger_than_memory_spills_to_disk(big_workspace, tmp_path):
    path, _, _ = big_workspace
    (tmp_path / "ranked.sql").write_text(RANKED)
    with Workspace.open(path, memory_limit="100MB", threads=1, read_only=True) as ws:
        df = run_query(ws, "ranked", query_dirs=[tmp_path])
    assert df.to_dict("records") == [{"events": ROWS, "keys": ROWS, "rank_sum": ROWS * (ROWS + 1) // 2}]
    # Without spilling, the same query does not fit.
    with Workspace.open(path, memory_limit="100MB", threads=1, read_only=True, temp_directory="") as ws:
        with pytest.raises(MemoryLimitError, match="^query ranked: out of memory within the "
                                                   "workspace's memory limit of 100MB"):
            run_query(ws, "ranked", query_dirs=[tmp_path])


def test_a_full_spill_directory_says_so_and_how_to_move_it(big_workspace, tmp_path):
    path, _, _ = big_workspace
    (tmp_path / "ranked.sql").write_text(RANKED)
    with Workspace.open(path, memory_limit="100MB", threads=1, read_only=True) as ws:
        ws.sql("SET max_temp_directory_size = '0KiB'")  # as if its disk were full
        with pytest.raises(MemoryLimitError) as raised:
            run_query(ws, "ranked", query_dirs=[tmp_path])
    message = str(raised.value)
    assert message.startswith(f"query ranked: no disk space left to spill to: work beyond the memory "
                              f"limit (100MB) spills to {path}.tmp")
    assert "--temp-dir DIR" in message and "INVESTIGATE_TEMP_DIRECTORY=DIR" in message


def test_a_workspace_in_memory_spills_to_its_own_folder_and_removes_it(tmp_path):
    with Workspace.open(memory_limit="100MB", threads=1) as ws:
        temp = Path(ws.temp_directory)
        assert not temp.exists()  # made by DuckDB on the first spill
        ws.sql("CREATE TEMP TABLE t AS SELECT range AS n, md5(range::VARCHAR) AS h FROM range(2000000)")
        assert ws.sql("SELECT count(DISTINCT h) FROM t").fetchone() == (2_000_000,)
        assert {Path(p).parent for (p,) in ws.sql("SELECT path FROM duckdb_temporary_files()").fetchall()} == {temp}
    assert not temp.exists()


def test_an_impossible_limit_says_which_limit_and_how_to_raise_it(big_csv, tmp_path, capsys):
    ws_path = tmp_path / "ws.duckdb"
    with Workspace.open(ws_path, memory_limit="10MB") as ws:
        with pytest.raises(MemoryLimitError) as raised:
            ingest_file(ws, big_csv, "csv", mapping=MAPPING)
    message = str(raised.value)
    assert message.startswith(f"{big_csv}: out of memory within the workspace's memory limit of 10MB "
                              f"(DuckDB gets 60% of it; work beyond that spills to {ws_path}.tmp")
    assert 'memory_limit="1GB"' in message and "--memory-limit 1GB" in message
    assert isinstance(raised.value, InvestigateError)

    mapping = tmp_path / "mapping.yml"
    mapping.write_text(yaml.safe_dump(MAPPING))
    code = main(["ingest", str(ws_path), str(big_csv), "--format", "csv", "--mapping", str(mapping),
                 "--memory-limit", "10MB"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"error: {big_csv}: out of memory within the workspace's memory limit of 10MB")
    assert "Traceback" not in err
