"""The pandas peer baseline (benchmarks/pandas_baseline.py) does the toolkit's work on the sample.

Rows read must match the toolkit's loads exactly; the transfer answers match its queries; the
cross-border summary matches the toolkit's events counted by network country alone (the toolkit
also counts staff by their roster home country, which the baseline does not).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

import investigate as inv

from .conftest import REPO, SAMPLES

CASE = SAMPLES / "case.yml"


def _module():
    spec = importlib.util.spec_from_file_location("pandas_baseline", REPO / "benchmarks" / "pandas_baseline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def baseline():
    return _module().answer(CASE)


@pytest.fixture(scope="module")
def toolkit():
    with inv.Workspace.open() as w:
        load = inv.ingest_case(w, str(CASE))
        yield w, load


def test_geo_lookup_longest_prefix_wins():
    lookup = _module().make_geo_lookup(SAMPLES / "reference" / "network_inventory.csv")
    assert lookup("10.20.3.250")[2] == "us-jump-1"  # the /32 inside the office's /22
    assert lookup("10.20.3.251")[2] == "us-mtv-office"
    assert lookup("2001:db8:1b80::5")[:2] == ("US", "Ironbridge Cloud")
    assert lookup("172.16.5.239") == (None, None, None, None)
    assert lookup(float("nan")) == (None, None, None, None)


def test_rows_read_match_the_toolkit(baseline, toolkit):
    _, load = toolkit
    loaded = {r.path.rsplit("/", 1)[-1].split(".")[0]: r for r in load.results}
    assert baseline["rows_by_kind"] == {k: r.rows_loaded for k, r in loaded.items()}
    assert baseline["dropped"]["access"] == sum(loaded[k].rows_rejected for k in
                                                ("access_platform_audit", "access_apac_gateway"))


def test_cross_border_summary_matches_by_network_country(baseline, toolkit):
    ws, _ = toolkit
    expected = ws.sql("""
        SELECT strftime(date_trunc('month', ts), '%Y-%m') AS month, src_country, count(*) AS accesses,
               count(DISTINCT coalesce(roster_actor_id, actor_id)) AS actors, sum(bytes)::BIGINT AS bytes
        FROM access_enriched
        WHERE data_category = 'us_user_data' AND outcome = 'success' AND src_country <> 'US'
        GROUP BY ALL ORDER BY ALL""").fetchall()
    s = baseline["summary"]
    got = sorted(zip(s["month"].astype(str), s["src_country"], s["accesses"], s["actors"],
                     s["bytes"].astype("int64")))
    assert got == expected


def test_transfer_answers_match_the_queries(baseline, toolkit):
    ws, _ = toolkit
    routes = inv.run_query(ws, "transfer_routes")
    assert baseline["routes"]["flows"].sum() == routes["flows"].sum()
    assert baseline["routes"]["bytes"].sum() == routes["bytes"].sum()
    share = inv.run_query(ws, "partner_share", partner_org="Ironbridge Cloud")
    assert list(baseline["share"]["partner_bytes"]) == list(share["partner_bytes"])
    assert list(baseline["share"]["total_bytes"]) == list(share["total_bytes"])


def test_main_prints_one_json_line_last():
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "pandas_baseline.py"), str(CASE)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["access_rows"] == 27472 and result["access_rows_dropped"] == 9
    assert result["seconds"] > 0 and result["peak_rss_kb"] > 0
