"""Shared fixtures: an in-memory workspace, the repo's paths, the shared real samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from investigate import Workspace

from . import netguard

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data_samples"
REAL_SAMPLES = REPO.parent / "shared" / "real_samples"

# Hypothesis profiles (tests/test_hostile_inputs.py). "ci", the default: few examples, the same
# ones every run (derandomize), nothing saved. "nightly": many random examples, failures saved in
# .hypothesis/ and replayed first next time. Choose with HYPOTHESIS_PROFILE=nightly (or pytest's
# --hypothesis-profile=nightly). The deadline is per example: a load that takes longer fails.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile("ci", max_examples=15, derandomize=True, database=None, print_blob=True,
                          deadline=timedelta(seconds=5), suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("nightly", max_examples=2000, derandomize=False, print_blob=True,
                          deadline=timedelta(seconds=10), suppress_health_check=_SLOW_IS_FINE)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def _mmdb_cache_in_a_temp_dir(tmp_path_factory):
    """Converted .mmdb databases are cached; the tests keep theirs out of the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("INVESTIGATE_CACHE", str(tmp_path_factory.mktemp("mmdb-cache")))
    yield
    mp.undo()


@dataclass
class Reproduced:
    out: Path                   # the reports folder
    proc: subprocess.CompletedProcess
    network_log: Path           # blocked network attempts, one JSON line each (netguard)
    seconds: float


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory) -> Reproduced:
    """`investigate reproduce` (what `make reproduce` runs) once per session, into a temporary
    folder, with the network blocked in it and in every child (the notebooks' kernels): see
    tests/netguard.py. test_reproduce.py checks what it wrote, test_offline.py that it never
    tried the network. About 30 s."""
    base = tmp_path_factory.mktemp("reproduce")
    log = base / "network_attempts.jsonl"
    env = netguard.child_env(base / "netguard", log)
    argv = [sys.executable, "-m", "investigate.cli", "reproduce", "--out", str(base / "reports")]
    started = time.perf_counter()
    proc = subprocess.run(netguard.child_command(argv), cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)
    return Reproduced(base / "reports", proc, log, time.perf_counter() - started)


@pytest.fixture
def ws():
    with Workspace.open() as w:
        yield w


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    return json.loads((SAMPLES / "ground_truth.json").read_text(encoding="utf-8"))


def rows(ws, table="access_events", order="source_record"):
    """A table's rows as plain tuples, without the provenance columns (for comparing loads)."""
    cols = [c for c in ws.sql(f"SELECT * FROM {table} LIMIT 0").df().columns
            if c not in ("source_file", "event_id")]
    return ws.sql(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}").fetchall()
