"""The CLI mirrors the API: case, reference, query, findings, formats."""

from __future__ import annotations

import json

import pandas as pd

from investigate.cli import main

from .conftest import SAMPLES


def test_case_then_query_to_csv_and_json(tmp_path, capsys, ground_truth):
    ws = tmp_path / "ws.duckdb"
    assert main(["case", str(ws), str(SAMPLES / "case.yml")]) == 0
    out = capsys.readouterr().out
    assert "access_platform_audit.csv: read 20,242, loaded 20,236, rejected 6 -> access_events" in out
    csv = tmp_path / "summary.csv"
    assert main(["query", str(ws), "cross_border_access_summary", "-p", "category", "us_user_data",
                 "-p", "grain", "month", "--output", str(csv)]) == 0
    df = pd.read_csv(csv)
    cn = df[df.access_country == "CN"]
    assert {p[:7]: int(n) for p, n in zip(cn.period, cn.accesses)} == ground_truth["cn_staff_access"]["by_month"]
    js = tmp_path / "gaps.json"
    assert main(["query", str(ws), "coverage_gaps", "-p", "min_days", "2", "-o", str(js)]) == 0
    gaps = json.loads(js.read_text())
    assert [(g["table_name"], g["gap_start"][:10], g["days"]) for g in gaps] == [
        ("access_events", ground_truth["access_log_gap"]["start"], 4)]


def test_query_list_and_bad_parameters(tmp_path, capsys):
    assert main(["query", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "cross_border_access_summary(start, end, category, grain=month)" in listing
    ws = tmp_path / "ws.duckdb"
    assert main(["case", str(ws), str(SAMPLES)]) == 0
    capsys.readouterr()
    assert main(["query", str(ws), "cross_border_access_summary", "-p", "grain", "year"]) == 2
    assert capsys.readouterr().err == ("error: query cross_border_access_summary: parameter grain must be "
                                       "one of day, week, month; got 'year'\n")


def test_reference_command(tmp_path, capsys):
    ws = tmp_path / "ws.duckdb"
    roster = SAMPLES / "reference/staff_roster.csv"
    assert main(["reference", str(ws), "actors", str(roster)]) == 0
    assert capsys.readouterr().out == "staff_roster.csv: 43 actors rows\n"
    assert main(["reference", str(ws), "actors", str(roster)]) == 0
    assert capsys.readouterr().out == "staff_roster.csv: 0 actors rows (already loaded)\n"
    bad = tmp_path / "nets.csv"
    bad.write_text("cidr,country\n10.0.0.0/33,US\n")
    assert main(["reference", str(ws), "networks", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: {bad}:2: '10.0.0.0/33' is not an IP network (expected e.g. 10.20.0.0/16 or 2001:db8::/32)\n"


def test_reference_command_network_formats_and_policy_presets(tmp_path, capsys):
    ws = tmp_path / "ws.duckdb"
    aws = tmp_path / "ranges.json"
    aws.write_text(json.dumps({"syncToken": "1", "createDate": "2023-11-14-22-13-07", "prefixes": [
        {"ip_prefix": "52.94.0.0/15", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"}],
        "ipv6_prefixes": []}))
    assert main(["reference", str(ws), "networks", str(aws)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ranges.json: 1 networks rows (aws, syncToken 1, createDate 2023-11-14-22-13-07); ")
    assert "GLOBAL" in out
    other = tmp_path / "other.json"
    other.write_text(aws.read_text().replace('"1"', '"2"'))
    assert main(["reference", str(ws), "networks", str(other), "--format", "mmdb"]) == 2
    assert "other.json" in capsys.readouterr().err
    assert main(["reference", str(ws), "policy", "preset:trusted_partner", "--param", "partner_org", "Ironbridge Cloud",
                 "--param", "effective_from", "2022-06-17"]) == 0
    assert capsys.readouterr().out.startswith("preset:trusted_partner: ")
    assert main(["reference", str(ws), "policy", "preset:trusted_partner"]) == 2
    assert "partner_org" in capsys.readouterr().err


def test_formats_lists_the_generic_loaders(capsys):
    assert main(["formats"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert {"csv", "jsonl", "parquet", "cloudtrail"} <= set(names)
