"""The fictional case from its native logs (case_native.yml): the same planted facts as case.yml.

case_native.yml loads the access events as the systems themselves logged them (CloudTrail,
PostgreSQL/pgaudit, nginx) instead of the two access CSVs; edge flows and backups are the same
exports. Every fact of ground_truth.json must come out the same, through the same queries as
tests/test_case.py, except what a database log cannot show: the bytes of a table export.

Two differences in how the facts are read:
- pgaudit AUDIT entries have no outcome (NULL: the statement started, pgaudit does not say how it
  ended); the queries count a NULL outcome as an access, so the SQL here says
  ``outcome IS DISTINCT FROM 'failure'`` where tests/test_case.py says ``outcome = 'success'``;
- there are three access formats, so gaps are looked for per format as well as in all of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import investigate as inv

from .facts import assert_offshore_backups, assert_partner_share, iso
from .conftest import SAMPLES

NATIVE_FORMATS = ["cloudtrail", "pgaudit", "web_access"]
ACCESS = "outcome IS DISTINCT FROM 'failure'"


@pytest.fixture(scope="module")
def native_ws():
    with inv.Workspace.open() as ws:
        ws.load = inv.ingest_case(ws, SAMPLES / "case_native.yml")
        yield ws


@pytest.fixture(scope="module")
def csv_ws():
    with inv.Workspace.open() as ws:
        inv.ingest_case(ws, SAMPLES / "case.yml")
        yield ws



def day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def rel(path) -> str:
    return Path(path).relative_to(SAMPLES.absolute()).as_posix()


# -- what was read ---------------------------------------------------------------------------------

def test_every_native_file_is_accounted_for(native_ws, ground_truth):
    results = native_ws.load.results
    got = {rel(r.path): {"read": r.rows_read, "loaded": r.rows_loaded, "rejected": r.rows_rejected}
           for r in results if not r.skipped}
    assert got == ground_truth["native_rows"]
    skipped = [r for r in results if r.skipped]
    assert sorted(rel(r.path) for r in skipped) == ground_truth["native_skipped"]
    assert all("digest" in r.note for r in skipped)
    assert {r.format for r in results if not r.skipped} == {*NATIVE_FORMATS, "jsonl", "transfer_jobs"}
    stored = native_ws.sql("SELECT count(*), sum(rows_read), sum(rows_loaded) + sum(rows_rejected) "
                           "FROM ingests").fetchone()
    total = sum(v["read"] for v in ground_truth["native_rows"].values())
    assert stored == (len(ground_truth["native_rows"]), total, total)


def test_malformed_records_are_rejected_at_their_record_numbers(native_ws, ground_truth):
    got = native_ws.sql("SELECT source_file, source_record FROM rejects ORDER BY 1, 2").fetchall()
    assert sorted((rel(f), r) for f, r in got) == sorted(
        (r["file"], r["record"]) for r in ground_truth["native_rejects"])
    assert native_ws.sql("SELECT count(*) FROM rejects WHERE reason IS NULL OR reason = ''").fetchone() == (0,)


def test_access_events_as_in_the_csv_exports(native_ws, ground_truth):
    truth = ground_truth["access_events"]
    rows, failed, accesses = native_ws.sql(f"""
        SELECT count(*), count(*) FILTER (WHERE outcome = 'failure'), count(*) FILTER (WHERE {ACCESS})
        FROM access_events""").fetchone()
    assert (rows, failed, accesses) == (truth["rows"], truth["failed"], truth["accesses"])
    assert {f for (f,) in native_ws.sql("SELECT DISTINCT source_format FROM access_events").fetchall()} == \
        set(NATIVE_FORMATS)
    us = native_ws.sql(f"SELECT count(*) FROM access_enriched WHERE data_category = 'us_user_data' "
                       f"AND {ACCESS}").fetchone()[0]
    assert us == ground_truth["us_user_data_accesses"]


# -- the planted facts ------------------------------------------------------------------------------

def test_china_based_staff_accessing_us_user_data(native_ws, ground_truth):
    truth = ground_truth["cn_staff_access"]
    df = inv.run_query(native_ws, "cross_border_access_summary", category="us_user_data", grain="month")
    cn = df[df.access_country == "CN"]
    assert int(cn.accesses.sum()) == truth["total"]
    assert {str(p)[:7]: int(n) for p, n in zip(cn.period, cn.accesses)} == truth["by_month"]
    assert iso(cn.first_ts.min()) == truth["first_ts"]
    assert iso(cn.last_ts.max()) == truth["last_ts"]
    after = inv.run_query(native_ws, "cross_border_access_summary", category="us_user_data",
                          start=ground_truth["case"]["promise_date"])
    assert int(after[after.access_country == "CN"].accesses.sum()) == truth["after_promise"]
    actors = native_ws.sql(f"""SELECT DISTINCT roster_actor_id FROM access_enriched WHERE access_country = 'CN'
                               AND data_category = 'us_user_data' AND {ACCESS} ORDER BY 1""").fetchall()
    assert [a for (a,) in actors] == truth["actors"]


def test_cross_border_totals_by_country_and_basis(native_ws, ground_truth):
    df = inv.run_query(native_ws, "cross_border_access_summary", category="us_user_data")
    by_country = df.groupby("access_country").accesses.sum().astype(int).to_dict()
    assert by_country == ground_truth["access_by_country"]
    for country, months in ground_truth["access_by_country_by_month"].items():
        rows = df[df.access_country == country]
        assert {str(p)[:7]: int(n) for p, n in zip(rows.period, rows.accesses)} == months
    basis = dict(native_ws.sql(f"""SELECT cross_border_basis, count(*) FROM access_enriched
                                   WHERE cross_border AND data_category = 'us_user_data'
                                     AND {ACCESS} GROUP BY 1""").fetchall())
    assert basis == ground_truth["cross_border_by_basis"]


def test_partner_share_rises_to_near_all(native_ws, ground_truth):
    assert_partner_share(native_ws, ground_truth)


def test_backups_still_copied_offshore_after_the_promise(native_ws, ground_truth):
    assert_offshore_backups(native_ws, ground_truth)


def test_one_bulk_export_by_its_rows(native_ws, ground_truth):
    """pgaudit logs rows, not bytes: the export shows by its 151 million rows, not its 48 GB."""
    truth = ground_truth["bulk_export"]
    df = inv.run_query(native_ws, "bulk_access", min_records=100_000_000)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.actor_id, row.roster_actor_id, row.resource, int(row.records), iso(row.ts), row.action) == (
        truth["principal"], truth["actor_id"], truth["resource"], truth["records"], truth["ts"], "export")
    assert pd.isna(row.bytes) and pd.isna(row.outcome)
    # No other event comes near it, by rows; and no event at all reports 1 GB or more.
    assert len(inv.run_query(native_ws, "bulk_access", min_records=2_000_000)) == 1
    assert inv.run_query(native_ws, "bulk_access", min_bytes=1_000_000_000).empty
    # (Other table exports lose their bytes too, so the largest size left may be smaller still.)
    largest = native_ws.sql(f"SELECT max(bytes) FROM access_events WHERE {ACCESS}").fetchone()[0]
    assert largest <= truth["next_largest_bytes"] < 1_000_000_000


def test_jump_host_shows_as_location_conflict_counted_under_roster(native_ws, ground_truth):
    truth = ground_truth["jump_host"]
    conflicts = inv.run_query(native_ws, "location_conflicts")
    assert len(conflicts) == ground_truth["location_conflicts"]
    via_jump = native_ws.df(f"""SELECT roster_actor_id, ts, cross_border_basis, src_country, actor_home_country
                                FROM access_enriched WHERE src_site = ? AND data_category = 'us_user_data'
                                  AND {ACCESS} ORDER BY ts""", [truth["site"]])
    assert len(via_jump) == truth["accesses"]
    assert sorted(via_jump.roster_actor_id.unique()) == truth["actors"]
    assert set(via_jump.cross_border_basis) == {"roster"}
    assert set(zip(via_jump.src_country, via_jump.actor_home_country)) == {("US", "CN")}
    assert (iso(via_jump.ts.min()), iso(via_jump.ts.max())) == (truth["first_ts"], truth["last_ts"])


def test_gap_in_the_access_logs(native_ws, ground_truth):
    truth = ground_truth["access_log_gap"]
    # Every log falls silent for the planted outage (the gateway's quiet single days aside) ...
    gaps = inv.run_query(native_ws, "coverage_gaps", min_days=2)
    access = gaps[gaps.table_name == "access_events"]
    assert [(r.source_format, day(r.gap_start), day(r.gap_end), int(r.days)) for r in access.itertuples()] == [
        (f, truth["start"], truth["end"], truth["days"]) for f in NATIVE_FORMATS]
    # ... and the days without any access event, in any log, are the ground truth's.
    coverage = inv.run_query(native_ws, "coverage")
    busy = {day(d) for d in coverage[coverage.table_name == "access_events"].day}
    period = pd.date_range(ground_truth["case"]["period_start"][:10], ground_truth["case"]["period_end"][:10],
                           inclusive="left")
    assert [day(d) for d in period if day(d) not in busy] == truth["all_days_without_events"]


# -- the twins --------------------------------------------------------------------------------------

def test_cloudtrail_events_are_the_audit_rows(native_ws, csv_ws):
    """Each CloudTrail event is a row of the platform audit CSV: same id, time, actor, address, outcome."""
    trail = native_ws.df("SELECT event_id, ts, actor_id, src_ip, outcome FROM access_events "
                         "WHERE source_format = 'cloudtrail' ORDER BY event_id")
    ids = trail.event_id.tolist()
    twins = csv_ws.df("SELECT event_id, ts, actor_id, src_ip, outcome FROM access_events "
                      "WHERE event_id IN (SELECT unnest(?)) ORDER BY event_id", [ids])
    assert len(trail) > 10_000 and trail.event_id.is_unique
    pd.testing.assert_frame_equal(trail.reset_index(drop=True), twins.reset_index(drop=True))


def test_events_per_actor_and_day_are_the_same(native_ws, csv_ws):
    query = """SELECT actor_id, CAST(timezone('UTC', ts) AS DATE) AS day, count(*) AS events,
                      count(*) FILTER (WHERE outcome = 'failure') AS failed
               FROM access_events GROUP BY ALL ORDER BY ALL"""
    assert native_ws.sql(query).fetchall() == csv_ws.sql(query).fetchall()


def test_reingesting_the_case_adds_nothing(native_ws):
    before = {t: native_ws.count(t) for t in ("access_events", "transfer_events", "rejects", "ingests",
                                              "networks", "actors", "assets", "policy")}
    again = inv.ingest_case(native_ws, SAMPLES / "case_native.yml")
    assert all(r.skipped for r in again.results)
    assert set(again.reference_rows.values()) == {0}
    assert {t: native_ws.count(t) for t in before} == before
