"""The fictional case through the Python API: every planted fact, exactly as ground_truth.json says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import investigate as inv

from .facts import assert_offshore_backups, assert_partner_share, iso
from .conftest import SAMPLES


@pytest.fixture(scope="module")
def case_ws():
    with inv.Workspace.open() as ws:
        load = inv.ingest_case(ws, SAMPLES)
        ws.load = load
        yield ws



def day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def test_every_export_is_accounted_for(case_ws, ground_truth):
    got = {f"exports/{Path(r.path).name}": {"read": r.rows_read, "loaded": r.rows_loaded,
                                            "rejected": r.rows_rejected} for r in case_ws.load.results}
    assert got == ground_truth["rows"]
    stored = case_ws.sql("SELECT sum(rows_read), sum(rows_loaded) + sum(rows_rejected) FROM ingests").fetchone()
    assert stored[0] == stored[1] == sum(v["read"] for v in ground_truth["rows"].values())


def test_malformed_records_are_rejected_at_their_record_numbers(case_ws, ground_truth):
    got = case_ws.sql("SELECT source_file, source_record FROM rejects ORDER BY 1, 2").fetchall()
    assert sorted((f"exports/{Path(f).name}", r) for f, r in got) == sorted(
        (r["file"], r["record"]) for r in ground_truth["rejects"])
    assert case_ws.sql("SELECT count(*) FROM rejects WHERE reason IS NULL OR reason = ''").fetchone() == (0,)


def test_china_based_staff_accessing_us_user_data(case_ws, ground_truth):
    truth = ground_truth["cn_staff_access"]
    df = inv.run_query(case_ws, "cross_border_access_summary", category="us_user_data", grain="month")
    cn = df[df.access_country == "CN"]
    assert int(cn.accesses.sum()) == truth["total"]
    assert {str(p)[:7]: int(n) for p, n in zip(cn.period, cn.accesses)} == truth["by_month"]
    assert iso(cn.first_ts.min()) == truth["first_ts"]
    assert iso(cn.last_ts.max()) == truth["last_ts"]
    after = inv.run_query(case_ws, "cross_border_access_summary", category="us_user_data",
                          start=ground_truth["case"]["promise_date"])
    assert int(after[after.access_country == "CN"].accesses.sum()) == truth["after_promise"]
    actors = case_ws.sql("""SELECT DISTINCT roster_actor_id FROM access_enriched WHERE access_country = 'CN'
                            AND data_category = 'us_user_data' AND outcome = 'success' ORDER BY 1""").fetchall()
    assert [a for (a,) in actors] == truth["actors"]


def test_cross_border_totals_by_country_and_basis(case_ws, ground_truth):
    df = inv.run_query(case_ws, "cross_border_access_summary", category="us_user_data")
    by_country = df.groupby("access_country").accesses.sum().astype(int).to_dict()
    assert by_country == ground_truth["access_by_country"]
    for country, months in ground_truth["access_by_country_by_month"].items():
        rows = df[df.access_country == country]
        assert {str(p)[:7]: int(n) for p, n in zip(rows.period, rows.accesses)} == months
    basis = dict(case_ws.sql("""SELECT cross_border_basis, count(*) FROM access_enriched
                                WHERE cross_border AND data_category = 'us_user_data'
                                  AND outcome = 'success' GROUP BY 1""").fetchall())
    assert basis == ground_truth["cross_border_by_basis"]


def test_partner_share_rises_to_near_all(case_ws, ground_truth):
    assert_partner_share(case_ws, ground_truth)


def test_backups_still_copied_offshore_after_the_promise(case_ws, ground_truth):
    assert_offshore_backups(case_ws, ground_truth)


def test_one_bulk_export(case_ws, ground_truth):
    truth = ground_truth["bulk_export"]
    df = inv.run_query(case_ws, "bulk_access", min_bytes=1_000_000_000)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row.event_id, row.roster_actor_id, row.resource, int(row.bytes), int(row.records), iso(row.ts)) == (
        truth["event_id"], truth["actor_id"], truth["resource"], truth["bytes"], truth["records"], truth["ts"])


def test_jump_host_shows_as_location_conflict_counted_under_roster(case_ws, ground_truth):
    truth = ground_truth["jump_host"]
    conflicts = inv.run_query(case_ws, "location_conflicts")
    assert len(conflicts) == ground_truth["location_conflicts"]
    via_jump = case_ws.df("""SELECT roster_actor_id, ts, cross_border_basis, src_country, actor_home_country
                             FROM access_enriched WHERE src_site = ? AND data_category = 'us_user_data'
                               AND outcome = 'success' ORDER BY ts""", [truth["site"]])
    assert len(via_jump) == truth["accesses"]
    assert sorted(via_jump.roster_actor_id.unique()) == truth["actors"]
    assert set(via_jump.cross_border_basis) == {"roster"}
    assert set(zip(via_jump.src_country, via_jump.actor_home_country)) == {("US", "CN")}
    assert (iso(via_jump.ts.min()), iso(via_jump.ts.max())) == (truth["first_ts"], truth["last_ts"])


def test_gap_in_the_access_logs(case_ws, ground_truth):
    truth = ground_truth["access_log_gap"]
    gaps = inv.run_query(case_ws, "coverage_gaps", min_days=1)
    access = gaps[gaps.table_name == "access_events"]
    assert [(day(r.gap_start), day(r.gap_end), int(r.days)) for r in access.itertuples()] == [
        (truth["start"], truth["end"], truth["days"])]


def test_reingesting_the_case_adds_nothing(case_ws):
    before = {t: case_ws.count(t) for t in ("access_events", "transfer_events", "rejects", "ingests",
                                            "networks", "actors", "assets", "policy")}
    again = inv.ingest_case(case_ws, SAMPLES)
    assert all(r.skipped for r in again.results)
    assert set(again.reference_rows.values()) == {0}
    assert {t: case_ws.count(t) for t in before} == before
