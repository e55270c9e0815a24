"""Progress bars: when they show, what they show, and that they never change or hide a result."""

from __future__ import annotations

import io
import re
import threading

import duckdb
import pytest

from investigate import Workspace, ingest_file, progress

# Pairs (a, b) of 0 <= a, b < N with a + b divisible by 7: a count DuckDB takes a few seconds
# over (400 million pairs), with a result known without it.
N = 20_000
SLOW = f"SELECT count(*) FROM range({N}) a, range({N}) b WHERE (a.range + b.range) % 7 = 0"
SOME = SLOW.replace(str(N), "8000")


def pairs(n: int) -> int:
    per_residue = [len(range(r, n, 7)) for r in range(7)]
    return sum(per_residue[r] * per_residue[(7 - r) % 7] for r in range(7))


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def bar_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "investigate-progress"]


@pytest.fixture
def auto(monkeypatch):
    """The decision left to the environment: no module setting, no variable, not a kernel."""
    monkeypatch.setattr(progress, "enabled", None)
    monkeypatch.delenv(progress.ENV, raising=False)
    monkeypatch.setattr(progress, "_in_kernel", lambda: False)


@pytest.fixture
def forced(monkeypatch):
    """Bars on, drawn from the first poll (the delay is for people, not for tests)."""
    monkeypatch.setattr(progress, "enabled", True)
    monkeypatch.setattr(progress, "DELAY", 0)


def test_auto_shows_bars_on_a_terminal_or_in_a_kernel_only(auto, monkeypatch):
    assert progress.active(Stream(tty=True)) is True
    assert progress.active(Stream(tty=False)) is False      # a pipe, a file, CI, pytest
    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    assert progress.active(Stream(tty=False)) is True       # a notebook's stderr is no terminal


def test_the_variable_decides_over_auto_and_the_setting_over_both(auto, monkeypatch):
    monkeypatch.setenv(progress.ENV, "0")
    assert progress.active(Stream(tty=True)) is False
    monkeypatch.setattr(progress, "_in_kernel", lambda: True)
    assert progress.active(Stream(tty=True)) is False
    monkeypatch.setenv(progress.ENV, "1")
    monkeypatch.setattr(progress, "_in_kernel", lambda: False)
    assert progress.active(Stream(tty=False)) is True
    monkeypatch.setattr(progress, "enabled", False)
    assert progress.active(Stream(tty=True)) is False
    monkeypatch.setenv(progress.ENV, "0")
    monkeypatch.setattr(progress, "enabled", True)
    assert progress.active(Stream(tty=False)) is True


def test_this_process_is_no_kernel():
    assert progress._in_kernel() is False


def test_a_workspace_lets_duckdb_track_progress_but_never_print_it(ws):
    assert ws.sql("SELECT current_setting('enable_progress_bar'), "
                  "current_setting('enable_progress_bar_print')").fetchone() == (True, False)


def test_a_forced_bar_shows_the_percentage_and_leaves_the_result_alone(ws, forced):
    out = Stream(tty=False)
    with progress.track(ws.con, "Counting pairs", file=out):
        got = ws.sql(SLOW).fetchone()[0]
    assert got == pairs(N)
    text = out.getvalue()
    assert re.search(r"\rCounting pairs:\s+\d+%\|", text)    # a tqdm line with a percentage
    assert "Counting pairs: 100%|" in text                   # finished: drawn complete...
    assert text.endswith("\r") and text.rstrip("\r").split("\r")[-1].strip() == ""  # ...then cleared
    assert bar_threads() == []


def test_with_a_known_total_the_bar_shows_rows_and_rows_per_second(ws, forced):
    out = Stream(tty=False)
    with progress.track(ws.con, "Counting pairs", total=2_000_000, unit="rows", file=out):
        got = ws.sql(SOME).fetchone()[0]
    assert got == pairs(8000)
    assert "2.00M/2.00M" in out.getvalue() and " rows/s]" in out.getvalue()


def test_nothing_is_written_and_no_thread_started_when_off(ws, forced, monkeypatch):
    started = []
    monkeypatch.setattr(progress._Poller, "start", lambda self: started.append(self))
    for off in ({"enabled": False}, {"enabled": None, "env": "0"}):
        monkeypatch.setattr(progress, "enabled", off["enabled"])
        if "env" in off:
            monkeypatch.setenv(progress.ENV, off["env"])
        out = Stream(tty=True)
        with progress.track(ws.con, "Counting pairs", file=out):
            got = ws.sql(SOME).fetchone()[0]
        assert got == pairs(8000)
        assert out.getvalue() == ""
    assert started == []


@pytest.mark.parametrize("error", [ValueError("in the block"), KeyboardInterrupt()])
def test_an_exception_in_the_block_passes_through_and_stops_the_bar(ws, forced, error):
    out = Stream(tty=False)
    with pytest.raises(type(error)) as raised:
        with progress.track(ws.con, "Counting pairs", file=out):
            ws.sql(SOME).fetchone()
            raise error
    assert raised.value is error
    assert bar_threads() == []
    assert out.getvalue().endswith("\r")  # the bar was drawn, and cleared
    # The connection is as usable as before.
    assert ws.sql("SELECT 42").fetchone() == (42,)


def test_a_failing_statement_raises_its_own_error(ws, forced):
    out = Stream(tty=False)
    with pytest.raises(duckdb.CatalogException):
        with progress.track(ws.con, "Reading", file=out):
            ws.sql("SELECT * FROM no_such_table")
    assert bar_threads() == []


def test_a_bar_inside_a_bar_on_the_same_connection_is_not_drawn(ws, forced):
    out = Stream(tty=False)
    with progress.track(ws.con, "Outer", file=out):
        with progress.track(ws.con, "Inner", file=out):
            ws.sql(SOME).fetchone()
    assert "Outer" in out.getvalue() and "Inner" not in out.getvalue()


def test_loads_with_bars_on_are_the_same_and_keep_stdout_clean(tmp_path, forced, capsys):
    # Every hook in the loaders and the enrichment runs inside the load's transaction: the
    # bars must not disturb it (a failed statement there would abort it).
    f = tmp_path / "access.csv"
    f.write_text("id,when,who,ip,object\n" + "".join(
        f"e{i},2022-01-05T08:00:{i % 60:02d}Z,user{i % 7},10.0.{i % 3}.{i % 200},s3://b/{i}\n"
        for i in range(5000)))
    mapping = {"table": "access_events",
               "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip",
                           "resource": "object"}}
    with Workspace.open() as ws:
        result = ingest_file(ws, f, "csv", mapping=mapping)
        located = ws.sql("SELECT count(*) FROM address_locations").fetchone()[0]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5000, 5000, 0)
    assert located == 600
    assert capsys.readouterr().out == ""
    assert bar_threads() == []
