"""Data checks: each rule given tiny hand-written rows, with the exact rows that break it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import investigate as inv
from investigate.checks import list_checks
from investigate.cli import main

from .conftest import SAMPLES
from .test_case import case_ws  # noqa: F401  (the sample case's workspace, built once per module)

CHECKS = ["absurd_transfer_bytes", "actors_missing_from_roster", "duplicate_event_ids",
          "events_outside_ingest_range", "networks_overlapping_at_equal_prefix",
          "resources_without_catalogue_entry"]


def plain(value):
    """A DataFrame cell as a plain value: timestamps as UTC ISO text, NULLs as None."""
    if isinstance(value, (list, np.ndarray)):
        return [plain(v) for v in value]
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").isoformat().removesuffix("+00:00")
    if isinstance(value, np.integer):
        return int(value)
    return value


def got(df: pd.DataFrame) -> list[tuple]:
    return [tuple(plain(v) for v in row) for row in df.itertuples(index=False)]


def access(ws, rows):
    """Access events (event_id, ts, actor_id, resource, outcome, source_file)."""
    ws.con.executemany("""INSERT INTO access_events (event_id, ts, actor_id, resource, outcome,
                          source_format, source_file, source_record) VALUES (?, ?, ?, ?, ?, 'test', ?, 1)""", rows)


def transfers(ws, rows):
    """Transfers (event_id, ts_start, ts_end, bytes, source_file)."""
    ws.con.executemany("""INSERT INTO transfer_events (event_id, ts_start, ts_end, bytes, source_format,
                          source_file, source_record) VALUES (?, ?, ?, ?, 'test', ?, 1)""", rows)


def reference(ws, tmp_path, kind, text, name=None, **kwargs):
    path = tmp_path / (name or f"{kind}.csv")
    path.write_text(text)
    return inv.load_reference(ws, kind, path, **kwargs)


def test_every_check_states_its_rule_parameters_and_columns(ws):
    checks = list_checks()
    assert [c.name for c in checks] == CHECKS
    for c in checks:
        assert c.rule.endswith(".") and c.returns and c.caveats, c.name
        for name in c.params:
            assert f"${name}" in c.text, f"{c.name} declares {name} but never binds it"
        # the columns a check returns are the ones its header names, even with nothing to report
        assert tuple(inv.run_check(ws, c.name).columns) == c.returns, c.name
    assert set(inv.run_checks(ws).columns) == {"check", "rule", "violations", "passed"}


# --------------------------------------------------------------------- events_outside_ingest_range

def ingest_row(ws, path, table, ts_min, ts_max, sha):
    ws.con.execute("""INSERT INTO ingests (path, sha256, bytes, format, target_table, loader_version,
                      ts_min, ts_max, loaded_at) VALUES (?, ?, 1, 'test', ?, 'test/1', ?, ?, now())""",
                   [path, sha, table, ts_min, ts_max])


def test_events_outside_ingest_range_given_expect(ws):
    ingest_row(ws, "a.csv", "access_events", "2022-01-01 00:00:00+00", "2022-01-31 23:59:59+00", "1")
    ingest_row(ws, "norange.csv", "access_events", None, None, "2")          # no range recorded
    ingest_row(ws, "t.csv", "transfer_events", "2022-03-01 00:00:00+00", "2022-03-02 00:00:00+00", "3")
    # a path ingested twice (the file changed between loads): the envelope of both ranges
    ingest_row(ws, "twice.csv", "access_events", "2022-01-01 00:00:00+00", "2022-01-02 00:00:00+00", "4")
    ingest_row(ws, "twice.csv", "access_events", "2022-01-05 00:00:00+00", "2022-01-06 00:00:00+00", "5")
    access(ws, [
        ("at_min", "2022-01-01 00:00:00+00", "u", None, None, "a.csv"),           # boundaries pass
        ("at_max", "2022-01-31 23:59:59+00", "u", None, None, "a.csv"),
        ("after", "2022-01-31 23:59:59.000001+00", "u", None, None, "a.csv"),     # 1 us after: fails
        ("before", "2021-12-31 23:59:59.999999+00", "u", None, None, "a.csv"),    # 1 us before: fails
        ("orphan", "2022-01-10 00:00:00+00", "u", None, None, "nowhere.csv"),     # on no ingest record
        ("unranged", "2022-01-10 00:00:00+00", "u", None, None, "norange.csv"),   # NULL range
        ("between", "2022-01-03 12:00:00+00", "u", None, None, "twice.csv"),      # inside the envelope
        ("wrong_table", "2022-03-01 12:00:00+00", "u", None, None, "t.csv"),      # t.csv fed transfers
    ])
    transfers(ws, [
        ("t_in", "2022-03-02 00:00:00+00", "2022-03-03 00:00:00+00", 1, "t.csv"),  # ts_start decides
        ("t_out", "2022-03-02 00:00:00.000001+00", None, 1, "t.csv"),
    ])
    df = inv.run_check(ws, "events_outside_ingest_range")
    assert got(df) == [
        ("access_events", "before", "2021-12-31T23:59:59.999999", "a.csv", "2022-01-01T00:00:00", "2022-01-31T23:59:59"),
        ("access_events", "after", "2022-01-31T23:59:59.000001", "a.csv", "2022-01-01T00:00:00", "2022-01-31T23:59:59"),
        ("access_events", "unranged", "2022-01-10T00:00:00", "norange.csv", None, None),
        ("access_events", "orphan", "2022-01-10T00:00:00", "nowhere.csv", None, None),
        ("access_events", "wrong_table", "2022-03-01T12:00:00", "t.csv", None, None),
        ("transfer_events", "t_out", "2022-03-02T00:00:00.000001", "t.csv", "2022-03-01T00:00:00", "2022-03-02T00:00:00"),
    ]


def test_events_outside_ingest_range_links_rows_to_their_loaded_file(ws, tmp_path):
    # through the loader: the row's source_file is the ingest's path; a row moved afterwards shows
    jobs = tmp_path / "jobs.csv"
    jobs.write_text((SAMPLES / "exports/backup_jobs.csv").read_text().splitlines(True)[0] +
                    "j1,d,h1,10.0.0.1,h2,10.0.0.2,2022-01-01T00:00:00+00:00,2022-01-01T00:01:00+00:00,5,success\n"
                    "j2,d,h1,10.0.0.1,h2,10.0.0.2,2022-01-02T00:00:00+00:00,,7,success\n")
    inv.ingest_file(ws, jobs, "csv", mapping=SAMPLES / "mappings/backup_jobs.yml")
    assert inv.run_check(ws, "events_outside_ingest_range").empty
    ws.con.execute("UPDATE transfer_events SET ts_start = ts_start + INTERVAL 1 MICROSECOND WHERE event_id = 'j2'")
    assert got(inv.run_check(ws, "events_outside_ingest_range")) == [
        ("transfer_events", "j2", "2022-01-02T00:00:00.000001", str(jobs.absolute()),
         "2022-01-01T00:00:00", "2022-01-02T00:00:00")]


# ----------------------------------------------------------------------------- duplicate_event_ids

def test_duplicate_event_ids_given_expect(ws):
    access(ws, [
        ("x", "2022-01-01 00:00:00+00", "u", None, None, "f1"),
        ("x", "2022-01-01 00:00:00+00", "u", None, None, "f1"),     # twice in one file
        ("y", "2022-01-01 00:00:00+00", "u", None, None, "f2"),
        ("y", "2022-01-02 00:00:00+00", "u", None, None, "f1"),     # across files...
        ("y", "2022-01-03 00:00:00+00", "u", None, None, "f2"),     # ...three times
        ("X", "2022-01-01 00:00:00+00", "u", None, None, "f1"),     # not x: ids are exact
        ("once", "2022-01-01 00:00:00+00", "u", None, None, "f1"),  # once: fine
    ])
    transfers(ws, [
        ("x", "2022-01-01 00:00:00+00", None, 1, "f3"),              # x in another table: fine
        ("t", "2022-01-01 00:00:00+00", None, 1, "f3"),
        ("t", "2022-01-01 00:00:00+00", None, 1, "f4"),
    ])
    assert got(inv.run_check(ws, "duplicate_event_ids")) == [
        ("access_events", "y", 3, ["f1", "f2"]),
        ("access_events", "x", 2, ["f1"]),
        ("transfer_events", "t", 2, ["f3", "f4"]),
    ]


# --------------------------------------------------------------------------- absurd_transfer_bytes

T0 = "2022-01-01 00:00:00+00"


def test_absurd_transfer_bytes_given_expect(ws):
    transfers(ws, [
        ("neg", T0, "2022-01-01 00:00:10+00", -1, "f"),
        ("null", T0, "2022-01-01 00:00:10+00", None, "f"),                    # not judged
        ("zero", T0, T0, 0, "f"),
        # 100 Gbit/s over 10 s is 125 GB: exactly at max_gbps passes, one byte more fails...
        ("at_rate", T0, "2022-01-01 00:00:10+00", 125_000_000_000, "f"),
        ("over_rate", T0, "2022-01-01 00:00:10+00", 125_000_000_001, "f"),
        # ...unless the flow lasted a microsecond longer (the duration counts to the microsecond)
        ("longer", T0, "2022-01-01 00:00:10.000001+00", 125_000_000_001, "f"),
        # a zero duration counts as min_seconds (1 s): 12.5 GB is exactly 100 Gbit/s
        ("instant", T0, T0, 12_500_000_000, "f"),
        ("instant_over", T0, T0, 12_500_000_001, "f"),
        # no rate without a duration: only max_bytes (10^15, exactly at it passes)
        ("no_end", T0, None, 1_000_000_000_000_000, "f"),
        ("no_end_over", T0, None, 1_000_000_000_000_001, "f"),
        ("inverted", T0, "2021-12-31 00:00:00+00", 999_000_000_000_000, "f"),
        ("both", "2022-01-02 00:00:00+00", "2022-01-02 00:00:01+00", 2_000_000_000_000_000, "f"),
    ])
    df = inv.run_check(ws, "absurd_transfer_bytes")
    assert got(df) == [
        ("instant_over", "2022-01-01T00:00:00", "2022-01-01T00:00:00", 12_500_000_001, "100 Gbit/s, above max_gbps"),
        ("neg", "2022-01-01T00:00:00", "2022-01-01T00:00:10", -1, "negative bytes"),
        ("no_end_over", "2022-01-01T00:00:00", None, 1_000_000_000_000_001, "more than max_bytes in one transfer"),
        ("over_rate", "2022-01-01T00:00:00", "2022-01-01T00:00:10", 125_000_000_001, "100 Gbit/s, above max_gbps"),
        ("both", "2022-01-02T00:00:00", "2022-01-02T00:00:01", 2_000_000_000_000_000,
         "more than max_bytes in one transfer; 1.6e+07 Gbit/s, above max_gbps"),
    ]
    # parameters move the thresholds; NULL switches a test off
    assert list(inv.run_check(ws, "absurd_transfer_bytes", max_gbps=None, max_bytes=None).event_id) == ["neg"]
    # a zero duration taken as half a second: 12.5 GB in it is 200 Gbit/s (text from the CLI works)
    half = inv.run_check(ws, "absurd_transfer_bytes", min_seconds="0.5", max_gbps="100", max_bytes=None)
    assert dict(zip(half.event_id, half.reason))["instant"] == "200 Gbit/s, above max_gbps"
    assert list(inv.run_check(ws, "absurd_transfer_bytes", max_gbps=1000, max_bytes=2 * 10**15).event_id) == [
        "neg", "both"]


# ---------------------------------------------------------------------- actors_missing_from_roster

ROSTER = ("actor_id,display_name,home_country,team,employer,aliases\n"
          "wei,Wei,CN,eng,Corp,wei@corp\no'brien,Pat,IE,eng,Corp,\n")


def test_actors_missing_from_roster_given_expect(ws, tmp_path):
    reference(ws, tmp_path, "actors", ROSTER)
    access(ws, [
        ("a1", "2022-01-01 00:00:00+00", "wei", None, "success", "f"),        # roster id
        ("a2", "2022-01-02 00:00:00+00", "wei@corp", None, "success", "f"),   # alias
        ("a3", "2022-01-03 00:00:00+00", "o'brien", None, "success", "f"),    # a quote in the name
        ("a4", "2022-01-04 00:00:00+00", "Wei", None, "success", "f"),        # not wei: exact match
        ("a5", "2022-01-05 00:00:00+00", "ghost", None, "failure", "f"),      # refused ones count
        ("a6", "2022-01-06 00:00:00.5+00", "ghost", None, None, "f"),
        ("a7", "2022-01-07 00:00:00+00", None, None, "success", "f"),         # no actor: not here
    ])
    assert got(inv.run_check(ws, "actors_missing_from_roster")) == [
        ("ghost", 2, "2022-01-05T00:00:00", "2022-01-06T00:00:00.500000"),
        ("Wei", 1, "2022-01-04T00:00:00", "2022-01-04T00:00:00"),
    ]


def test_actors_missing_from_roster_without_a_roster_reports_every_actor(ws):
    access(ws, [("a1", "2022-01-01 00:00:00+00", "wei", None, None, "f"),
                ("a2", "2022-01-02 00:00:00+00", None, None, None, "f")])
    assert got(inv.run_check(ws, "actors_missing_from_roster")) == [
        ("wei", 1, "2022-01-01T00:00:00", "2022-01-01T00:00:00")]


# --------------------------------------------------------------- resources_without_catalogue_entry

CATALOGUE = ("resource_pattern,data_category,jurisdiction,site\n"
             "s3://us/*,us_data,US,\ns3://x'y/*,odd's,US,\ns3://one/?,one,US,\n")


def test_resources_without_catalogue_entry_given_expect(ws, tmp_path):
    reference(ws, tmp_path, "assets", CATALOGUE)
    access(ws, [
        ("a1", "2022-01-01 00:00:00+00", "u", "s3://us/1", "success", "f"),
        ("a2", "2022-01-02 00:00:00+00", "u", "s3://x'y/z", "success", "f"),   # a quote in the pattern
        ("a3", "2022-01-03 00:00:00+00", "u", "s3://one/a", "success", "f"),   # ? is one character...
        ("a4", "2022-01-04 00:00:00+00", "u", "s3://one/ab", "failure", "f"),  # ...not two
        ("a5", "2022-01-05 00:00:00+00", "u", "s3://other/1", None, "f"),
        ("a6", "2022-01-06 00:00:00+00", "u", "s3://other/1", None, "f"),
        ("a7", "2022-01-07 00:00:00+00", "u", None, "success", "f"),           # a login: no resource
    ])
    inv.refresh_views(ws)  # looks up the resources of rows written outside the loaders
    assert got(inv.run_check(ws, "resources_without_catalogue_entry")) == [
        ("s3://other/1", 2, "2022-01-05T00:00:00", "2022-01-06T00:00:00"),
        ("s3://one/ab", 1, "2022-01-04T00:00:00", "2022-01-04T00:00:00"),
    ]
    # a row written and not yet looked up counts as unmatched, as the enriched views see it
    access(ws, [("a8", "2022-01-08 00:00:00+00", "u", "s3://us/2", None, "f")])
    assert "s3://us/2" in set(inv.run_check(ws, "resources_without_catalogue_entry").resource)


def test_resources_without_catalogue_entry_without_a_catalogue_reports_every_resource(ws):
    access(ws, [("a1", "2022-01-01 00:00:00+00", "u", "s3://us/1", None, "f"),
                ("a2", "2022-01-02 00:00:00+00", "u", None, None, "f")])
    inv.refresh_views(ws)
    assert got(inv.run_check(ws, "resources_without_catalogue_entry")) == [
        ("s3://us/1", 1, "2022-01-01T00:00:00", "2022-01-01T00:00:00")]


# ------------------------------------------------------------ networks_overlapping_at_equal_prefix

def aws_ranges(token: str, region: str) -> str:
    return json.dumps({"syncToken": token, "createDate": "2023-11-14-22-13-07", "ipv6_prefixes": [],
                       "prefixes": [{"ip_prefix": "52.94.0.0/15", "region": region, "service": "AMAZON",
                                     "network_border_group": region}]})


def test_networks_overlapping_at_equal_prefix_given_expect(ws, tmp_path):
    header = "cidr,country,org,site,kind\n"
    reference(ws, tmp_path, "networks", header +
              "10.0.0.0/8,US,Corp,a,office\n"
              "10.1.0.0/16,US,Corp,b,office\n"
              "10.2.0.0/16,US,Corp,,office\n"
              "10.3.0.0/16,US,Corp,c,office\n10.3.0.0/16,CN,Corp,c,office\n"   # the same file, twice
              "10.4.0.0/16,US,Corp,d,office\n"
              "52.94.0.0/15,IE,Corp,dub,office\n", name="one.csv")
    reference(ws, tmp_path, "networks", header +
              "10.0.0.1/8,US,Corp,a,office\n"      # the same prefix (host bits), the same answer
              "10.1.0.0/16,CN,Corp,b,office\n"     # another country: the later file wins
              "10.2.0.0/16,US,Corp,,office\n"      # the same answer, NULL site on both: fine
              "10.2.0.0/17,CN,Corp,e,office\n"     # more specific: layering, not a conflict
              "10.4.0.0/16,,Corp,d,office\n", name="two.csv")   # no country against US: differs
    # cloud files: against the inventory (another precedence) no conflict; two versions of the
    # AWS file that disagree share precedence 20
    reference(ws, tmp_path, "networks", aws_ranges("1", "us-east-1"), name="aws1.json")
    reference(ws, tmp_path, "networks", aws_ranges("2", "eu-west-1"), name="aws2.json")
    df = inv.run_check(ws, "networks_overlapping_at_equal_prefix")
    assert got(df) == [
        ("10.1.0.0/16", 10, 2, ["inventory:one.csv", "inventory:two.csv"], [1, 2], ["US", "CN"],
         ["Corp", "Corp"], ["b", "b"], ["office", "office"]),
        ("10.3.0.0/16", 10, 2, ["inventory:one.csv", "inventory:one.csv"], [1, 1], ["US", "CN"],
         ["Corp", "Corp"], ["c", "c"], ["office", "office"]),
        ("10.4.0.0/16", 10, 2, ["inventory:one.csv", "inventory:two.csv"], [1, 2], ["US", None],
         ["Corp", "Corp"], ["d", "d"], ["office", "office"]),
        ("52.94.0.0/15", 20, 2, ["aws:AWS ip-ranges.json", "aws:AWS ip-ranges.json"], [3, 4], ["US", "IE"],
         ["Amazon Web Services", "Amazon Web Services"], ["us-east-1", "eu-west-1"], ["aws:amazon", "aws:amazon"]),
    ]
    # the lists are in load order, the last the answer in force
    located = ws.sql("SELECT site, country FROM network_ranges WHERE scope = 'all' AND cidr = '10.3.0.0/16'").fetchall()
    assert located == [("c", "CN")]


# ---------------------------------------------------------------------------- parameters and errors

def test_every_parameter_is_bound_not_pasted(ws):
    transfers(ws, [("t1", T0, "2022-01-01 00:00:10+00", 5, "f")])
    hostile = "1'); DROP TABLE transfer_events; --"
    seen = 0
    for check in list_checks():
        for name in check.params:
            seen += 1
            try:
                inv.run_check(ws, check.name, **{name: hostile})
            except inv.QueryError as exc:  # a number refuses the text; nothing reached SQL
                assert str(exc) == (f"check {check.name}: parameter {name} must be a "
                                    f"{check.params[name].type}; got {hostile!r}")
    assert seen == 3
    assert ws.count("transfer_events") == 1


def test_unknown_checks_and_parameters_raise_query_error(ws):
    with pytest.raises(inv.QueryError, match="no check named 'nope'; known checks: absurd_transfer_bytes, "):
        inv.run_check(ws, "nope")
    with pytest.raises(inv.QueryError, match="not a check name"):
        inv.run_check(ws, "../queries/coverage")
    with pytest.raises(inv.QueryError, match="check duplicate_event_ids takes no parameter limit; it takes: none"):
        inv.run_check(ws, "duplicate_event_ids", limit=3)
    with pytest.raises(inv.QueryError, match="check absurd_transfer_bytes: parameter max_gbps must be a DOUBLE; got 'fast'"):
        inv.run_check(ws, "absurd_transfer_bytes", max_gbps="fast")


def test_run_checks_one_row_per_check(ws):
    access(ws, [("a1", "2022-01-01 00:00:00+00", "ghost", None, None, "f"),
                ("a1", "2022-01-01 00:00:00+00", "ghost", None, None, "f")])
    df = inv.run_checks(ws)
    assert list(df.columns) == ["check", "rule", "violations", "passed"]
    assert df.violations.dtype == "int64" and df.passed.dtype == "bool"
    # no roster: the unknown actor; the same id twice; rows on no ingest record
    assert [(r.check, r.violations, r.passed) for r in df.itertuples()] == [
        ("absurd_transfer_bytes", 0, True), ("actors_missing_from_roster", 1, False),
        ("duplicate_event_ids", 1, False), ("events_outside_ingest_range", 2, False),
        ("networks_overlapping_at_equal_prefix", 0, True), ("resources_without_catalogue_entry", 0, True)]
    assert list(df.rule) == [c.rule for c in list_checks()]


# --------------------------------------------------------------------------------- the sample case

def test_sample_case_checks(case_ws):  # noqa: F811
    counts = dict(zip(*(inv.run_checks(case_ws)[c] for c in ("check", "violations"))))
    assert counts == {
        "absurd_transfer_bytes": 0,           # every flow < 1.4 Gbit/s, every job < 1 GB
        # the platform audit log names unknown principals in refused logins (README: "an unknown
        # name (admin, root, ...)"): four identities, in no roster by design
        "actors_missing_from_roster": 4,
        "duplicate_event_ids": 0,
        "events_outside_ingest_range": 0,
        "networks_overlapping_at_equal_prefix": 0,  # the jump host's /32 and the /17 halves of
                                                    # Ironbridge Cloud nest: layering, not conflict
        "resources_without_catalogue_entry": 0,     # logins carry no resource in the CSV exports
    }
    unknown = inv.run_check(case_ws, "actors_missing_from_roster")
    assert [(r.actor_id, r.events) for r in unknown.itertuples()] == [
        ("test", 55), ("oracle", 41), ("admin", 38), ("root", 38)]
    tried = case_ws.sql("""SELECT DISTINCT action, outcome, source_file FROM access_events
                           WHERE actor_id IN ('test', 'oracle', 'admin', 'root')""").fetchall()
    assert [(a, o, f.rsplit("/", 1)[-1]) for a, o, f in tried] == [("login", "failure", "access_platform_audit.csv")]


# ------------------------------------------------------------------------------------------- CLI

def test_check_command_exit_codes_and_table(tmp_path, capsys):
    path = tmp_path / "ws.duckdb"
    with inv.Workspace.open(path):
        pass
    rules = {c.name: c.rule for c in list_checks()}
    assert main(["check", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "check                                 violations  result  rule"
    assert lines[1:] == [f"{name:<36}  {0:>10}  pass    {rules[name]}" for name in CHECKS] + ["all 6 checks passed"]

    with inv.Workspace.open(path) as ws:
        access(ws, [("a1", "2022-01-01 00:00:00+00", "ghost", None, "failure", "f"),
                    ("a2", "2022-01-02 00:00:00+00", "ghost", None, "failure", "f")])
    assert main(["check", str(path), "--show", "1"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[2] == f"{'actors_missing_from_roster':<36}  {1:>10}  FAIL    {rules['actors_missing_from_roster']}"
    assert out[4] == f"{'events_outside_ingest_range':<36}  {2:>10}  FAIL    {rules['events_outside_ingest_range']}"
    assert out[7] == "4 of 6 checks passed"
    assert out[8:] == [
        "", "actors_missing_from_roster: 1 of 1 violating rows",
        "  actor_id  events                  first_ts                   last_ts",
        "     ghost       2 2022-01-01 00:00:00+00:00 2022-01-02 00:00:00+00:00",
        "", "events_outside_ingest_range: 1 of 2 violating rows",
        "     table_name event_id                        ts source_file ingest_ts_min ingest_ts_max",
        "  access_events       a1 2022-01-01 00:00:00+00:00           f          NULL          NULL",
    ]
    assert main(["check", str(path), "--show", "-1"]) == 2
    assert capsys.readouterr().err == "error: --show takes a number of rows, 0 or more; got -1\n"
    assert main(["check", str(tmp_path / "missing.duckdb")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'missing.duckdb'}: cannot open the workspace")
