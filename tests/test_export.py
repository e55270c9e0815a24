"""`investigate export`: every table as Parquet (events by UTC date), IP ranges as hex, a manifest."""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import investigate as inv
from investigate import schema
from investigate.cli import main
from investigate.export import ip_to_hex

from .conftest import SAMPLES

# the module (``investigate.export`` is also the function, re-exported by the package)
export_mod = importlib.import_module("investigate.export")
custody_mod = importlib.import_module("investigate.custody")


@pytest.fixture(scope="module")
def case_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export-ws") / "case.duckdb"
    with inv.Workspace.open(path) as ws:
        inv.ingest_case(ws, SAMPLES / "case.yml")
    return path


@pytest.fixture(scope="module")
def case_ws(case_path):
    with inv.Workspace.open(case_path, read_only=True) as ws:
        yield ws


@pytest.fixture(scope="module")
def exported(case_ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("export-out") / "parquet"
    manifest = inv.export(case_ws, out)
    return out, manifest


def _read_back(table: str, out: Path, con) -> str:
    """A SELECT over the exported table with every column in its workspace type again."""
    cols = []
    for name, decl in schema.ALL_TABLES[table]:
        type_ = schema.column_type(table, name)
        if type_ == "UHUGEINT":
            cols.append(f"CAST('0x' || {name} AS UHUGEINT) AS {name}")
        elif type_ in schema.TYPES:
            cols.append(f"CAST({name} AS {schema.TYPES[type_]}) AS {name}")
        else:
            cols.append(f"CAST({name} AS {type_}) AS {name}")
    return (f"SELECT {', '.join(cols)} FROM read_parquet('{out / table}/**/*.parquet', "
            "hive_partitioning=true)")


def test_every_table_round_trips_row_for_row(case_ws, exported):
    out, manifest = exported
    assert set(manifest["tables"]) == set(schema.ALL_TABLES)
    assert sorted(p.name for p in out.iterdir()) == sorted([*schema.ALL_TABLES, "manifest.json"])
    for table in schema.ALL_TABLES:
        back = _read_back(table, out, case_ws)
        n = case_ws.sql(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert case_ws.sql(f"SELECT count(*) FROM ({back})").fetchone()[0] == n, table
        for a, b in ((f"SELECT * FROM {table}", back), (back, f"SELECT * FROM {table}")):
            assert case_ws.sql(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()[0] == 0, table
        assert manifest["tables"][table]["rows"] == n
    # the sample case fills the tables that matter here
    assert manifest["tables"]["access_events"]["rows"] > 20_000
    assert manifest["tables"]["networks"]["rows"] > 0


def test_types_as_other_engines_read_them(case_ws, exported):
    out, manifest = exported
    kinds = dict((r[0], r[1]) for r in case_ws.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{out}/access_events/**/*.parquet', hive_partitioning=true)").fetchall())
    assert list(kinds) == [*schema.columns("access_events"), "event_date"]
    assert kinds["ts"] == "TIMESTAMP WITH TIME ZONE"   # UTC-adjusted Parquet timestamps
    assert kinds["event_date"] == "DATE"
    assert kinds["extra"] == "VARCHAR"
    # the partition column is in the folder names only, not repeated in the files
    one = next((out / "access_events").rglob("*.parquet"))
    inside = [r[0] for r in case_ws.sql(f"DESCRIBE SELECT * FROM read_parquet('{one}', hive_partitioning=false)").fetchall()]
    assert inside == schema.columns("access_events")
    nets = {c["name"]: c for c in manifest["tables"]["networks"]["columns"]}
    assert nets["ip_start"] == {"name": "ip_start", "type": "VARCHAR", "canonical_type": "UHUGEINT",
                                "encoding": "hex32"}
    assert manifest["tables"]["access_events"]["partition_columns"] == ["event_date"]
    assert manifest["tables"]["networks"]["partition_columns"] == []


def test_partition_folders_are_utc_dates(case_ws, exported):
    out, manifest = exported
    for table, ts in export_mod.PARTITION_SOURCE.items():
        days = {d.strftime("%Y-%m-%d") for (d,) in case_ws.sql(
            f"SELECT DISTINCT CAST(timezone('UTC', {ts}) AS DATE) FROM {table}").fetchall()}
        folders = {p.name for p in (out / table).iterdir()}
        assert folders == {f"event_date={d}" for d in days}, table
        for folder in (out / table).iterdir():
            got = case_ws.sql(f"""SELECT min(CAST(timezone('UTC', {ts}) AS DATE)),
                                         max(CAST(timezone('UTC', {ts}) AS DATE))
                                  FROM read_parquet('{folder}/*.parquet', hive_partitioning=false)""").fetchone()
            assert [d.strftime("%Y-%m-%d") for d in got] == [folder.name.split("=")[1]] * 2


def test_the_date_is_the_utc_date_whatever_the_session_time_zone(tmp_path):
    with inv.Workspace.open() as ws:
        row = "'e{}', TIMESTAMPTZ '{}', 'a', NULL, NULL, 'read', NULL, 'r', 'success', NULL, NULL, NULL, 'csv', 'f', {}, NULL"
        ws.sql("INSERT INTO access_events VALUES (" + row.format(1, "2022-01-05 23:30:00-05:00", 1) + "), ("
               + row.format(2, "2022-01-06 00:30:00+02:00", 2) + ")")
        ws.sql("SET TimeZone = 'Asia/Tokyo'")
        manifest = inv.export(ws, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out/access_events").iterdir()) == [
        "event_date=2022-01-05", "event_date=2022-01-06"]
    got = duckdb.sql(f"""SELECT event_id, CAST(event_date AS VARCHAR) FROM read_parquet(
        '{tmp_path}/out/access_events/**/*.parquet', hive_partitioning=true) ORDER BY 1""").fetchall()
    assert got == [("e1", "2022-01-06"), ("e2", "2022-01-05")]
    # an empty event table still has a file, with the partition column, so its schema reads
    assert manifest["tables"]["transfer_events"]["files"] == [
        {"path": "transfer_events/data_0.parquet", "bytes": manifest["tables"]["transfer_events"]["files"][0]["bytes"],
         "sha256": manifest["tables"]["transfer_events"]["files"][0]["sha256"]}]
    cols = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{tmp_path}/out/transfer_events/data_0.parquet'").fetchall()]
    assert cols == [*schema.columns("transfer_events"), "event_date"]


NETWORKS = """cidr,country,org,site,kind
10.0.0.0/8,US,Corp,us-dc,datacenter
10.20.0.0/16,DE,Corp,de-dc,datacenter
192.0.2.128/25,FR,Corp,fr-office,office
2001:db8::/32,US,Corp,us-v6,datacenter
2001:db8:ffff::/48,CN,Corp,cn-v6,office
fd00::/8,SG,Corp,sg-v6,datacenter
fdff:ffff:ffff:ffff::/64,JP,Corp,jp-v6,office
"""
ADDRESSES = ["10.1.2.3", "10.20.0.1", "10.20.255.255", "10.21.0.0", "11.0.0.0", "9.255.255.255",
             "192.0.2.127", "192.0.2.128", "192.0.2.255", "2001:db8::1", "2001:db8:ffff::1",
             "2001:db8:ffff:0:ffff:ffff:ffff:ffff", "2001:db9::", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
             "fd12::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::", "::ffff:10.20.0.1", "::1"]


def _value(address: str) -> int:
    ip = ipaddress.ip_address(address)
    return int(ip) + (0xFFFF << 32) if ip.version == 4 else int(ip)


def test_ipv4_and_ipv6_ranges_compare_as_in_duckdb(tmp_path):
    nets = tmp_path / "nets.csv"
    nets.write_text(NETWORKS)
    with inv.Workspace.open() as ws:
        inv.load_reference(ws, "networks", nets)
        inv.export(ws, tmp_path / "out")
        # order: numeric in the workspace, text in the export
        numeric = [r[0] for r in ws.sql("SELECT cidr FROM networks ORDER BY ip_start, ip_end DESC").fetchall()]
        hexed = ws.sql(f"SELECT cidr, ip_start, ip_end FROM '{tmp_path}/out/networks/*.parquet' "
                       "ORDER BY ip_start, ip_end DESC").fetchall()
        assert [r[0] for r in hexed] == numeric
        assert all(len(s) == len(e) == 32 for _, s, e in hexed)
        # containment: every range holding each address, by UHUGEINT in the workspace and by
        # plain string comparison over the export (in DuckDB and in Python)
        for address in ADDRESSES:
            want = [r[0] for r in ws.sql("SELECT cidr FROM networks WHERE CAST(? AS UHUGEINT) BETWEEN ip_start "
                                         "AND ip_end ORDER BY cidr", [str(_value(address))]).fetchall()]
            got = [r[0] for r in ws.sql(f"SELECT cidr FROM '{tmp_path}/out/networks/*.parquet' WHERE ? BETWEEN "
                                        "ip_start AND ip_end ORDER BY cidr", [ip_to_hex(address)]).fetchall()]
            assert got == want, address
            assert sorted(c for c, s, e in hexed if s <= ip_to_hex(address) <= e) == want, address
        # and back to the exact integers
        assert ws.sql(f"""SELECT count(*) FROM networks n JOIN '{tmp_path}/out/networks/*.parquet' p USING (cidr, source_seq)
                          WHERE CAST('0x' || p.ip_start AS UHUGEINT) = n.ip_start
                            AND CAST('0x' || p.ip_end AS UHUGEINT) = n.ip_end""").fetchone()[0] == NETWORKS.count("\n") - 1
    assert ip_to_hex("::") == "0" * 32
    assert ip_to_hex("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "f" * 32
    assert ip_to_hex("10.0.0.1") == "00000000000000000000ffff0a000001"


def test_exported_ranges_locate_the_case_addresses_as_the_workspace_does(case_ws, exported):
    out, _ = exported
    # address_locations holds the workspace's own (ASOF join) answer for every address seen
    rows = case_ws.sql("SELECT ip, ip_class, cidr FROM address_locations WHERE cidr IS NOT NULL").fetchall()
    assert any(":" in ip for ip, _, _ in rows) and any(":" not in ip for ip, _, _ in rows)
    ranges = case_ws.sql(f"SELECT scope, ip_start, ip_end, cidr FROM '{out}/network_ranges/*.parquet'").fetchall()
    for ip, ip_class, cidr in rows:
        scope = "all" if ip_class == "public" else "inventory"
        h = ip_to_hex(ip)
        assert [c for s, a, b, c in ranges if s == scope and a <= h <= b] == [cidr], ip


def test_manifest_is_exact(case_ws, exported):
    out, manifest = exported
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["schema_version"] == schema.SCHEMA_VERSION
    assert manifest["toolkit_version"] == inv.findings.toolkit_version()
    assert datetime.fromisoformat(manifest["exported_at"]).utcoffset().total_seconds() == 0
    assert manifest["fingerprint"] == case_ws.fingerprint()
    custody = inv.custody(case_ws)

    def plain(v):
        return None if pd.isna(v) else int(v) if isinstance(v, (int, float)) else v

    assert [list(i) for i in manifest["inputs"]] == [custody_mod.COLUMNS] * len(custody)
    assert [(i["kind"], i["path"], i["sha256"], i["bytes"], i["format"], i["loaded_into"], i["rows_read"],
             i["rows_loaded"], i["rows_rejected"], i["rows_set_apart"]) for i in manifest["inputs"]] == [
        (r.kind, r.path, r.sha256, plain(r.bytes), plain(r.format), plain(r.loaded_into), plain(r.rows_read),
         plain(r.rows_loaded), plain(r.rows_rejected), plain(r.rows_set_apart)) for r in custody.itertuples()]
    assert [i["loaded_at"] for i in manifest["inputs"]] == [t.isoformat() for t in custody.loaded_at]
    for i in manifest["inputs"]:
        if i["kind"] == "export":
            assert hashlib.sha256(Path(i["path"]).read_bytes()).hexdigest() == i["sha256"]
    listed = {}
    for table, t in manifest["tables"].items():
        assert t["path"] == table
        assert [c["name"] for c in t["columns"]] == schema.columns(table) + t["partition_columns"]
        for f in t["files"]:
            listed[f["path"]] = f
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(listed) == on_disk
    for path, f in listed.items():
        data = (out / path).read_bytes()
        assert f == {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_a_non_empty_out_is_refused_unless_overwrite(case_ws, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    inv.export(case_ws, out)                      # empty: fine
    (out / "stale.txt").write_text("old")
    with pytest.raises(inv.InvestigateError, match="the folder is not empty.*--overwrite"):
        inv.export(case_ws, out)
    assert (out / "stale.txt").read_text() == "old"
    manifest = inv.export(case_ws, out, overwrite=True)
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no temporary folders left
    (tmp_path / "file").write_text("x")
    with pytest.raises(inv.InvestigateError, match="not a folder"):
        inv.export(case_ws, tmp_path / "file", overwrite=True)


def test_a_failing_export_leaves_nothing(case_ws, tmp_path, monkeypatch):
    real = export_mod._write_table

    def failing(ws, table, folder):
        if table == "networks":
            raise OSError("disk full")
        return real(ws, table, folder)

    monkeypatch.setattr(export_mod, "_write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        inv.export(case_ws, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    # and an overwrite that fails keeps the export that was there
    monkeypatch.setattr(export_mod, "_write_table", real)
    before = inv.export(case_ws, tmp_path / "out")
    monkeypatch.setattr(export_mod, "_write_table", failing)
    with pytest.raises(OSError):
        inv.export(case_ws, tmp_path / "out", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert json.loads((tmp_path / "out/manifest.json").read_text()) == before


def test_cli_export(case_path, case_ws, tmp_path, capsys):
    out = tmp_path / "pq"
    assert main(["export", str(case_path), str(out)]) == 0
    said = capsys.readouterr().out
    n = case_ws.count("access_events")
    days = len(list((out / "access_events").iterdir()))
    assert f"access_events: {n:,} rows, {days} files by event_date\n" in said
    assert said.endswith(f"{len(schema.ALL_TABLES)} tables -> {out} (manifest.json: "
                         f"{len(case_ws.fingerprint())} inputs with their hashes)\n")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"]["access_events"]["rows"] == n
    assert main(["export", str(case_path), str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {out}: the folder is not empty; choose an empty or new folder, "
                                       "or replace what it holds with overwrite=True (--overwrite)\n")
    assert main(["export", str(case_path), str(out), "--overwrite"]) == 0
    assert json.loads((out / "manifest.json").read_text())["exported_at"] >= manifest["exported_at"]
