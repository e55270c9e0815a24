"""Offline always (DESIGN.md): `make reproduce` works with the network blocked, and importing the
package touches no network.

The blocker (tests/netguard.py) refuses every socket use that is not a Unix socket or loopback, in
the test process and, as ``sitecustomize``, in every Python child: the CLI and each notebook's
kernel. Attempts are written to a log file that the tests read, so an exception swallowed in a
child cannot hide one. Where ``unshare -rn`` works the children also run in a network namespace
with loopback only, which stops C code (DuckDB, libzmq) the Python blocker cannot see.

The reproduce run is the session's one (``reproduced`` in conftest.py), shared with
test_reproduce.py, so the 30 s it takes are paid once.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import nbformat
import pytest

from . import netguard
from .conftest import REPO

# What reproduce runs: every numbered notebook.
WORKFLOW = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(autouse=True)
def no_network_here(tmp_path):
    """The test process itself is blocked too, for the length of each test."""
    log = tmp_path / "in_process_attempts.jsonl"
    undo = netguard.install(log)
    yield log
    undo()
    assert netguard.attempts(log) == []


def _shown(entries: list[dict]) -> str:
    return "\n".join(f"pid {e['pid']} {e['argv']}: {e['call']} {e['address']}\n{e.get('stack', '')}"
                     for e in entries)


def test_the_blocker_blocks_and_records(tmp_path):
    """The control: a connection to a public address is refused and logged, loopback is not."""
    log = tmp_path / "control.jsonl"
    undo = netguard.install(log)  # over the fixture's: this log gets the attempts
    try:
        with pytest.raises(OSError, match="network blocked"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1, never routed
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 443)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            with pytest.raises(OSError, match="network blocked"):
                s.connect_ex(("8.8.8.8", 53))
            s.bind(("127.0.0.1", 0))  # loopback is allowed
    finally:
        undo()
    assert [e["call"] for e in netguard.attempts(log)] == ["create_connection", "getaddrinfo", "connect_ex"]


def test_reproduce_succeeds_offline(reproduced):
    proc = reproduced.proc
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"reproduce took {reproduced.seconds:.1f} s")
    assert "Headline findings" in proc.stdout
    out = reproduced.out
    for name in ["findings.json", "findings.md", "case.duckdb", "report.html", "report.pdf",
                 "figures/cross_border_access_monthly.png", "tables/cn_staff_access.csv",
                 *(f"notebooks/{n}.ipynb" for n in WORKFLOW)]:
        assert (out / name).is_file(), name
    assert json.loads((out / "findings.json").read_text())["findings"]
    for n in WORKFLOW:
        nb = nbformat.read(out / "notebooks" / f"{n}.ipynb", as_version=4)
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], n


def test_reproduce_made_no_network_attempt(reproduced):
    assert reproduced.proc.returncode == 0, reproduced.proc.stderr[-4000:]
    logged = netguard.attempts(reproduced.network_log)
    assert logged == [], _shown(logged)


def test_the_blocker_ran_in_the_cli_and_in_every_kernel(reproduced):
    """Without this, an empty log could mean the blocker never ran where the work happened."""
    procs = netguard.started(reproduced.network_log)
    cli = [p for p in procs if "investigate.cli" in p["argv"]]
    kernels = [p for p in procs if "ipykernel_launcher" in p["argv"]]
    assert cli, procs
    assert len(kernels) == len(WORKFLOW), procs


_IMPORT_EVERYTHING = textwrap.dedent("""
    import importlib, pkgutil, socket, sys
    import investigate
    names = ["investigate"]
    for info in pkgutil.walk_packages(investigate.__path__, "investigate."):
        importlib.import_module(info.name)
        names.append(info.name)
    print(len(names), "modules imported")
    # The control: the blocker is live in this process.
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    except OSError:
        pass
    else:
        sys.exit("the blocker did not block")
""")


def test_importing_every_module_touches_no_network(tmp_path):
    log = tmp_path / "attempts.jsonl"
    env = netguard.child_env(tmp_path / "netguard", log)
    proc = subprocess.run([sys.executable, "-c", _IMPORT_EVERYTHING], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert int(proc.stdout.split()[0]) > 20, proc.stdout  # the package and its submodules
    logged = netguard.attempts(log)
    # Only the control's attempt, nothing from an import.
    assert [(e["call"], e["address"]) for e in logged] == [("create_connection", "('192.0.2.1', 80)")], \
        _shown(logged)
