"""Tests of the sample-case generator alone (investigate.samplecase).

The ground truth is re-derived here from the written files with an
independent, standard-library implementation of the case definitions, so a
bug in the generator's own counting cannot hide behind itself.
"""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from investigate.samplecase import generate

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data_samples"
HAND_WRITTEN = {"README.md", ".gitattributes", "findings.yml"}
AUDIT = "exports/access_platform_audit.csv"
GATEWAY = "exports/access_apac_gateway.csv"
FLOWS = "exports/edge_flows.jsonl.gz"
BACKUPS = "exports/backup_jobs.csv"
PROMISE = datetime(2022, 6, 17, tzinfo=timezone.utc)
SGT = timezone(timedelta(hours=8))
MONTHS = [f"{y}-{m:02d}" for y, m in [(2021, m) for m in range(7, 13)] + [(2022, m) for m in range(1, 13)]]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    out = tmp_path_factory.mktemp("case")
    truth = generate(out)
    return out, truth


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- reproducibility and size ---------------------------------------------------------------

def test_generation_is_byte_identical(case, tmp_path):
    out, truth = case
    again = generate(tmp_path / "again")
    assert again == truth
    first, second = files_of(out), files_of(tmp_path / "again")
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name


def test_returned_truth_equals_file(case):
    out, truth = case
    assert json.loads((out / "ground_truth.json").read_text(encoding="utf-8")) == truth


def test_output_is_small(case):
    out, _ = case
    total = sum(len(b) for b in files_of(out).values())
    assert total < 20_000_000
    assert total < 8_000_000


def test_committed_samples_equal_fresh_generation(case):
    out, _ = case
    committed = files_of(COMMITTED)
    fresh = files_of(out)
    assert sorted(set(committed) - HAND_WRITTEN) == sorted(fresh)
    for name, data in fresh.items():
        assert committed[name] == data, f"data_samples/{name} differs from a fresh generation"


def test_expected_files(case):
    out, _ = case
    assert sorted(files_of(out)) == sorted([
        "case.yml", "ground_truth.json", AUDIT, GATEWAY, FLOWS, BACKUPS,
        "mappings/access_apac_gateway.yml", "mappings/access_platform_audit.yml",
        "mappings/backup_jobs.yml", "mappings/edge_flows.yml",
        "reference/data_catalogue.csv", "reference/network_inventory.csv",
        "reference/policy.yml", "reference/staff_roster.csv",
    ])


# -- formats -----------------------------------------------------------------------------------

def test_file_formats(case):
    out, _ = case
    audit = (out / AUDIT).read_bytes()
    assert audit.startswith(b"event_uuid,event_time,principal,client_ip,operation,object,result,"
                            b"bytes_out,rows_returned,user_agent,session_id\n")
    assert b"\r" not in audit
    assert b'"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like' in audit
    gateway = (out / GATEWAY).read_bytes()
    assert gateway.startswith(b"Zeit;Benutzer;Quell-IP;Aktion;Ressource;Status;Bytes;Datensaetze;ID\r\n")
    assert gateway.count(b"\n") == gateway.count(b"\r\n")
    assert gateway.endswith(b"\r\n")
    raw = (out / FLOWS).read_bytes()
    assert raw[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no flags (no file name)
    assert raw[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    backups = (out / BACKUPS).read_bytes()
    assert backups.startswith(b"job_id,dataset,src_host,src_ip,dst_host,dst_ip,started_at,"
                              b"finished_at,bytes_copied,status\n")
    assert b"\r" not in backups


def test_reference_tables(case):
    out, _ = case
    with open(out / "reference/staff_roster.csv", newline="", encoding="utf-8") as f:
        roster = list(csv.DictReader(f))
    homes = [r["home_country"] for r in roster]
    assert [homes.count(c) for c in ("US", "CN", "SG", "IE", "")] == [15, 12, 8, 5, 3]
    assert all(r["team"] == "platform" for r in roster if r["home_country"] == "")
    assert all(r["employer"] == "ReelRiver Ltd." for r in roster)
    names = [r["actor_id"] for r in roster] + [a for r in roster for a in r["aliases"].split(";") if a]
    assert len(names) == len(set(names))
    assert sum(1 for r in roster if r["aliases"]) >= 10

    allowed = [ipaddress.ip_network(c) for c in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "192.0.2.0/24", "198.51.100.0/24",
        "203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32")]
    with open(out / "reference/network_inventory.csv", newline="", encoding="utf-8") as f:
        inventory = list(csv.DictReader(f))
    cidrs = [r["cidr"] for r in inventory]
    assert len(cidrs) == len(set(cidrs))
    for r in inventory:
        net = ipaddress.ip_network(r["cidr"])
        assert any(net.version == a.version and net.subnet_of(a) for a in allowed), r
        assert r["kind"] in {"office", "datacenter", "cloud", "vpn", "jump_host", "users"}
        assert re.fullmatch(r"[A-Z]{2}", r["country"])
    partner = [ipaddress.ip_network(r["cidr"]) for r in inventory if r["org"] == "Ironbridge Cloud"]
    assert sorted(str(n) for n in ipaddress.collapse_addresses(n for n in partner if n.version == 4)) \
        == ["198.18.0.0/16"]
    assert sorted(str(n) for n in ipaddress.collapse_addresses(n for n in partner if n.version == 6)) \
        == ["2001:db8:1b00::/40"]
    assert {"cidr": "10.20.3.250/32", "country": "US", "org": "ReelRiver Ltd.", "site": "us-jump-1",
            "kind": "jump_host"} in inventory
    assert {"cidr": "198.51.100.0/24", "country": "US", "org": "US consumer ISPs",
            "site": "us-users", "kind": "users"} in inventory


def test_yaml_documents_parse(case):
    yaml = pytest.importorskip("yaml")
    out, _ = case
    gateway = yaml.safe_load((out / "mappings/access_apac_gateway.yml").read_text())
    assert gateway == {
        "table": "access_events", "delimiter": ";", "null_values": ["", "-"],
        "timestamp": {"format": "%d.%m.%Y %H:%M:%S", "timezone": "Asia/Singapore"},
        "columns": {"event_id": "ID", "ts": "Zeit", "actor_id": "Benutzer", "src_ip": "Quell-IP",
                    "raw_action": "Aktion", "resource": "Ressource", "outcome": "Status",
                    "bytes": "Bytes", "records": "Datensaetze"},
        "actions": {"READ": "read", "LIST": "list", "WRITE": "write", "DELETE": "delete",
                    "EXPORT": "export", "LOGIN": "login"},
        "outcomes": {"ALLOW": "success", "DENY": "failure"},
    }
    for name, header in [("access_platform_audit", AUDIT), ("edge_flows", None), ("backup_jobs", BACKUPS)]:
        mapping = yaml.safe_load((out / f"mappings/{name}.yml").read_text())
        assert mapping["table"] in {"access_events", "transfer_events"}
        if header:
            with open(out / header, newline="", encoding="utf-8") as f:
                columns = next(csv.reader(f))
            assert set(mapping["columns"].values()) <= set(columns)
    audit = yaml.safe_load((out / "mappings/access_platform_audit.yml").read_text())
    assert set(audit["actions"]) == {"GetObject", "ListBucket", "PutObject", "DeleteObject",
                                     "SelectRows", "ExportTable", "Login"}
    assert audit["outcomes"] == {"OK": "success", "DENIED": "failure"}
    backup = yaml.safe_load((out / "mappings/backup_jobs.yml").read_text())
    assert backup["columns"]["outcome"] == "status"  # a failed job moved no data
    assert backup["outcomes"] == {"success": "success", "failed": "failure"}
    assert backup["columns"]["event_id"] == "job_id"
    manifest = yaml.safe_load((out / "case.yml").read_text())
    assert manifest["period"] == {"start": "2021-07-01T00:00:00Z", "end": "2023-01-01T00:00:00Z"}
    assert manifest["partner_org"] == "Ironbridge Cloud"
    assert [i["path"] for i in manifest["inputs"]] == [AUDIT, GATEWAY, FLOWS, BACKUPS]
    assert all((out / i["mapping"]).is_file() for i in manifest["inputs"])
    assert all((out / p).is_file() for p in manifest["reference"].values())
    policy = yaml.safe_load((out / "reference/policy.yml").read_text())
    first = policy["rules"][0]
    assert first["id"] == "us_data_partner_only"
    assert first["effective_from"] == "2022-06-17T00:00:00Z" and first["effective_to"] is None
    assert first["traffic_orgs"] == ["Ironbridge Cloud"] and first["storage_countries"] == ["US"]


# -- an independent reading of the files --------------------------------------------------------

class Reference:
    """The case definitions, re-implemented with ipaddress and fnmatch."""

    def __init__(self, out: Path) -> None:
        def rows(name):
            with open(out / "reference" / name, newline="", encoding="utf-8") as f:
                return list(csv.DictReader(f))
        self.nets = [(ipaddress.ip_network(r["cidr"]), r) for r in rows("network_inventory.csv")]
        self.people = {}
        for r in rows("staff_roster.csv"):
            for name in [r["actor_id"], *filter(None, r["aliases"].split(";"))]:
                self.people[name] = r
        self.assets = rows("data_catalogue.csv")

    def network(self, ip):
        addr = ipaddress.ip_address(ip)
        hits = [(n.prefixlen, r) for n, r in self.nets if n.version == addr.version and addr in n]
        return max(hits, key=lambda h: h[0])[1] if hits else None

    def asset(self, resource):
        hits = [a for a in self.assets if resource and fnmatchcase(resource, a["resource_pattern"])]
        if not hits:
            return None
        longest = max(len(a["resource_pattern"]) for a in hits)
        best = [a for a in hits if len(a["resource_pattern"]) == longest]
        assert len(best) == 1, resource
        return best[0]


ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _int_or_none(text, missing):
    if text in missing:
        return None
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def parse_audit(cells):
    if len(cells) != 11:
        raise ValueError("field count")
    if not ISO_MS.fullmatch(cells[1]):
        raise ValueError("timestamp")
    ts = datetime.fromisoformat(cells[1])
    return {"id": cells[0], "ts": ts, "actor": cells[2], "ip": cells[3], "action": cells[4],
            "resource": cells[5], "ok": {"OK": True, "DENIED": False}[cells[6]],
            "bytes": _int_or_none(cells[7], {""}), "records": _int_or_none(cells[8], {""})}


def parse_gateway(cells):
    if len(cells) != 9:
        raise ValueError("field count")
    zeit = cells[0]
    if "T" in zeit:
        ts = datetime.fromisoformat(zeit)
        assert ts.tzinfo is not None
    else:
        ts = datetime.strptime(zeit, "%d.%m.%Y %H:%M:%S").replace(tzinfo=SGT)
    return {"id": cells[8], "ts": ts.astimezone(timezone.utc), "actor": cells[1], "ip": cells[2],
            "action": cells[3], "resource": cells[4], "ok": {"ALLOW": True, "DENY": False}[cells[5]],
            "bytes": _int_or_none(cells[6], {"", "-"}), "records": _int_or_none(cells[7], {"", "-"})}


def read_exports(out: Path):
    """Good records of every export, and the record numbers that fail to parse."""
    good, bad = {}, {}
    for name, delim, parse in [(AUDIT, ",", parse_audit), (GATEWAY, ";", parse_gateway)]:
        good[name], bad[name] = [], []
        with open(out / name, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delim)
            next(reader)
            for n, cells in enumerate(reader, 1):
                try:
                    good[name].append(parse(cells))
                except ValueError:
                    bad[name].append(n)
    good[FLOWS], bad[FLOWS] = [], []
    with gzip.open(out / FLOWS, "rt", encoding="utf-8", newline="\n") as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad[FLOWS].append(n)
                continue
            if not isinstance(rec, dict):
                bad[FLOWS].append(n)
                continue
            assert list(rec) == ["flow_id", "start", "end", "src_addr", "src_port", "dst_addr",
                                 "dst_port", "proto", "bytes", "packets", "edge_pop"]
            good[FLOWS].append(rec)
    with open(out / BACKUPS, newline="", encoding="utf-8") as f:
        good[BACKUPS], bad[BACKUPS] = list(csv.DictReader(f)), []
    return good, bad


def recount(out: Path) -> dict:
    """Re-derive the planted facts from the files."""
    ref = Reference(out)
    good, bad = read_exports(out)
    events = good[AUDIT] + good[GATEWAY]
    cn, by_country, by_month, jump, conflicts, days = [], {}, {}, [], 0, set()
    largest = sorted((e["bytes"] or 0 for e in events if e["ok"]), reverse=True)
    for e in events:
        net, person = ref.network(e["ip"]), ref.people.get(e["actor"])
        net_c = net["country"] if net else None
        home = person["home_country"] if person and person["home_country"] else None
        days.add(e["ts"].date().isoformat())
        conflicts += bool(net_c and home and net_c != home)
        asset = ref.asset(e["resource"])
        assert e["resource"] == "" or asset is not None, e["resource"]
        if not e["ok"] or asset is None or asset["data_category"] != "us_user_data":
            continue
        if home == "CN":
            cn.append(e)
        if net and net["kind"] == "jump_host":
            jump.append((e, person["actor_id"]))
        if (net_c and net_c != "US") or (home and home != "US"):
            country = home if home and home != "US" else net_c
            by_country[country] = by_country.get(country, 0) + 1
            month = by_month.setdefault(country, {})
            key = e["ts"].strftime("%Y-%m")
            month[key] = month.get(key, 0) + 1
    share = {}
    for rec in good[FLOWS]:
        m = share.setdefault(rec["start"][:7], [0, 0])
        m[0] += rec["bytes"]
        m[1] += rec["bytes"] if ref.network(rec["dst_addr"])["org"] == "Ironbridge Cloud" else 0
    offshore = [j for j in good[BACKUPS] if j["status"] == "success" and j["dataset"] == "us_user_data"
                and ref.network(j["dst_ip"])["site"] == "sg-dc"]
    after = [j for j in offshore if datetime.fromisoformat(j["started_at"]) >= PROMISE]
    return {
        "bad": bad, "good_counts": {k: len(v) for k, v in good.items()},
        "cn_total": len(cn), "cn_after": sum(e["ts"] >= PROMISE for e in cn),
        "cn_first": min(e["ts"] for e in cn), "cn_last": max(e["ts"] for e in cn),
        "cn_actors": sorted({ref.people[e["actor"]]["actor_id"] for e in cn}),
        "by_country": by_country, "by_month": by_month, "conflicts": conflicts,
        "jump_total": len(jump), "jump_actors": sorted({a for _, a in jump}),
        "days": days, "largest": largest[:2], "share": share,
        "offshore_total": (len(offshore), sum(int(j["bytes_copied"]) for j in offshore)),
        "offshore_after": (len(after), sum(int(j["bytes_copied"]) for j in after)),
        "events": events,
    }


def iso_ms(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def check_truth_against_files(out: Path, truth: dict) -> dict:
    """Assert the ground truth equals an independent recount of the files."""
    r = recount(out)
    for name, tally in truth["rows"].items():
        assert tally["read"] == tally["loaded"] + tally["rejected"]
        assert tally["loaded"] == r["good_counts"][name]
        assert sorted(x["record"] for x in truth["rejects"] if x["file"] == name) == r["bad"][name]
    assert sorted(truth["rows"]) == sorted([AUDIT, GATEWAY, FLOWS, BACKUPS])

    cn = truth["cn_staff_access"]
    assert cn["total"] == r["cn_total"]
    assert cn["after_promise"] == r["cn_after"]
    assert cn["first_ts"] == iso_ms(r["cn_first"])
    assert cn["last_ts"] == iso_ms(r["cn_last"])
    assert cn["first_date"] == cn["first_ts"][:10]
    assert cn["actors"] == r["cn_actors"]
    assert sum(cn["by_month"].values()) == cn["total"]
    assert truth["access_by_country"] == r["by_country"]
    assert truth["access_by_country_by_month"] == r["by_month"]
    assert truth["access_by_country"]["CN"] == cn["total"]
    for country, months in truth["access_by_country_by_month"].items():
        assert sum(months.values()) == truth["access_by_country"][country]
    assert sum(truth["cross_border_by_basis"].values()) == sum(truth["access_by_country"].values())
    assert truth["location_conflicts"] == r["conflicts"]
    events = truth["access_events"]
    assert events["rows"] == events["accesses"] + events["failed"] == len(r["events"])
    assert events["accesses"] == sum(e["ok"] for e in r["events"])

    jump = truth["jump_host"]
    assert jump["accesses"] == r["jump_total"]
    assert jump["actors"] == r["jump_actors"]
    assert set(jump["actors"]) <= set(cn["actors"])
    assert jump["accesses"] <= cn["total"]

    bulk = truth["bulk_export"]
    assert [bulk["bytes"], bulk["next_largest_bytes"]] == r["largest"]
    row = [e for e in r["events"] if e["id"] == bulk["event_id"]]
    assert len(row) == 1
    assert (iso_ms(row[0]["ts"]), row[0]["resource"], row[0]["bytes"], row[0]["records"]) == \
        (bulk["ts"], bulk["resource"], bulk["bytes"], bulk["records"])

    share = truth["partner_share"]["by_month"]
    assert sorted(share) == sorted(r["share"])
    for month, (total, partner) in r["share"].items():
        assert share[month] == {"total_bytes": total, "partner_bytes": partner,
                                "share": round(partner / total, 6)}

    off = truth["offshore_backups"]
    assert (off["total"]["copies"], off["total"]["bytes"]) == r["offshore_total"]
    assert (off["after_promise"]["copies"], off["after_promise"]["bytes"]) == r["offshore_after"]

    gap = truth["access_log_gap"]
    period = [(datetime(2021, 7, 1) + timedelta(days=i)).date().isoformat() for i in range(549)]
    assert gap["all_days_without_events"] == [d for d in period if d not in r["days"]]
    assert (gap["start"], gap["end"], gap["days"]) == ("2022-03-08", "2022-03-11", 4)
    return r


def check_planted(truth: dict) -> None:
    """The facts the case is built around, at any scale."""
    cn = truth["cn_staff_access"]
    assert cn["first_date"] == "2021-09-14"
    assert cn["first_ts"] == "2021-09-14T03:12:45.000Z"
    assert cn["after_promise"] > 0
    bulk = truth["bulk_export"]
    assert (bulk["actor_id"], bulk["principal"], bulk["raw_action"], bulk["resource"], bulk["bytes"],
            bulk["records"], bulk["ts"]) == (
        "lzhao", "lei.zhao@reelriver.example", "ExportTable", "db://us-prod/users.profiles",
        48_213_554_176, 151_204_332, "2022-08-23T19:47:12.384Z")
    assert bulk["next_largest_bytes"] < 1_000_000_000
    jump = truth["jump_host"]
    assert (jump["ip"], jump["site"], jump["first_ts"]) == ("10.20.3.250", "us-jump-1",
                                                            "2022-07-05T02:41:09.000Z")
    off = truth["offshore_backups"]
    assert (off["dst_site"], off["dst_country"]) == ("sg-dc", "SG")
    assert off["after_promise"]["first_ts"] >= "2022-06-17"
    assert off["after_promise"]["last_ts"] < "2022-12-01"
    assert 0 < off["after_promise"]["copies"] < off["total"]["copies"]
    assert [(x["file"], x["problem"]) for x in truth["rejects"]] == [
        (GATEWAY, "unparseable Zeit '31.02.2022 10:00:00'"),
        (GATEWAY, "Bytes is not an integer: 'n/a'"),
        (GATEWAY, "too few fields: 5 of 9 (truncated row)"),
        (AUDIT, "bytes_out is not an integer: '12kb'"),
        (AUDIT, "too few fields: 6 of 11 (truncated row)"),
        (AUDIT, "empty event_time"),
        (AUDIT, "unparseable event_time '2022-02-30T25:61:00Z'"),
        (AUDIT, "too many fields: 12 of 11"),
        (AUDIT, "unparseable event_time '21/09/2022 03:12'"),
        (FLOWS, "truncated JSON object"),
        (FLOWS, "JSON array, not an object"),
    ]
    assert truth["case"] == {
        "definition": truth["case"]["definition"],
        "period_start": "2021-07-01T00:00:00.000Z", "period_end": "2023-01-01T00:00:00.000Z",
        "promise_date": "2022-06-17T00:00:00.000Z", "jurisdiction": "US",
        "category": "us_user_data", "partner_org": "Ironbridge Cloud"}
    for key, value in truth.items():
        if isinstance(value, dict) and key not in {"generator", "rows", "access_by_country",
                                                   "access_by_country_by_month",
                                                   "cross_border_by_basis", "access_events"}:
            assert isinstance(value.get("definition"), str), key
        elif key not in {"generator", "rejects"} and not key.endswith("_definition"):
            assert isinstance(truth.get(f"{key}_definition"), str), key


# -- ground truth --------------------------------------------------------------------------------

def test_ground_truth_matches_files(case):
    out, truth = case
    check_truth_against_files(out, truth)
    check_planted(truth)


def test_ground_truth_scale_one_shape(case):
    _, truth = case
    cn = truth["cn_staff_access"]
    assert list(cn["by_month"]) == MONTHS[2:]  # every month from 2021-09 on
    assert cn["by_month"]["2021-09"] < 50 and cn["by_month"]["2022-12"] > 200
    assert cn["actors"] == ["hwang", "jli", "jxu", "lzhao", "mliu", "thuang", "wzhang", "xzhou", "ysun"]
    assert truth["jump_host"]["actors"] == ["hwang", "jxu", "wzhang"]
    assert truth["jump_host"]["last_ts"] > "2022-12"
    assert sorted(truth["access_by_country"]) == ["CN", "IE", "SG"]
    assert truth["cross_border_by_basis"]["roster"] == truth["jump_host"]["accesses"] + 1  # + bulk
    share = truth["partner_share"]["by_month"]
    assert list(share) == MONTHS
    assert share["2021-07"]["share"] < 0.05
    for month in MONTHS[11:]:  # 2022-06 onwards
        assert 0.99 <= share[month]["share"] < 1.0
        assert share[month]["partner_bytes"] < share[month]["total_bytes"]
    assert truth["access_log_gap"]["all_days_without_events"] == [
        "2022-03-08", "2022-03-09", "2022-03-10", "2022-03-11"]
    events = truth["access_events"]["rows"]
    assert 20_000 <= events <= 40_000
    assert 10_000 <= truth["rows"][FLOWS]["loaded"] <= 20_000
    assert [truth["rows"][f]["rejected"] for f in (AUDIT, GATEWAY, FLOWS, BACKUPS)] == [6, 3, 2, 0]


def test_gateway_and_audit_split(case):
    out, truth = case
    ref = Reference(out)
    good, _ = read_exports(out)
    sites = {"sg-office", "cn-bj-office", "us-jump-1"}
    assert all(ref.network(e["ip"])["site"] in sites for e in good[GATEWAY])
    assert not any((ref.network(e["ip"]) or {}).get("site") in sites for e in good[AUDIT])
    ipv6 = sum(":" in e["ip"] for e in good[AUDIT] + good[GATEWAY])
    assert 0.07 < ipv6 / truth["access_events"]["rows"] < 0.13
    iso = sum(1 for line in (out / GATEWAY).read_text(encoding="utf-8").splitlines()[1:]
              if line[:4].isdigit())
    assert 0.01 < iso / truth["rows"][GATEWAY]["read"] < 0.03


def test_small_scale_via_command_line(case, tmp_path):
    _, full = case
    out = tmp_path / "small"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "investigate.samplecase", str(out), "--scale", "0.1"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert "wrote" in done.stdout
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    assert truth["generator"]["scale"] == 0.1
    check_truth_against_files(out, truth)
    check_planted(truth)
    assert truth["access_events"]["rows"] < full["access_events"]["rows"] // 5
    assert truth["rows"][FLOWS]["read"] < full["rows"][FLOWS]["read"] // 5
    assert sum(len(b) for b in files_of(out).values()) < sum(len(b) for b in files_of(case[0]).values())


def test_other_seed_differs(tmp_path):
    a = generate(tmp_path / "a", seed=1, scale=0.05)
    b = generate(tmp_path / "b", seed=2, scale=0.05)
    assert a["access_events"] != b["access_events"]
    assert (tmp_path / "a" / AUDIT).read_bytes() != (tmp_path / "b" / AUDIT).read_bytes()
