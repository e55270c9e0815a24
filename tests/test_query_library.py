"""Every query of the library on one small hand-written world: exact outputs, NULLs, boundaries,
and every parameter bound (a value with a quote in it matches as a value and injects nothing)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import investigate as inv
from investigate.queries import list_queries

UTC = timezone.utc
REFERENCE = {
    "networks": ("cidr,country,org,site,kind\n"
                 "10.1.0.0/16,US,Corp,us-office,office\n"
                 "10.2.0.0/16,CN,Corp,cn-office,office\n"
                 "2001:db8:2::/48,CN,Corp,cn-office,office\n"
                 "10.9.0.0/16,US,Corp,us-dc,datacenter\n"
                 "10.8.0.0/16,SG,Corp,sg-backup,datacenter\n"
                 "10.7.0.0/16,US,Partner's Cloud,us-partner,cloud\n"
                 "10.6.0.0/16,US,,us-users,users\n"),
    "actors": ("actor_id,display_name,home_country,team,employer,aliases\n"
               "wei,Wei,CN,eng,Corp,wei@corp\nann,Ann,US,eng,Corp,\no'neil,Pat,US,ops,Corp,\n"),
    "assets": ("resource_pattern,data_category,jurisdiction,site\n"
               "s3://us/*,us_data,US,\ndb://us/*,us_data,US,\ns3://x'y/*,odd's,US,\nsite:us-dc,us_data,US,\n"),
}
POLICY = """rules:
  - id: us_rule
    data_category: us_data
    effective_from: "2022-02-01T00:00:00Z"
    access_countries: [US]
    storage_countries: [US]
"""
ACCESSES = [
    # id, ts, actor, ip, resource, outcome, bytes, records
    ("a1", "2022-01-31 23:59:59.999999+00", "wei", "10.2.0.5", "s3://us/1", "success", 10, None),   # before the rule
    ("a2", "2022-02-01 00:00:00+00", "wei@corp", "10.1.0.9", "s3://us/2", "success", None, None),  # jump host: roster
    ("a3", "2022-02-03 00:00:00+00", "ann", "2001:db8:2::7", "s3://us/3", None, 5, None),          # network only
    ("a4", "2022-02-04 00:00:00+00", "wei", "10.2.0.5", "s3://us/1", "failure", 7, None),          # refused
    ("a5", "2022-02-05 00:00:00+00", "ann", "10.1.0.1", "s3://us/1", "success", 1, None),          # domestic
    ("a6", "2022-02-06 00:00:00+00", "ghost", None, "s3://us/1", "success", 1, None),              # cannot be placed
    ("a7", "2022-02-07 00:00:00+00", "wei", "10.2.0.5", "s3://x'y/z", "success", 3, None),         # no rule for odd's
    ("a8", "2022-02-08 00:00:00+00", "o'neil", "10.1.0.2", "db://us/t", "success", 5000, 900),     # bulk, domestic
]
TRANSFERS = [
    # id, start, src, dst, bytes, src_host, dst_host, dataset, outcome
    ("t1", "2022-01-31 23:00:00+00", "10.9.0.1", "10.8.0.1", 100, "db-1", "backup-1", "us_data", "success"),
    ("t2", "2022-02-01 00:00:00+00", "10.9.0.1", "10.8.0.2", 200, "db-1", "backup-2", None, "success"),  # category by site
    ("t3", "2022-02-02 00:00:00+00", "10.9.0.1", "10.8.0.3", 300, "db-1", "backup-3", "us_data", "failure"),
    ("t4", "2022-02-02 01:00:00+00", "10.6.0.5", "10.7.0.9", 400, None, None, None, "success"),   # to the partner
    ("t5", "2022-02-03 00:00:00+00", "10.6.0.6", "10.1.0.3", 600, None, None, None, "success"),   # not the partner
    ("t6", "2022-02-03 01:00:00+00", "10.6.0.7", "203.0.113.5", None, None, None, None, None),    # end unknown
]


def make_world(folder: Path, accesses=ACCESSES, transfers=TRANSFERS, reference=REFERENCE,
               policy: str | None = POLICY) -> inv.Workspace:
    """``folder/world.duckdb`` holding the reference files, the policy and the events given."""
    ws = inv.Workspace.open(folder / "world.duckdb")
    for kind, text in reference.items():
        (folder / f"{kind}.csv").write_text(text)
        inv.load_reference(ws, kind, folder / f"{kind}.csv")
    if policy is not None:
        (folder / "policy.yml").write_text(policy)
        inv.load_reference(ws, "policy", folder / "policy.yml")
    ws.con.executemany("""INSERT INTO access_events (event_id, ts, actor_id, src_ip, resource, outcome, bytes,
                          records, action, source_format, source_file, source_record)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'read', 'test', 'given', 1)""", accesses)
    if transfers:
        ws.con.executemany("""INSERT INTO transfer_events (event_id, ts_start, src_ip, dst_ip, bytes, src_host,
                              dst_host, dataset, outcome, source_format, source_file, source_record)
                              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test', 'given', 1)""", transfers)
    inv.refresh_views(ws)
    return ws


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with make_world(tmp_path_factory.mktemp("world")) as ws:
        yield ws


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rows(df, *columns):
    """The named columns as tuples: NULLs as None, DATE as date, TIMESTAMPTZ as aware datetime."""
    def plain(v):
        if pd.api.types.is_scalar(v) and pd.isna(v):
            return None
        if isinstance(v, pd.Timestamp):
            return v.to_pydatetime() if v.tzinfo else v.date()
        if hasattr(v, "item"):
            return v.item()
        return v
    return [tuple(plain(getattr(r, c)) for c in columns) for r in df.itertuples()]


def test_the_library_holds_every_query_with_its_contract_columns():
    contract = {
        "coverage": "day, table_name, source_format, events",
        "coverage_gaps": "table_name, source_format, gap_start, gap_end, days",
        "cross_border_access": "event_id, ts, actor_id, actor_home_country, src_ip, src_country, src_org, resource, "
                               "data_category, data_jurisdiction, action, outcome, bytes, basis, location_conflict",
        "cross_border_access_summary": "period, access_country, data_category, accesses, actors, resources, bytes, "
                                       "first_ts, last_ts",
        "actor_foreign_access": "actor_id, home_country, team, first_ts, last_ts, accesses, resources, categories",
        "location_conflicts": "event_id, ts, actor_id, actor_home_country, src_ip, src_country, src_site",
        "transfer_routes": "period, src_country, dst_country, dst_org, flows, bytes",
        "partner_share": "period, total_bytes, partner_bytes, share",
        "offshore_copies": "period, dst_country, dst_site, dst_org, flows, bytes, first_ts, last_ts",
        "policy_breaches": "table_name, event_id, ts, rule, who, what, where_from, where_to",
        "bulk_access": "event_id, ts, actor_id, resource, bytes, records, actor_median_bytes",
        "entity_timeline": "ts, table_name, event_id, summary",
    }
    library = {q.name: q for q in list_queries()}
    for name, columns in contract.items():
        assert name in library, name
        assert set(columns.split(", ")) <= set(library[name].returns), name


def test_every_query_returns_the_columns_its_header_promises(world):
    for q in list_queries():
        needed = {name: "wei" for name, p in q.params.items() if p.required}
        df = inv.run_query(world, q.name, **needed)
        assert list(df.columns) == list(q.returns), q.name


def test_cross_border_access(world):
    df = inv.run_query(world, "cross_border_access", category="us_data")
    assert rows(df, "event_id", "actor_id", "actor_home_country", "src_ip", "src_country", "src_org", "data_jurisdiction",
                "outcome", "bytes", "basis", "location_conflict", "roster_actor_id", "access_country") == [
        ("a1", "wei", "CN", "10.2.0.5", "CN", "Corp", "US", "success", 10, "both", False, "wei", "CN"),
        ("a2", "wei@corp", "CN", "10.1.0.9", "US", "Corp", "US", "success", None, "roster", True, "wei", "CN"),
        # a NULL outcome counts as an access; a4 (refused), a5 (domestic), a6 (unknown) do not
        ("a3", "ann", "US", "2001:db8:2::7", "CN", "Corp", "US", None, 5, "network", True, "ann", "CN"),
    ]
    everything = inv.run_query(world, "cross_border_access")
    assert list(everything.event_id) == ["a1", "a2", "a3", "a7"]
    # start inclusive, end exclusive, to the microsecond
    edge = inv.run_query(world, "cross_border_access", start="2022-01-31T23:59:59.999999Z", end="2022-02-01T00:00:00Z")
    assert list(edge.event_id) == ["a1"]
    assert list(inv.run_query(world, "cross_border_access", category="odd's").event_id) == ["a7"]


def test_actor_foreign_access(world):
    df = inv.run_query(world, "actor_foreign_access", category="us_data")
    assert rows(df, "actor_id", "home_country", "team", "first_ts", "last_ts", "accesses", "resources", "categories",
                "by_network", "by_roster", "identities") == [
        ("wei", "CN", "eng", ts("2022-01-31T23:59:59.999999+00:00"), ts("2022-02-01T00:00:00+00:00"), 2, 2, "us_data",
         1, 2, "wei, wei@corp"),
        ("ann", "US", "eng", ts("2022-02-03T00:00:00+00:00"), ts("2022-02-03T00:00:00+00:00"), 1, 1, "us_data", 1, 0, "ann"),
    ]
    every = inv.run_query(world, "actor_foreign_access")
    assert rows(every, "actor_id", "accesses", "categories") == [("wei", 3, "odd's, us_data"), ("ann", 1, "us_data")]
    assert inv.run_query(world, "actor_foreign_access", end="2022-01-31T23:59:59.999999Z").empty


def test_transfer_routes(world):
    df = inv.run_query(world, "transfer_routes")
    assert rows(df, "period", "src_country", "dst_country", "dst_org", "flows", "bytes", "cross_border") == [
        (date(2022, 1, 1), "US", "SG", "Corp", 1, 100, True),
        (date(2022, 2, 1), "US", "SG", "Corp", 1, 200, True),  # t3 failed: not counted
        (date(2022, 2, 1), "US", "US", "Corp", 1, 600, False),
        (date(2022, 2, 1), "US", "US", "Partner's Cloud", 1, 400, False),
        (date(2022, 2, 1), "US", None, None, 1, None, None),   # the unknown end stays in, as NULL
    ]
    daily = inv.run_query(world, "transfer_routes", grain="day", start="2022-02-01T00:00:00Z", end="2022-02-03T00:00:00Z")
    assert rows(daily, "period", "dst_org", "bytes") == [(date(2022, 2, 1), "Corp", 200),
                                                         (date(2022, 2, 2), "Partner's Cloud", 400)]


def test_partner_share(world):
    df = inv.run_query(world, "partner_share", partner_org="Partner's Cloud")
    # user traffic only (one end of kind users): t4 to the partner, t5 elsewhere, t6 to an
    # unknown end with no byte count
    assert rows(df, "period", "total_bytes", "partner_bytes", "share", "flows", "partner_flows") == [
        (date(2022, 2, 1), 1000, 400, 0.4, 3, 1)]
    assert rows(inv.run_query(world, "partner_share", partner_org="Partner's Cloud", end="2022-02-02T01:00:00Z"),
                "total_bytes", "partner_bytes") == []
    assert rows(inv.run_query(world, "partner_share", partner_org="Partner's Cloud", start="2022-02-02T01:00:00Z",
                              end="2022-02-03T00:00:00Z"), "total_bytes", "partner_bytes", "share") == [(400, 400, 1.0)]
    assert rows(inv.run_query(world, "partner_share", partner_org="Partner"), "partner_bytes") == [(0,)]


def test_offshore_copies(world):
    df = inv.run_query(world, "offshore_copies", category="us_data")
    assert rows(df, "period", "dst_country", "dst_site", "dst_org", "flows", "bytes", "first_ts", "jurisdiction") == [
        (date(2022, 1, 1), "SG", "sg-backup", "Corp", 1, 100, ts("2022-01-31T23:00:00+00:00"), "US"),
        # t2 names no dataset: its source site holds us_data; t3 failed
        (date(2022, 2, 1), "SG", "sg-backup", "Corp", 1, 200, ts("2022-02-01T00:00:00+00:00"), "US"),
    ]
    after = inv.run_query(world, "offshore_copies", category="us_data", after="2022-02-01T00:00:00Z")
    assert list(after.bytes) == [200]  # at the instant counts


def test_policy_breaches(world):
    df = inv.run_query(world, "policy_breaches")
    assert rows(df, "table_name", "event_id", "ts", "rule", "who", "what", "where_from", "where_to", "basis") == [
        # the rule takes effect at 2022-02-01 00:00:00: a1 and t1 just before are not breaches
        ("access_events", "a2", ts("2022-02-01T00:00:00+00:00"), "us_rule", "wei", "s3://us/2", "CN", "US", "roster"),
        ("transfer_events", "t2", ts("2022-02-01T00:00:00+00:00"), "us_rule", "db-1", "us_data", "US", "SG", "network"),
        ("access_events", "a3", ts("2022-02-03T00:00:00+00:00"), "us_rule", "ann", "s3://us/3", "CN", "US", "network"),
        # a4 and t3 failed; a6 cannot be placed; a7's category has no rule
    ]
    assert list(inv.run_query(world, "policy_breaches", start="2022-02-01T00:00:00.000001Z").event_id) == ["a3"]


def test_bulk_access(world):
    df = inv.run_query(world, "bulk_access", min_bytes=5000)
    assert rows(df, "event_id", "actor_id", "resource", "bytes", "records", "actor_median_bytes") == [
        ("a8", "o'neil", "db://us/t", 5000, 900, 5000.0)]
    assert inv.run_query(world, "bulk_access", min_bytes=5001).empty
    assert list(inv.run_query(world, "bulk_access", min_bytes=10**12, min_records=900).event_id) == ["a8"]
    # a NULL byte count is never bulk; the median leaves it out
    assert rows(inv.run_query(world, "bulk_access", min_bytes=10), "event_id", "actor_median_bytes") == [
        ("a8", 5000.0), ("a1", 6.5)]


def test_coverage_and_gaps(world):
    df = inv.run_query(world, "coverage", start="2022-02-01T00:00:00Z", end="2022-02-03T00:00:00Z")
    assert rows(df, "day", "table_name", "source_format", "events") == [
        (date(2022, 2, 1), "access_events", "test", 1), (date(2022, 2, 1), "transfer_events", "test", 1),
        (date(2022, 2, 2), "transfer_events", "test", 2)]
    gaps = inv.run_query(world, "coverage_gaps")
    assert rows(gaps, "table_name", "source_format", "gap_start", "gap_end", "days") == [
        ("access_events", "test", date(2022, 2, 2), date(2022, 2, 2), 1)]
    assert inv.run_query(world, "coverage_gaps", min_days=2).empty


def test_location_conflicts(world):
    df = inv.run_query(world, "location_conflicts")
    assert rows(df, "event_id", "actor_id", "actor_home_country", "src_ip", "src_country", "src_site") == [
        ("a2", "wei@corp", "CN", "10.1.0.9", "US", "us-office"),
        ("a3", "ann", "US", "2001:db8:2::7", "CN", "cn-office")]
    assert inv.run_query(world, "location_conflicts", end="2022-02-01T00:00:00Z").empty


def test_entity_timeline(world):
    person = inv.run_query(world, "entity_timeline", entity="wei@corp")  # an alias follows the whole person
    assert rows(person, "event_id", "matched_as") == [("a1", "actor"), ("a2", "actor"), ("a4", "actor"), ("a7", "actor")]
    assert person.summary[1] == "wei@corp read s3://us/2 from 10.1.0.9 (US, us-office)"
    assert person.summary[2] == "wei read s3://us/1 from 10.2.0.5 (CN, cn-office) (refused) (7 bytes)"
    site = inv.run_query(world, "entity_timeline", entity="us-dc", end="2022-02-02T00:00:00Z")
    assert list(site.summary) == ["us_data from db-1 (US, us-dc) to backup-1 (SG, sg-backup) (100 bytes)",
                                  "us_data from db-1 (US, us-dc) to backup-2 (SG, sg-backup) (200 bytes)"]
    unknown_end = inv.run_query(world, "entity_timeline", entity="203.0.113.5")
    assert list(unknown_end.summary) == ["data from 10.6.0.7 (US, us-users) to 203.0.113.5"]
    assert rows(inv.run_query(world, "entity_timeline", entity="s3://x'y/z"), "event_id", "matched_as") == [
        ("a7", "resource")]
    assert list(inv.run_query(world, "entity_timeline", entity="o'neil").event_id) == ["a8"]
    with pytest.raises(inv.QueryError, match="entity_timeline needs the parameter entity"):
        inv.run_query(world, "entity_timeline")


INJECTION = "x' OR '1'='1"


def test_every_parameter_is_bound_and_injects_nothing(world):
    counts = {t: world.count(t) for t in ("access_events", "transfer_events", "actors", "policy")}
    for q in list_queries():
        required = {name: "wei" for name, p in q.params.items() if p.required}
        for name, p in q.params.items():
            given = {**required, name: INJECTION}
            if p.type == "VARCHAR" and not p.choices:
                # the same answer as for any other value that matches nothing
                df = inv.run_query(world, q.name, **given)
                plain = inv.run_query(world, q.name, **{**given, name: "matches nothing"})
                pd.testing.assert_frame_equal(df, plain, obj=f"{q.name}({name})")
            else:  # a typed or listed parameter is checked before DuckDB sees it
                with pytest.raises(inv.QueryError, match=f"parameter {name} must be"):
                    inv.run_query(world, q.name, **given)
    assert counts == {t: world.count(t) for t in counts}


def test_the_query_reference_is_generated_from_the_headers():
    from pathlib import Path

    from investigate.library_docs import library_markdown

    written = (Path(__file__).resolve().parents[1] / "docs" / "queries.md").read_text(encoding="utf-8")
    assert written == library_markdown(), "docs/queries.md is out of date: run `make docs`"


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_write_query_writes_every_row_as_run_query_returns_it(world, tmp_path, suffix):
    out = tmp_path / f"listing{suffix}"
    expected = inv.run_query(world, "cross_border_access")
    assert inv.write_query(world, "cross_border_access", out) == len(expected) > 0
    if suffix == ".parquet":
        got = pd.read_parquet(out)
    elif suffix == ".csv":
        got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    else:
        got = pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    assert list(got.columns) == list(expected.columns)
    assert got["event_id"].tolist() == expected["event_id"].tolist()
    assert got["bytes"].fillna(-1).astype(int).tolist() == expected["bytes"].fillna(-1).astype(int).tolist()
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    else:  # times as text, in UTC
        assert got["ts"].str[:19].str.replace("T", " ").tolist() == \
            expected["ts"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()


def test_write_query_leaves_no_file_on_an_error(world, tmp_path):
    out = tmp_path / "timeline.csv"
    with pytest.raises(inv.QueryError, match="entity"):
        inv.write_query(world, "entity_timeline", out)
    assert not out.exists()
    with pytest.raises(inv.QueryError):
        inv.write_query(world, "cross_border_access", out, start="not a time")
    assert not out.exists()
