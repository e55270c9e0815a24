"""The workflow notebooks, executed headless on the sample case, state the planted facts.

As `investigate reproduce` does, notebooks 00 to 04 run one after the other on one workspace file
with the parameters CASE, WORKSPACE, OUT_DIR and SPEC: 00 loads the case into a new workspace, the
others find it loaded. One more run of 03 on a new workspace shows that a notebook does not need
an earlier one. Their printed sentences and the CSVs behind their figures are compared with
data_samples/ground_truth.json. About 25 s in all (each notebook 3-6 s, mostly kernel start and
loading the case).
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from investigate.notebooks import cell_outputs_text, run_notebook

from .conftest import REPO, SAMPLES

WORKFLOW = ["00_quickstart", "01_load_and_check", "02_cross_border_access", "03_transfers_and_backups",
            "04_findings_and_report"]
FIGURE_FILES = ("png", "svg", "pdf", "csv")


def run(name, workspace, out):
    params = {"CASE": str(SAMPLES / "case.yml"), "WORKSPACE": str(workspace), "OUT_DIR": str(out),
              "SPEC": str(SAMPLES / "findings.yml")}
    started = time.perf_counter()
    nb = run_notebook(REPO / "notebooks" / f"{name}.ipynb", parameters=params,
                      output=out / "notebooks" / f"{name}.ipynb")
    return nb, time.perf_counter() - started


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every workflow notebook run in order on one workspace: name -> (notebook, printed text)."""
    out = tmp_path_factory.mktemp("reports")
    runs = {}
    for name in WORKFLOW:
        nb, seconds = run(name, out / "case.duckdb", out)
        runs[name] = (nb, cell_outputs_text(nb))
        print(f"{name}: {seconds:.1f} s")
    return out, runs


def text_of(executed, name):
    return executed[1][name][1]


def figure(executed, stem):
    out = executed[0]
    for ext in FIGURE_FILES:
        assert (out / "figures" / f"{stem}.{ext}").is_file(), f"{stem}.{ext}"
    return pd.read_csv(out / "figures" / f"{stem}.csv")


def month(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def day(ts: str) -> str:
    return pd.Timestamp(ts).strftime("%d %B %Y")


@pytest.mark.parametrize("name", WORKFLOW)
def test_notebook_runs_without_errors(executed, name):
    nb = executed[1][name][0]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert (executed[0] / "notebooks" / f"{name}.ipynb").is_file()


def test_quickstart_loads_the_case_and_shows_the_gap_and_the_rejects(executed, ground_truth):
    text = text_of(executed, "00_quickstart")
    for export, rows in ground_truth["rows"].items():
        line = (f"{export.split('/')[-1]}: read {rows['read']:,}, loaded {rows['loaded']:,}, "
                f"rejected {rows['rejected']:,}")
        assert line in text  # 00 ran first: the case was loaded here
    gap = ground_truth["access_log_gap"]
    assert f"1 silence(s) of 1 day(s) or more:\n" in text
    assert f"- access_events (csv): no events from {gap['start']} to {gap['end']} ({gap['days']} days)" in text
    coverage = figure(executed, "coverage_daily")
    access_days = set(coverage[coverage.table_name == "access_events"].day)
    assert not access_days & set(gap["all_days_without_events"])
    one_day = pd.Timedelta(days=1)
    around = {f"{pd.Timestamp(gap['start']) - one_day:%Y-%m-%d}", f"{pd.Timestamp(gap['end']) + one_day:%Y-%m-%d}"}
    assert around <= access_days  # the days either side have events: the gap is exactly those days
    total = sum(r["loaded"] for r in ground_truth["rows"].values())
    assert coverage.events.sum() == total
    assert f"The logs hold {total:,} events from 01 July 2021 to 31 December 2022." in text
    assert f"{len(ground_truth['rejects'])} records could not be loaded, from 3 file(s)" in text
    cn = ground_truth["cn_staff_access"]["actors"]
    assert all(actor in text for actor in cn)  # the top readers from outside the jurisdiction


def test_load_and_check_reports_the_trial_load_and_the_failing_check(executed, ground_truth):
    text = text_of(executed, "01_load_and_check")
    gateway = ground_truth["rows"]["exports/access_apac_gateway.csv"]
    assert (f"read {gateway['read']:,} records, loaded {gateway['loaded']:,}, "
            f"rejected {gateway['rejected']:,}") in text
    first = min((r for r in ground_truth["rejects"] if r["file"] == "exports/access_apac_gateway.csv"),
                key=lambda r: r["record"])
    assert f"first reject: record {first['record']}: unreadable timestamp in column 'Zeit': '31.02.2022 10:00:00'" in text
    assert "access_platform_audit.csv: skipped (already ingested" in text  # 00 loaded the case
    assert "1 of 6 checks fail: actors_missing_from_roster" in text
    assert "4 identities are not in the roster: admin, oracle, root, test" in text
    checks = pd.read_csv(executed[0] / "tables" / "data_checks.csv").set_index("check")
    assert checks.loc["actors_missing_from_roster", "violations"] == 4
    assert checks.drop("actors_missing_from_roster").passed.all()
    gap = ground_truth["access_log_gap"]
    assert f"no events from {gap['start']} to {gap['end']} ({gap['days']} days)" in text


def test_cross_border_access_states_the_cn_finding_and_the_jump_host(executed, ground_truth):
    text = text_of(executed, "02_cross_border_access")
    cn = ground_truth["cn_staff_access"]
    assert (f"{cn['total']:,} accesses to us_user_data (jurisdiction US) came from staff or networks "
            f"in CN between 14 September 2021 and 31 December 2022, in {len(cn['by_month'])} different months.") in text
    assert f"{cn['after_promise']:,} of them came on or after the promise date 2022-06-17" in text
    monthly = figure(executed, "cross_border_access_monthly")
    for country, by_month in ground_truth["access_by_country_by_month"].items():
        rows = monthly[monthly.access_country == country]
        assert {month(p): int(n) for p, n in zip(rows.period, rows.accesses)} == by_month

    assert (f"{ground_truth['location_conflicts']:,} access events (failed attempts included) came from a "
            "network in another country") in text
    jump = ground_truth["jump_host"]
    assert (f"- {jump['site']} (US): {jump['accesses']} accesses by {len(jump['actors'])} people "
            f"({', '.join(jump['actors'])}), {day(jump['first_ts'])} to {day(jump['last_ts'])}") in text

    timeline = figure(executed, "cn_access_timeline")
    assert len(timeline) == cn["total"]
    assert sorted(timeline.roster_actor_id.unique()) == cn["actors"]
    assert (timeline.src_ip == jump["ip"]).sum() == jump["accesses"]
    assert set(timeline.file) == {"access_apac_gateway.csv", "access_platform_audit.csv"}  # names, not paths
    assert f"{cn['total']:,} accesses to us_user_data counted under CN were made by {len(cn['actors'])} people" in text
    nb = executed[1]["02_cross_border_access"][0]
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_transfers_and_backups_show_the_partner_share_and_the_offshore_copies(executed, ground_truth):
    text = text_of(executed, "03_transfers_and_backups")
    share = figure(executed, "partner_share_monthly")
    expected = ground_truth["partner_share"]["by_month"]
    assert [month(p) for p in share.period] == list(expected)
    for row in share.itertuples():
        truth = expected[month(row.period)]
        assert (row.partner_bytes, row.total_bytes, round(row.share, 6)) == (
            truth["partner_bytes"], truth["total_bytes"], truth["share"])
    first = next(iter(expected))
    assert f"In {pd.Timestamp(first):%B %Y} Ironbridge Cloud carried {expected[first]['share']:.2%}" in text

    off = ground_truth["offshore_backups"]
    after = off["after_promise"]
    assert (f"On or after 2022-06-17, {after['copies']:,} copies of us_user_data ({after['bytes']:,} bytes) "
            f"went to 1 site(s) outside US, from {day(after['first_ts'])} to {day(after['last_ts'])}.") in text
    assert (f"{off['total']['copies']:,} copies of us_user_data ({off['total']['bytes']:,} bytes) "
            "went outside US in the whole period.") in text
    copies = figure(executed, "offshore_copies_monthly")
    assert copies.flows.sum() == off["total"]["copies"] and set(copies.dst_country) == {off["dst_country"]}
    assert f"{after['copies']} transfers broke the storage rule in force at their time" in text

    routes = figure(executed, "transfer_routes_matrix")
    assert routes.bytes.sum() > 0 and {"src_country", "dst_country", "bytes"} <= set(routes.columns)


def test_a_notebook_runs_on_a_new_workspace_without_the_earlier_ones(tmp_path, executed, ground_truth):
    nb, _ = run("03_transfers_and_backups", tmp_path / "fresh.duckdb", tmp_path)
    text = cell_outputs_text(nb)
    rows = ground_truth["rows"]["exports/backup_jobs.csv"]
    assert f"backup_jobs.csv: read {rows['read']:,}, loaded {rows['loaded']:,}" in text
    shared = text_of(executed, "03_transfers_and_backups")
    assert text.splitlines()[-5:] == shared.splitlines()[-5:]  # the same closing sentences


def test_findings_and_report_writes_the_report_and_verifies_every_finding(executed, ground_truth):
    out, runs = executed
    text = runs["04_findings_and_report"][1]
    cn = ground_truth["cn_staff_access"]
    assert (f"- {cn['total']:,} accesses to US user data came from China-based staff or Chinese networks "
            f"between 14 September 2021 and 31 December 2022, in {len(cn['by_month'])} different months.") in text
    assert text.count(": same") == 9 and "changed" not in text and "cannot check" not in text
    assert (out / "report.html").is_file() and (out / "report.pdf").is_file()
    nb = runs["04_findings_and_report"][0]
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 1
