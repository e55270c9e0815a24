"""Chain of custody: inputs hashed before and after loading, never changed, listed with
`investigate custody` (issue 9)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

import investigate as inv
from investigate.enrich import reference
from investigate.errors import ReferenceFileError, UnreadableInputError
from investigate.loaders import get_loader

from .conftest import REPO, SAMPLES

MAPPING = {"table": "access_events",
           "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip", "raw_action": "op"}}
HDR = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs(folder):
    """A CSV with a bad row, three small flow logs (loaded as one batch), the network inventory."""
    folder.mkdir()
    (folder / "access.csv").write_text("id,when,who,ip,op\n"
                                       "e1,2022-01-05T08:00:00Z,alice,10.0.0.1,GET\n"
                                       "e2,not a time,bob,10.0.0.2,PUT\n", encoding="utf-8")
    for i in range(3):
        lines = [HDR] + [f"2 123456789010 eni-1 10.0.{i}.{j} 198.51.100.7 4000{j} 443 6 10 840 "
                         f"{1714644901 + j} 1714644960 ACCEPT OK" for j in range(i + 1)]
        (folder / f"flow-{i}.log.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    shutil.copy(SAMPLES / "reference" / "network_inventory.csv", folder / "networks.csv")
    return folder


def load(ws, folder):
    inv.ingest_file(ws, folder / "access.csv", "csv", mapping=MAPPING)
    inv.ingest(ws, sorted(folder.glob("flow-*.log.gz")), "vpc_flow")
    inv.load_reference(ws, "networks", folder / "networks.csv")
    inv.load_reference(ws, "policy", "preset:trusted_partner",
                       params={"partner_org": "Ironbridge Cloud", "effective_from": "2022-06-17"})


def test_custody_lists_every_input_with_its_hash_size_format_counts_and_times(tmp_path):
    folder = inputs(tmp_path / "in")
    with inv.Workspace.open() as ws:
        load(ws, folder)
        df = inv.custody(ws, csv=tmp_path / "custody.csv")
    got = [(r.kind, os.path.basename(r.path), r.sha256, r.bytes, r.format, r.loaded_into,
            r.rows_read, r.rows_loaded, r.rows_rejected) for r in df.itertuples()]
    files = [folder / "access.csv", *(folder / f"flow-{i}.log.gz" for i in range(3))]
    assert got[:4] == [
        ("export", "access.csv", sha(files[0]), files[0].stat().st_size, "csv", "access_events", 2, 1, 1),
        *(("export", f.name, sha(f), f.stat().st_size, "vpc_flow", "transfer_events", i + 1, i + 1, 0)
          for i, f in enumerate(files[1:]))]
    net = folder / "networks.csv"
    assert got[4][:6] == ("reference: networks", "networks.csv", sha(net), net.stat().st_size, "inventory", "networks")
    assert got[5][0] == "reference: policy" and got[5][1].startswith("preset:trusted_partner")
    # Every file's hash was taken again after loading; the preset is not a file.
    assert df["checked_at"].iloc[:5].notna().all() and (df["checked_at"].iloc[:5] >= df["loaded_at"].iloc[:5]).all()
    assert df["checked_at"].isna().iloc[5] and df["bytes"].isna().iloc[5]
    assert df.loc[0, "first_event"].isoformat() == "2022-01-05T08:00:00+00:00"
    with open(tmp_path / "custody.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == inv.custody.__globals__["COLUMNS"]
    assert rows[0]["sha256"] == sha(files[0]) and rows[0]["first_event"] == "2022-01-05T08:00:00+00:00"
    assert rows[0]["checked_at"].endswith("+00:00") and rows[5]["checked_at"] == ""


def test_the_cli_prints_custody_and_writes_the_csv(tmp_path):
    folder = inputs(tmp_path / "in")
    db = tmp_path / "ws.duckdb"
    with inv.Workspace.open(db) as ws:
        load(ws, folder)
    proc = subprocess.run([sys.executable, "-m", "investigate.cli", "custody", str(db), "--csv",
                           str(tmp_path / "out" / "custody.csv")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"sha256 {sha(folder / 'access.csv')}" in out and "read 2, loaded 1, rejected 1" in out
    assert "reference: networks, inventory" in out and "not a file" in out
    assert out.rstrip().endswith(f"6 inputs; written to {tmp_path / 'out' / 'custody.csv'}")
    assert (tmp_path / "out" / "custody.csv").read_text(encoding="utf-8").count("\n") == 7


def _changing(monkeypatch, cls, method, path):
    """Make ``cls.method`` append to ``path`` while it reads it: an export still being written."""
    real = getattr(cls, method)

    def stage(self, con, sources, *a, **k):
        with open(path, "ab") as fh:
            fh.write(b"e9,2022-01-05T09:00:00Z,mallory,10.0.0.9,GET\n" if path.suffix == ".csv"
                     else gzip.compress(b"2 1 eni-1 10.9.9.9 198.51.100.7 1 443 6 1 1 1714644901 1714644960 ACCEPT OK\n"))
        monkeypatch.setattr(cls, method, real)  # once
        return real(self, con, sources, *a, **k)

    monkeypatch.setattr(cls, method, stage)


def test_a_file_that_changes_while_it_loads_is_refused_and_nothing_of_it_kept(tmp_path, monkeypatch):
    folder = inputs(tmp_path / "in")
    f = folder / "access.csv"
    before = sha(f)
    _changing(monkeypatch, type(get_loader("csv")), "stage", f)
    with inv.Workspace.open() as ws:
        with pytest.raises(UnreadableInputError) as err:
            inv.ingest_file(ws, f, "csv", mapping=MAPPING)
        assert str(err.value).startswith(f"{f}: changed while it was being loaded (sha256 {before[:16]}... before, "
                                         f"{sha(f)[:16]}... after); nothing of it was loaded")
        assert [ws.count(t) for t in ("access_events", "rejects", "ingests")] == [0, 0, 0]
        # Once it no longer changes, it loads, recorded with the hash of what was read.
        result = inv.ingest_file(ws, f, "csv", mapping=MAPPING)
        assert (result.rows_read, result.rows_loaded, result.sha256) == (3, 2, sha(f))


def test_a_file_that_changes_in_a_batch_is_loaded_again_on_its_own_as_it_now_is(tmp_path, monkeypatch):
    folder = inputs(tmp_path / "in")
    changed = folder / "flow-1.log.gz"
    _changing(monkeypatch, type(get_loader("vpc_flow")), "stage_batch", changed)
    with inv.Workspace.open() as ws:
        results = inv.ingest(ws, sorted(folder.glob("flow-*.log.gz")), "vpc_flow")
        assert [(r.rows_loaded, r.sha256) for r in results] == [
            (1, sha(folder / "flow-0.log.gz")), (3, sha(changed)), (3, sha(folder / "flow-2.log.gz"))]
        assert ws.sql("SELECT count(*), count(checked_at) FROM ingests").fetchone() == (3, 3)


def test_a_reference_file_that_changes_while_it_loads_is_refused(tmp_path, monkeypatch):
    folder = inputs(tmp_path / "in")
    net = folder / "networks.csv"
    real = reference._inventory_rows

    def reading(path, *a, **k):
        out = real(path, *a, **k)
        with open(net, "a", encoding="utf-8") as fh:  # a sync tool replacing it meanwhile
            fh.write("203.0.113.0/24,ZZ,Changed Org,,office\n")
        return out

    monkeypatch.setattr(reference, "_inventory_rows", reading)
    with inv.Workspace.open() as ws:
        with pytest.raises(ReferenceFileError, match="changed while it was being loaded"):
            inv.load_reference(ws, "networks", net)
        assert ws.count("reference_sources") == 0 and ws.count("networks") == 0


def test_inputs_are_only_read(tmp_path):
    """Loading leaves every input as it was (bytes, size, times) and writes nothing beside it,
    even in a folder nobody may write to."""
    folder = inputs(tmp_path / "in")
    before = {p.name: (sha(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}
    for p in folder.iterdir():
        p.chmod(0o444)
    folder.chmod(0o555)
    try:
        with inv.Workspace.open(tmp_path / "ws.duckdb") as ws:
            load(ws, folder)
            assert ws.count("ingests") == 4
    finally:
        folder.chmod(0o755)
    assert {p.name: (sha(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()} == before
