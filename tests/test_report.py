"""The report: findings with their charts, numbers and provenance, the data checks, the coverage
and the limits, as one self-contained HTML file (checked in a headless browser) and a PDF."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import yaml
from PIL import Image

import investigate as inv
from investigate.cli import main

from .conftest import SAMPLES
from .test_case import case_ws  # noqa: F401  (the sample case's workspace, built once per module)

SPEC = SAMPLES / "findings.yml"
CHARTED = ["cn_staff_access", "partner_share_after", "jump_host"]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def report(case_ws, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("report")
    return inv.write_report(case_ws, SPEC, out)


def test_every_finding_is_a_sentence_with_its_numbers_and_how_it_was_found(report):
    page = report.html.read_text(encoding="utf-8")
    assert len(report.findings) == 9
    for f in report.findings:
        section = page[page.index(f"<section class='finding' id='{f.id}'>"):]
        section = section[:section.index("</section>")]
        assert html.escape(f.sentence) in section
        assert "How this was found" in section and f.sql_sha256 in section
        assert html.escape(json.dumps(f.params, sort_keys=True)) in section
        for i in f.inputs:
            assert i["sha256"] in section
        for name in f.values:
            assert f"<td>{name}</td>" in section
    assert page.count("How this was found") == 9


def test_the_html_is_self_contained_and_each_chart_is_embedded(report):
    page = report.html.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == len(CHARTED) + 1  # one per charted finding, and the coverage
    for data in images:
        png = Image.open(io.BytesIO(base64.b64decode(data)))
        assert png.size == (1600, 900)
        assert np.asarray(png.convert("L")).std() > 10  # not blank
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    for key in CHARTED + ["coverage"]:
        for ext in ("png", "svg", "pdf", "csv"):
            assert (report.html.parent / "figures" / f"{key}.{ext}").is_file()
    assert set(report.figures) == set(CHARTED + ["coverage"])


def test_checks_coverage_and_limits_are_in_the_report(report):
    page = report.html.read_text(encoding="utf-8")
    checks = page[page.index("<section id='checks'>"):page.index("<section id='coverage'>")]
    assert "5 of 6 rules hold" in checks
    assert checks.count("<span class='pass'>pass</span>") == 5
    assert "<td>actors_missing_from_roster</td><td>4</td><td><span class='fail'>FAIL</span>" in checks
    coverage = page[page.index("<section id='coverage'>"):page.index("<section id='limits'>")]
    assert "<td>access_events</td><td>csv</td><td>2022-03-08" in coverage
    limits = page[page.index("<section id='limits'>"):]
    assert "An access record shows an account, not a person" in limits
    assert "The case is fictional" in limits  # from the spec's report table


def test_the_pdf_has_a_page_per_finding(report):
    data = report.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert pages == 1 + 9 + 2  # summary, one per finding, checks and coverage, limits
    assert b"/Title (ReelRiver" in data  # the report title in the document information


@pytest.mark.skipif(BROWSER is None, reason="no chromium here (.ci/run installs it)")
def test_the_report_opens_in_a_browser_with_every_figure_loaded(report, tmp_path):
    url = report.html.resolve().as_uri()
    base = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--virtual-time-budget=10000", "--enable-logging=stderr", "--v=0",
                                 "--dump-dom", url], capture_output=True, text=True, timeout=180)
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    # written by the page's own check once loaded: every image decoded, no script error
    assert 'data-images="4/4"' in body and 'data-errors="0"' in body
    # chromium logs every console message of the page as CONSOLE; the report writes none
    assert "CONSOLE" not in dom.stderr and "Uncaught" not in dom.stderr
    shot = tmp_path / "report.png"
    subprocess.run(base + ["--window-size=1280,2000", f"--screenshot={shot}", url],
                   capture_output=True, timeout=180, check=True)
    picture = np.asarray(Image.open(shot).convert("L"))
    assert picture.shape == (2000, 1280) and picture.std() > 10


def test_a_chart_spec_that_cannot_be_drawn_names_the_finding(case_ws, tmp_path):  # noqa: F811
    spec = yaml.safe_load(SPEC.read_text())
    spec["findings"] = [dict(spec["findings"][0], chart={"kind": "pie", "title": "x"})]
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(spec))
    with pytest.raises(inv.InvestigateError, match="finding cn_staff_access: chart kind 'pie' is not one of"):
        inv.write_report(case_ws, tmp_path / "bad.yml", tmp_path / "out")
    spec["findings"] = [dict(spec["findings"][0], chart={"kind": "monthly_bars", "title": "x",
                                                          "options": {"value": "nope"}})]
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(spec))
    with pytest.raises(inv.InvestigateError, match="finding cn_staff_access: chart monthly_bars: .*nope"):
        inv.write_report(case_ws, tmp_path / "bad.yml", tmp_path / "out")


def test_cli_report(case_ws, tmp_path, capsys):  # noqa: F811
    ws_path = tmp_path / "case.duckdb"
    with inv.Workspace.open(ws_path) as ws:
        inv.ingest_case(ws, SAMPLES)
    assert main(["report", str(ws_path), str(SPEC), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "report.html and report.pdf" in out and (tmp_path / "out" / "report.pdf").is_file()
