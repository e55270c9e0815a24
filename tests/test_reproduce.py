"""`investigate reproduce` end to end, as `make reproduce` runs it: notebooks, figures, findings.

One run (the session's `reproduced` of conftest.py, shared with test_offline.py) serves every
test here; its findings are compared with ground_truth.json.
"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from PIL import Image

from .conftest import REPO


@pytest.fixture(scope="module")
def reports(reproduced):
    # The session's one run (conftest.py), network blocked: test_offline.py shares it.
    assert reproduced.proc.returncode == 0, reproduced.proc.stderr
    return reproduced.out, reproduced.proc.stdout


@pytest.fixture(scope="module")
def findings(reports):
    out, _ = reports
    return {f["id"]: f for f in json.loads((out / "findings.json").read_text())["findings"]}


def iso(ts: str) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_reports_folder_has_every_output(reports):
    out, _ = reports
    for name in ["findings.json", "findings.md", "case.duckdb", "report.html", "report.pdf",
                 "figures/cn_staff_access.png", "figures/coverage.png",
                 "figures/cross_border_access_monthly.png", "figures/cross_border_access_monthly.svg",
                 "figures/cross_border_access_monthly.pdf", "figures/cross_border_access_monthly.csv",
                 "tables/cn_staff_access.csv", "notebooks/02_cross_border_access.ipynb"]:
        assert (out / name).is_file(), name


def test_headline_sentences_are_printed_at_the_end(reports, findings):
    _, stdout = reports
    tail = stdout[stdout.index("Headline findings"):]
    for f in findings.values():
        assert f"- {f['sentence']}" in tail
    assert ("2,024 accesses to US user data came from China-based staff or Chinese networks between "
            "14 September 2021 and 31 December 2022, in 16 different months.") in tail


def test_findings_equal_the_ground_truth(findings, ground_truth):
    cn = ground_truth["cn_staff_access"]
    v = findings["cn_staff_access"]["values"]
    assert (v["accesses"], iso(v["first_ts"]), iso(v["last_ts"]), v["months"]) == (
        cn["total"], cn["first_ts"], cn["last_ts"], len(cn["by_month"]))
    assert findings["cn_staff_access_after_promise"]["values"]["accesses"] == cn["after_promise"]

    share = ground_truth["partner_share"]["by_month"]
    assert round(findings["partner_share_before"]["values"]["share"], 6) == share["2021-07"]["share"]
    after = findings["partner_share_after"]["values"]
    later = [m for m in share if m >= "2022-06"]
    assert after["months"] == len(later)
    assert after["partner_bytes"] == sum(share[m]["partner_bytes"] for m in later)
    assert after["total_bytes"] == sum(share[m]["total_bytes"] for m in later)
    assert round(after["min_share"], 6) == min(share[m]["share"] for m in later)

    off = ground_truth["offshore_backups"]["after_promise"]
    v = findings["offshore_backups_after_promise"]["values"]
    assert (v["copies"], v["bytes"], iso(v["first_ts"]), iso(v["last_ts"])) == (
        off["copies"], off["bytes"], off["first_ts"], off["last_ts"])

    bulk = ground_truth["bulk_export"]
    v = findings["bulk_export"]["values"]
    assert (v["exports"], v["event_id"], v["actor_id"], v["bytes"], v["records"], iso(v["ts"])) == (
        1, bulk["event_id"], bulk["actor_id"], bulk["bytes"], bulk["records"], bulk["ts"])

    assert findings["location_conflicts"]["values"]["events"] == ground_truth["location_conflicts"]
    jump = ground_truth["jump_host"]
    v = findings["jump_host"]["values"]
    assert (v["accesses"], v["actors"], iso(v["first_ts"]), iso(v["last_ts"])) == (
        jump["accesses"], len(jump["actors"]), jump["first_ts"], jump["last_ts"])

    gap = ground_truth["access_log_gap"]
    assert findings["access_log_gap"]["values"] == {"gap_start": gap["start"], "gap_end": gap["end"],
                                                    "days": gap["days"]}


def test_findings_carry_their_provenance(reports, findings):
    out, _ = reports
    f = findings["cn_staff_access"]
    assert f["query"] == "cross_border_access_summary"
    assert len(f["sql_sha256"]) == 64
    assert f["params"] == {"start": None, "end": None, "category": "us_user_data", "grain": "month"}
    kinds = sorted(i["kind"] for i in f["inputs"])
    assert kinds == ["ingest"] * 4 + ["reference:actors", "reference:assets", "reference:networks",
                                      "reference:policy"]
    rows = pd.read_csv(out / f["rows_csv"])
    assert int(rows.accesses.sum()) == f["values"]["accesses"]
    md = (out / "findings.md").read_text()
    assert f["sentence"] in md and f["sql_sha256"][:16] in md


def test_executed_notebook_states_the_finding(reports, ground_truth):
    out, _ = reports
    nb = nbformat.read(out / "notebooks/02_cross_border_access.ipynb", as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    from investigate.notebooks import cell_outputs_text
    text = cell_outputs_text(nb)
    cn = ground_truth["cn_staff_access"]
    assert (f"{cn['total']:,} accesses to us_user_data (jurisdiction US) came from staff or networks "
            f"in CN between 14 September 2021 and 31 December 2022, in {len(cn['by_month'])} different months.") in text
    assert f"{cn['after_promise']:,} of them came on or after the promise date 2022-06-17" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the monthly bars and the timeline


def test_chart_data_and_metadata(reports, ground_truth):
    out, _ = reports
    data = pd.read_csv(out / "figures/cross_border_access_monthly.csv")
    cn = data[data.access_country == "CN"]
    assert {p[:7]: int(n) for p, n in zip(cn.period, cn.accesses)} == ground_truth["cn_staff_access"]["by_month"]
    png = Image.open(out / "figures/cross_border_access_monthly.png")
    assert png.size == (1600, 900)
    assert png.info["Query"] == "cross_border_access_summary"
    assert "network_inventory.csv=" in png.info["Inputs"]
    assert b"cross_border_access_summary" in (out / "figures/cross_border_access_monthly.pdf").read_bytes()


def test_verify_says_same_on_the_reproduced_workspace(reports):
    out, _ = reports
    proc = subprocess.run([sys.executable, "-m", "investigate.cli", "verify", str(out / "case.duckdb"),
                           str(out / "findings.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 9 and all(line.endswith(": same") for line in lines)


def test_the_notebook_finds_the_same_on_the_native_exports(tmp_path, ground_truth):
    """Notebook 02 pointed at case_native.yml (CloudTrail, pgaudit and nginx logs of the same
    events) states the same finding as on the CSV exports."""
    from investigate import run_notebook
    from investigate.notebooks import cell_outputs_text

    nb = run_notebook(REPO / "notebooks" / "02_cross_border_access.ipynb",
                      parameters={"CASE": str(REPO / "data_samples" / "case_native.yml"),
                                  "WORKSPACE": str(tmp_path / "native.duckdb"), "OUT_DIR": str(tmp_path)})
    text = cell_outputs_text(nb)
    cn = ground_truth["cn_staff_access"]
    assert (f"{cn['total']:,} accesses to us_user_data (jurisdiction US) came from staff or networks "
            f"in CN between 14 September 2021 and 31 December 2022, in {len(cn['by_month'])} different months.") in text
    assert "cloudtrail: 545 files, read 13,241, loaded 13,239, rejected 2; 3 skipped" in text
    assert "pgaudit: 36 files" in text and "web_access: 18 files" in text


def test_the_readme_shows_a_chart_the_report_makes(reports):
    # docs/images/cn_staff_access.png is a copy of this output: same chart, same size, same data
    out, _ = reports
    shown = Image.open(REPO / "docs" / "images" / "cn_staff_access.png")
    made = Image.open(out / "figures" / "cn_staff_access.png")
    assert shown.size == made.size == (1600, 900)
    assert {k: shown.info[k] for k in ("Title", "Query", "Parameters", "Inputs")} == \
           {k: made.info[k] for k in ("Title", "Query", "Parameters", "Inputs")}
    assert "docs/images/cn_staff_access.png" in (REPO / "README.md").read_text(encoding="utf-8")
