"""Progress bars for long DuckDB statements: shown while a user waits, never otherwise.

A bar appears once a statement has run for :data:`DELAY` seconds, shows how far DuckDB says it
is (``con.query_progress()``, polled from a background thread) and, when the amount of work is
known (rows, bytes, addresses), how much of it is done per second; it is cleared when the
statement ends, however it ends. In a Jupyter kernel it is a widget (``tqdm.notebook``), else a
line on stderr: never on stdout, where the CLI writes its results.

Whether bars are shown: :data:`enabled` when set (True or False), else the environment variable
``INVESTIGATE_PROGRESS`` (``1`` or ``0``), else only where someone is watching: stderr is a
terminal, or the code runs in a Jupyter kernel. Not under pytest, in CI, in a pipe, in a
notebook run headless (:func:`investigate.run_notebook` turns them off), or when the CLI's
stderr is redirected.

Examples
--------
>>> with progress.track(ws.con, "Writing access.csv", total=2_500_000, unit="rows"):
...     ws.con.execute("INSERT INTO access_events SELECT ...")
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

enabled: bool | None = None     # None: decide as the module docstring says
ENV = "INVESTIGATE_PROGRESS"
DELAY = 1.5                     # seconds a statement runs before its bar appears
INTERVAL = 0.2                  # seconds between two polls of DuckDB's progress

_tracked: set[int] = set()      # connections with a bar running (a nested track shows none)


def _in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (not a plain IPython shell)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def active(stream=None) -> bool:
    """Whether bars are shown now (see the module docstring); ``stream``: the one a bar would be
    written to (default stderr)."""
    if enabled is not None:
        return bool(enabled)
    env = os.environ.get(ENV, "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    if _in_kernel():
        return True
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except Exception:  # a closed or replaced stream
        return False


def prepare(con) -> None:
    """Make DuckDB keep track of each statement's progress on ``con``, without ever printing a
    bar of its own (on stdout, mixed with the CLI's output). Call it once, right after
    connecting: outside a transaction, as a failed SET would abort one (in a Jupyter kernel
    without ipywidgets DuckDB refuses both settings; they stay as they are, and no bar shows)."""
    import duckdb

    try:
        con.execute("SET enable_progress_bar_print = false")
        con.execute("SET enable_progress_bar = true")
    except duckdb.Error:
        pass


def _progress_on(con) -> bool:
    """Whether DuckDB keeps track of its progress on ``con`` (see :func:`prepare`). Only reads a
    setting, which cannot abort a transaction; it also clears the progress of the statement
    before, which would otherwise show until the block's first statement starts."""
    import duckdb

    try:
        return bool(con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0])
    except duckdb.Error:  # a transaction that failed refuses everything: its next statement says why
        return False


def _bar_class(file):
    """tqdm's notebook widget in a kernel (when ipywidgets is there), else its text bar."""
    if file is None and _in_kernel():
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it)
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm
        except ImportError:
            pass
    from tqdm import tqdm

    return tqdm


class _Poller(threading.Thread):
    """Polls ``con.query_progress()`` and draws the bar; every bar call is made on this thread."""

    def __init__(self, con, description: str, total: int | None, unit: str, file):
        super().__init__(name="investigate-progress", daemon=True)
        self.con, self.description, self.total, self.unit, self.file = con, description, total, unit, file
        self.stop = threading.Event()
        self.succeeded = False
        self.start_time = time.time()

    def _make_bar(self):
        kwargs = dict(desc=self.description, leave=False, smoothing=0, dynamic_ncols=True)
        if self.total:  # the work is known: done = total x fraction, and its rate per second
            word = self.unit if self.unit == "B" else f" {self.unit}"
            kwargs.update(total=self.total, unit=word, unit_scale=True)
        else:           # only DuckDB's percentage
            kwargs.update(total=100, bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")
        cls = _bar_class(self.file)
        if cls.__module__ != "tqdm.notebook":
            kwargs["file"] = self.file if self.file is not None else sys.stderr
        bar = cls(**kwargs)
        bar.start_t = self.start_time  # elapsed and rate count from the statement's start
        return bar

    def _show(self, bar, percent: float) -> None:
        bar.n = int(self.total * percent / 100) if self.total else round(percent, 1)
        bar.refresh()

    def run(self) -> None:
        bar = None
        try:
            if self.stop.wait(DELAY):
                return  # over before anyone needed a bar
            bar = self._make_bar()
            shown = 0.0
            while True:
                percent = self.con.query_progress()
                # Of several statements in one block, each starts again from 0: the bar only moves on.
                if percent is not None and percent > shown:
                    shown = min(float(percent), 100.0)
                self._show(bar, shown)
                if self.stop.wait(INTERVAL):
                    break
            if self.succeeded:
                self._show(bar, 100.0)
        except BaseException:  # never raise from here: the statement matters, not its bar
            pass
        finally:
            if bar is not None:
                _close(bar)


def _close(bar) -> None:
    try:
        bar.close()
        container = getattr(bar, "container", None)  # a notebook widget: removed, even after an error
        if container is not None:
            container.close()
    except Exception:
        pass


@contextmanager
def track(con, description: str, total: int | None = None, unit: str = "rows", *, file=None):
    """Show a progress bar while the statements in the block run on ``con``, if they take long.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    description : str
        What is being done, e.g. ``"Reading access.csv"``.
    total : int, optional
        How much work the block does in ``unit`` (rows, bytes...), when known: the bar then
        shows it done and its rate per second (total x fraction done / elapsed); without it,
        the percentage alone.
    unit : str
        ``"rows"``, ``"B"`` (bytes, shown as kB, MB...), or any word.
    file : stream, optional
        Where the bar goes (default stderr, or a widget in a Jupyter kernel).

    Exceptions (KeyboardInterrupt too) pass through unchanged; the bar is cleared and its
    thread stopped before they do.
    """
    key = id(con)
    if key in _tracked or not active(file) or not _progress_on(con):
        yield
        return
    poller = _Poller(con, description, total, unit, file)
    _tracked.add(key)
    poller.start()
    try:
        yield
        poller.succeeded = True
    finally:
        poller.stop.set()
        _tracked.discard(key)
        poller.join()
