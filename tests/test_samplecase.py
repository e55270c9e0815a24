"""Tests of the sample-case generator alone (investigate.samplecase).

The ground truth is re-derived here from the written files with an
independent, standard-library implementation of the case definitions, so a
bug in the generator's own counting cannot hide behind itself.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timedelta, timezone
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
NATIVE = "exports_native"
CT_FILE = re.compile(r"exports_native/AWSLogs/111122223333/CloudTrail/us-east-1/(\d{4})/(\d\d)/(\d\d)/"
                     r"111122223333_CloudTrail_us-east-1_(\d{8})T0000Z_[0-9a-f]{8}\.json\.gz")
DIGEST_FILE = re.compile(r"exports_native/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/(\d{4})/(\d\d)/(\d\d)/"
                         r"111122223333_CloudTrail-Digest_us-east-1_rr-org-trail_us-east-1_(\d{8})T000000Z\.json\.gz")
PG_FILE = re.compile(r"exports_native/postgresql/(us-prod|sg-prod)/postgresql-(\d{4}-\d\d)\.log\.gz")
WEB_FILE = re.compile(r"exports_native/gateway/access\.log-(\d{8})\.gz")
FLOWLOGS = "exports_flows"
VPC_FILE = re.compile(r"exports_flows/vpcflow/AWSLogs/111122223333/vpcflowlogs/us-east-1/(\d{4})/(\d\d)/(\d\d)/"
                      r"111122223333_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_(\d{8})T0000Z_[0-9a-f]{8}\.log\.gz")
ZEEK_FILE = re.compile(r"exports_flows/zeek/conn\.(\d{4}-\d\d)\.log\.gz")
VPC_HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
              "start end action log-status flow-direction")
# The four CSV exports at seed 20221, scale 1: the native variant must never change them.
CSV_SHA256 = {
    AUDIT: "204854f89812ad6f1d09f7ba9b7c06d0a4eab5c6908c9233481dbdec2050d172",
    GATEWAY: "60f9cde2f2d7e6e56c289d571b2e7685e730991cbd9f3fbbd1bc152ac638e345",
    FLOWS: "9bebe0feba638aa0e3536f0d6605461b1090f7ae8814bc54305940d768c0014c",
    BACKUPS: "1ee3e294928efe5a8dd183ddd28a79d66b820427a9926c7a45e2b64504d0038b",
}


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
    assert total < 15_000_000
    native = sum(len(b) for n, b in files_of(out).items() if n.startswith(NATIVE + "/"))
    assert native < 6_000_000
    flowlogs = sum(len(b) for n, b in files_of(out).items() if n.startswith(FLOWLOGS + "/"))
    assert flowlogs < 4_000_000


def test_csv_exports_are_pinned(case):
    """Writing the native logs draws on random streams of their own: the CSVs stay as they were."""
    out, _ = case
    assert {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in CSV_SHA256} == CSV_SHA256


def test_committed_samples_equal_fresh_generation(case):
    out, _ = case
    committed = files_of(COMMITTED)
    fresh = files_of(out)
    assert sorted(set(committed) - HAND_WRITTEN) == sorted(fresh)
    for name, data in fresh.items():
        assert committed[name] == data, f"data_samples/{name} differs from a fresh generation"


def test_expected_files(case):
    out, truth = case
    names = sorted(files_of(out))
    assert [n for n in names if not n.startswith((NATIVE + "/", FLOWLOGS + "/"))] == sorted([
        "case.yml", "case_native.yml", "case_vpc.yml", "case_zeek.yml", "ground_truth.json", AUDIT, GATEWAY, FLOWS, BACKUPS,
        "mappings/access_apac_gateway.yml", "mappings/access_platform_audit.yml",
        "mappings/backup_jobs.yml", "mappings/edge_flows.yml",
        "reference/data_catalogue.csv", "reference/network_inventory.csv",
        "reference/policy.yml", "reference/staff_roster.csv",
    ])
    native = [n for n in names if n.startswith(NATIVE + "/")]
    good, _ = read_exports(out)
    audit, gateway = good[AUDIT], good[GATEWAY]
    # CloudTrail: one file per UTC day with S3 or console events, in that day's folder.
    trail = [n for n in native if CT_FILE.fullmatch(n)]
    for n in trail:
        y, m, d, stamp = CT_FILE.fullmatch(n).groups()
        assert stamp == y + m + d
    assert sorted(CT_FILE.fullmatch(n).group(4) for n in trail) == sorted(
        {e["ts"].strftime("%Y%m%d") for e in audit if e["resource"].startswith("s3://") or e["action"] == "Login"})
    # Digests: three, in the folder of their end time; the loader skips them.
    digests = [n for n in native if DIGEST_FILE.fullmatch(n)]
    assert len(digests) == 3 and digests == truth["native_skipped"]
    # pgaudit: one file per database and UTC month with events on it.
    logs = [PG_FILE.fullmatch(n).groups() for n in native if PG_FILE.fullmatch(n)]
    assert sorted(logs) == sorted({(e["resource"][5:].split("/")[0], e["ts"].strftime("%Y-%m"))
                                   for e in audit if e["resource"].startswith("db://")})
    # nginx: one file per Singapore month, named after its last day.
    web = [WEB_FILE.fullmatch(n).group(1) for n in native if WEB_FILE.fullmatch(n)]
    months = {e["ts"].astimezone(SGT).date().replace(day=1) for e in gateway}
    last_days = {(date(m.year + m.month // 12, m.month % 12 + 1, 1) - timedelta(days=1)).strftime("%Y%m%d")
                 for m in months}
    assert sorted(web) == sorted(last_days)
    assert len(native) == len(trail) + len(digests) + len(logs) + len(web)
    # Every native file is an input of case_native.yml (or a skipped digest), and vice versa.
    assert sorted(truth["native_rows"]) == sorted(trail + [f"{NATIVE}/postgresql/{db}/postgresql-{m}.log.gz"
                                                           for db, m in logs]
                                                  + [f"{NATIVE}/gateway/access.log-{d}.gz" for d in web]
                                                  + [FLOWS, BACKUPS])
    # Flow logs: one VPC object per UTC day of the period, one Zeek file per UTC month.
    flowlogs = [n for n in names if n.startswith(FLOWLOGS + "/")]
    vpc = [n for n in flowlogs if VPC_FILE.fullmatch(n)]
    zeek = [n for n in flowlogs if ZEEK_FILE.fullmatch(n)]
    assert len(flowlogs) == len(vpc) + len(zeek)
    assert sorted(VPC_FILE.fullmatch(n).group(4) for n in vpc) == [
        (date(2021, 7, 1) + timedelta(days=i)).strftime("%Y%m%d") for i in range(549)]
    assert all("".join(VPC_FILE.fullmatch(n).groups()[:3]) == VPC_FILE.fullmatch(n).group(4) for n in vpc)
    assert sorted(ZEEK_FILE.fullmatch(n).group(1) for n in zeek) == MONTHS
    assert sorted(truth["flow_rows"]) == sorted(flowlogs)


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


def test_native_file_formats(case):
    out, _ = case
    native = {n: b for n, b in files_of(out).items() if n.startswith(NATIVE + "/")}
    for name, data in native.items():
        if name.endswith(".gz"):
            assert data[:4] == b"\x1f\x8b\x08\x00", name  # gzip, no file name
            assert data[4:8] == b"\x00\x00\x00\x00", name  # mtime 0
            text = gzip.decompress(data)
        else:
            text = data
        assert b"\r" not in text, name
        if CT_FILE.fullmatch(name) or DIGEST_FILE.fullmatch(name):
            assert b"\n" not in text, name  # one line, as CloudTrail writes them
        else:
            assert text.endswith(b"\n"), name
        if CT_FILE.fullmatch(name):
            assert text.startswith(b'{"Records":[{"eventVersion":"1.08",')
        elif DIGEST_FILE.fullmatch(name):
            doc = json.loads(text)
            assert {"awsAccountId", "digestStartTime", "digestEndTime", "logFiles"} <= set(doc)
            for f in doc["logFiles"]:  # the digest names a log file by its hash
                assert hashlib.sha256(native[f"{NATIVE}/{f['s3Object']}"]).hexdigest() == f["hashValue"]
    pg = b"".join(gzip.decompress(b) for n, b in native.items() if PG_FILE.fullmatch(n))
    for needle in (b"LOG:  connection authorized: user=", b"LOG:  checkpoint starting: time",
                   b"LOG:  checkpoint complete: wrote ", b"ERROR:  permission denied for table ",
                   b'ERROR:  syntax error at or near "FORM"', b"\n\tFROM ",
                   b",READ,COPY,TABLE,users.profiles,COPY users.profiles TO STDOUT,<not logged>,151204332\n"):
        assert needle in pg, needle


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


# -- the native logs, read independently ------------------------------------------------------------

WEB_LINE = re.compile(r'(\S+) - (\S+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0800)\] '
                      r'"(GET|PUT|POST|DELETE) (/\S*) HTTP/1\.1" (200|403) (\d+|-) "-" "rr-gw/1\.4"')
PG_PREFIX = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\]: "
                       r"user=([^,]*),db=([^,]*),client=(\S*) (LOG|ERROR|STATEMENT):  (.*)", re.S)
S3_OPS = {"GetObject": "GetObject", "ListObjects": "ListBucket", "PutObject": "PutObject",
          "DeleteObject": "DeleteObject"}
WEB_ACTIONS = {"READ": "GET", "LIST": "GET", "WRITE": "PUT", "DELETE": "DELETE", "EXPORT": "POST",
               "LOGIN": "POST"}


def _cloudtrail_event(r: dict) -> dict:
    if not ISO_MS.fullmatch(r.get("eventTime") or ""):
        raise ValueError("eventTime")
    ident = r["userIdentity"]
    assert ident["type"] == "IAMUser"
    assert ident["arn"] == f"arn:aws:iam::111122223333:user/{ident['userName']}"
    assert r["eventVersion"] == "1.08" and r["recipientAccountId"] == "111122223333"
    if r["eventName"] == "ConsoleLogin":
        assert r["eventSource"] == "signin.amazonaws.com" and "resources" not in r
        ok = r["responseElements"]["ConsoleLogin"] == "Success"
        assert ok or r["errorMessage"] == "Failed authentication"
        action, resource = "Login", ""
    else:
        assert r["eventSource"] == "s3.amazonaws.com" and r["eventCategory"] == "Data"
        p = r["requestParameters"]
        action = S3_OPS[r["eventName"]]
        bucket, key = p["bucketName"], p["prefix"] if action == "ListBucket" else p["key"]
        resource = f"s3://{bucket}/{key}"
        arns = [x["ARN"] for x in r["resources"]]
        assert arns == ([f"arn:aws:s3:::{bucket}"] if action == "ListBucket"
                        else [f"arn:aws:s3:::{bucket}/{key}", f"arn:aws:s3:::{bucket}"])
        ok = "errorCode" not in r
        assert ok or (r["errorCode"], r["errorMessage"]) == ("AccessDenied", "Access Denied")
    sent = (r.get("additionalEventData") or {}).get("bytesTransferredOut")
    assert sent is None or (isinstance(sent, float) and sent == int(sent))
    return {"id": r["eventID"], "ts": datetime.fromisoformat(r["eventTime"]), "actor": ident["userName"],
            "ip": r["sourceIPAddress"], "action": action, "resource": resource, "ok": ok,
            "bytes": None if sent is None else int(sent), "records": None}


def _web_event(line: str) -> dict:
    m = WEB_LINE.fullmatch(line)
    if not m:
        raise ValueError("layout")
    ip, user, when, method, path, status, size = m.groups()
    ts = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z")  # a month name not in English: ValueError
    if path == "/login":
        action, resource = "LOGIN", ""
    elif path.startswith("/export/db/"):
        action, resource = "EXPORT", "db://" + path.removeprefix("/export/db/")
    elif path.startswith("/db/"):
        action, resource = "READ", "db://" + path.removeprefix("/db/")
    else:
        assert path.startswith("/s3/"), path
        resource = "s3://" + path.removeprefix("/s3/").removesuffix("?list-type=2")
        action = "LIST" if path.endswith("?list-type=2") else {"GET": "READ", "PUT": "WRITE",
                                                               "DELETE": "DELETE"}[method]
    assert method == WEB_ACTIONS[action]
    return {"ts": ts.astimezone(timezone.utc), "actor": user, "ip": ip, "action": action,
            "resource": resource, "ok": status == "200", "bytes": None if size == "-" else int(size),
            "records": None}


def _pg_entries(text: str) -> list[list]:
    """[first line number, entry text with the continuation tabs removed] of a server log."""
    entries: list[list] = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if PG_PREFIX.match(line):
            entries.append([n, line])
        else:
            assert line.startswith("\t") and entries, (n, line)
            entries[-1][1] += "\n" + line[1:]
    return entries


def _pg_audit(fields_text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(fields_text), strict=True))
    if len(rows) != 1 or len(rows[0]) != 10 or not rows[0][1].isdigit():
        raise ValueError("fields")
    return rows[0]


def _pg_events(rel: str, text: str, events: list, bad: dict, read: dict) -> None:
    entries = _pg_entries(text)
    for i, (n, entry) in enumerate(entries):
        ts, pid, user, db, client, level, message = PG_PREFIX.match(entry).groups()
        base = {"ts": datetime.fromisoformat(ts).replace(tzinfo=timezone.utc), "actor": user,
                "ip": client, "bytes": None, "kind": "pgaudit"}
        if level == "LOG" and message.startswith("AUDIT: "):
            read[rel] = read.get(rel, 0) + 1
            try:
                f = _pg_audit(message.removeprefix("AUDIT: "))
            except (ValueError, csv.Error):
                bad.setdefault(rel, []).append(n)
                continue
            assert (f[0], f[3], f[5], f[8]) == ("SESSION", "READ", "TABLE", "<not logged>")
            action = {"SELECT": "SelectRows", "COPY": "ExportTable"}[f[4]]
            assert f[7].startswith(f"COPY {f[6]} TO " if action == "ExportTable" else "SELECT ")
            events.append({**base, "action": action, "resource": f"db://{db}/{f[6]}", "ok": True,
                           "records": int(f[9])})
        elif level == "ERROR" and message.startswith("permission denied for table "):
            read[rel] = read.get(rel, 0) + 1
            _, next_pid, *_, next_level, statement = PG_PREFIX.match(entries[i + 1][1]).groups()
            assert (next_pid, next_level) == (pid, "STATEMENT")
            table = message.removeprefix("permission denied for table ")
            events.append({**base, "action": "ExportTable" if statement.startswith("COPY ") else "SelectRows",
                           "resource": f"db://{db}/{table}", "ok": False, "records": None})


def read_native(out: Path):
    """Good events of the native logs, bad record numbers per file, records read per file.

    Records are numbered as the loaders do: an event's position in its CloudTrail file, a web
    log line, the first line of a pgaudit entry (other server messages are not records).
    """
    events, bad, read = [], {}, {}
    for name, data in files_of(out / NATIVE).items():
        rel = f"{NATIVE}/{name}"
        if CT_FILE.fullmatch(rel):
            for n, r in enumerate(json.loads(gzip.decompress(data))["Records"], 1):
                read[rel] = n
                try:
                    events.append({**_cloudtrail_event(r), "kind": "cloudtrail"})
                except ValueError:
                    bad.setdefault(rel, []).append(n)
        elif WEB_FILE.fullmatch(rel):
            for n, line in enumerate(gzip.decompress(data).decode("utf-8").split("\n")[:-1], 1):
                read[rel] = n
                try:
                    events.append({**_web_event(line), "kind": "web"})
                except ValueError:
                    bad.setdefault(rel, []).append(n)
        elif PG_FILE.fullmatch(rel):
            _pg_events(rel, gzip.decompress(data).decode("utf-8"), events, bad, read)
    return events, bad, read


def _twin(e: dict, *, with_id: bool, with_bytes: bool = True, with_records: bool = True) -> tuple:
    """What an event's native record must show of its CSV row."""
    resource = e["resource"]
    if resource.startswith("db://") and not e["ok"]:  # a refused table read names the bare table
        db, _, obj = resource[5:].partition("/")
        resource = f"db://{db}/{obj.rsplit('.', 1)[-1]}"
    return ((e["id"],) if with_id else ()) + (
        e["ts"], e["actor"], e["ip"], e["action"], resource, e["ok"],
        e["bytes"] if with_bytes else None, e["records"] if with_records else None)


def check_native_against_files(out: Path, truth: dict) -> None:
    """The native logs carry exactly the CSV exports' access events; counts and rejects as stated."""
    native, bad, read = read_native(out)
    good, _ = read_exports(out)
    kinds = Counter(e["kind"] for e in native)
    # CloudTrail: the audit rows on S3 objects and console logins, with the same event ids and
    # bytes (a listing's count of keys, rows_returned in the CSV, is not in CloudTrail).
    assert Counter(_twin(e, with_id=True) for e in native if e["kind"] == "cloudtrail") == Counter(
        _twin(e, with_id=True, with_records=False) for e in good[AUDIT]
        if e["resource"].startswith("s3://") or e["action"] == "Login")
    # pgaudit: the audit rows on tables, with rows but no bytes (the log has none).
    assert Counter(_twin(e, with_id=False) for e in native if e["kind"] == "pgaudit") == Counter(
        _twin(e, with_id=False, with_bytes=False) for e in good[AUDIT] if e["resource"].startswith("db://"))
    # nginx: the gateway rows, with bytes but no records.
    assert Counter(_twin(e, with_id=False) for e in native if e["kind"] == "web") == Counter(
        _twin(e, with_id=False, with_records=False) for e in good[GATEWAY])
    assert sum(kinds.values()) == truth["access_events"]["rows"] and len(kinds) == 3
    # Counts and rejects as ground_truth.json states them.
    shared = (FLOWS, BACKUPS)
    rows = {k: v for k, v in truth["native_rows"].items() if k not in shared}
    assert {k: v["read"] for k, v in rows.items()} == read
    assert {k: v["rejected"] for k, v in rows.items() if v["rejected"]} == {k: len(v) for k, v in bad.items()}
    assert all(v["read"] == v["loaded"] + v["rejected"] for v in truth["native_rows"].values())
    assert sum(v["loaded"] for v in rows.values()) == len(native)
    assert sorted((r["file"], r["record"]) for r in truth["native_rejects"] if r["file"] not in shared) == \
        sorted((f, n) for f, ns in bad.items() for n in ns)
    assert {f: truth["native_rows"][f] for f in shared} == {f: truth["rows"][f] for f in shared}
    assert [r for r in truth["native_rejects"] if r["file"] in shared] == [
        r for r in truth["rejects"] if r["file"] in shared]


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
    def kind(file):
        return ("cloudtrail" if CT_FILE.fullmatch(file) else "web" if WEB_FILE.fullmatch(file)
                else "pgaudit" if PG_FILE.fullmatch(file) else file)
    assert sorted((kind(x["file"]), x["problem"]) for x in truth["native_rejects"]) == sorted([
        ("cloudtrail", "event without eventTime"),
        ("cloudtrail", "unreadable eventTime '2022-07-26T24:61:00Z'"),
        ("pgaudit", "AUDIT entry cut after the command (5 of 10 fields)"),
        ("pgaudit", "AUDIT entry cut off inside its quoted statement (end of file)"),
        ("web", "month name in German: 'Okt'"),
        ("web", "user agent's quote never closed"),
        (FLOWS, "truncated JSON object"),
        (FLOWS, "JSON array, not an object"),
    ])
    assert truth["generator"]["version"] == 3
    assert truth["case"] == {
        "definition": truth["case"]["definition"],
        "period_start": "2021-07-01T00:00:00.000Z", "period_end": "2023-01-01T00:00:00.000Z",
        "promise_date": "2022-06-17T00:00:00.000Z", "jurisdiction": "US",
        "category": "us_user_data", "partner_org": "Ironbridge Cloud"}
    for key, value in truth.items():
        if isinstance(value, dict) and key not in {"generator", "rows", "native_rows", "flow_rows",
                                                   "access_by_country",
                                                   "access_by_country_by_month",
                                                   "cross_border_by_basis", "access_events"}:
            assert isinstance(value.get("definition"), str), key
        elif key not in {"generator", "rejects"} and not key.endswith("_definition"):
            assert isinstance(truth.get(f"{key}_definition"), str), key


# -- ground truth --------------------------------------------------------------------------------

def test_ground_truth_matches_files(case):
    out, truth = case
    check_truth_against_files(out, truth)
    check_native_against_files(out, truth)
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
    check_native_against_files(out, truth)
    check_flowlogs_against_files(out, truth)
    check_planted(truth)
    assert truth["access_events"]["rows"] < full["access_events"]["rows"] // 5
    assert truth["rows"][FLOWS]["read"] < full["rows"][FLOWS]["read"] // 5
    assert sum(len(b) for b in files_of(out).values()) < sum(len(b) for b in files_of(case[0]).values())


def test_other_seed_differs(tmp_path):
    a = generate(tmp_path / "a", seed=1, scale=0.05)
    b = generate(tmp_path / "b", seed=2, scale=0.05)
    assert a["access_events"] != b["access_events"]
    assert (tmp_path / "a" / AUDIT).read_bytes() != (tmp_path / "b" / AUDIT).read_bytes()
    check_native_against_files(tmp_path / "a", a)
    assert a["native_rows"] != b["native_rows"]  # CloudTrail file names carry seeded parts


# -- flow logs (exports_flows/) --------------------------------------------------------------------

def read_flowlogs(out: Path):
    """Every record of the VPC and Zeek files, as (file, line number, kind, fields)."""
    vpc, zeek = [], []
    for name, data in files_of(out / FLOWLOGS).items():
        rel = f"{FLOWLOGS}/{name}"
        assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\x00\x00\x00\x00", rel
        lines = gzip.decompress(data).decode("utf-8").split("\n")
        assert lines[-1] == "", rel
        if VPC_FILE.fullmatch(rel):
            assert lines[0] == VPC_HEADER, rel
            vpc += [(rel, n, line.split(" ")) for n, line in enumerate(lines[1:-1], start=2)]
        else:
            assert ZEEK_FILE.fullmatch(rel), rel
            assert lines[0] == "#separator \\x09" and lines[6].startswith("#fields\tts\tuid\tid.orig_h\t")
            assert lines[-2].startswith("#close\t")
            fields = lines[6].split("\t")[1:]
            zeek += [(rel, n, dict(zip(fields, line.split("\t"))) if line.count("\t") == 20 else None)
                     for n, line in enumerate(lines, start=1) if not line.startswith("#") and line]
    return vpc, zeek


def check_flowlogs_against_files(out: Path, truth: dict) -> None:
    """Each transfer of the exports is in both flow logs with exactly its bytes; rows as counted."""
    good, _ = read_exports(out)
    flows = good[FLOWS]
    with open(out / BACKUPS, newline="", encoding="utf-8") as f:
        jobs = list(csv.DictReader(f))
    vpc, zeek = read_flowlogs(out)
    rows, rejects, apart = {}, [], []
    def tally(rel, n, state):
        t = rows.setdefault(rel, {"read": 0, "loaded": 0, "rejected": 0, "set_apart": 0})
        t["read"] += 1
        t[state] += 1
        (rejects if state == "rejected" else apart if state == "set_apart" else []).append((rel, n))

    def epoch(text):
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())

    # VPC: a transfer's records share (sorted address pair, ports, start, end): both directions.
    by_key = Counter()
    actions = Counter()
    for rel, n, f in vpc:
        if len(f) == 15 and f[13] == "NODATA":
            assert f[3:10] == ["-"] * 7
            tally(rel, n, "set_apart")
            continue
        if len(f) != 15 or not (0 <= int(f[5]) <= 65535 and 0 <= int(f[6]) <= 65535):
            tally(rel, n, "rejected")
            continue
        tally(rel, n, "loaded")
        assert f[:2] == ["5", "111122223333"] and f[13] == "OK" and int(f[9]) > 0 and int(f[8]) > 0
        ends = tuple(sorted([(f[3], f[5]), (f[4], f[6])]))
        by_key[(ends, int(f[10]), int(f[11]), f[12])] += int(f[9])
        actions[f[12]] += 1
    expected = Counter()
    for fl in flows:
        ends = tuple(sorted([(fl["src_addr"], str(fl["src_port"])), (fl["dst_addr"], str(fl["dst_port"]))]))
        expected[(ends, epoch(fl["start"]), epoch(fl["end"]), "ACCEPT")] += fl["bytes"]
    edge_keys = {k for k in by_key if any(ip.startswith(("198.51.100.", "2001:db8:ff")) for ip, _ in k[0])}
    assert {k: by_key[k] for k in edge_keys} == dict(expected)
    backup = Counter()
    for k, v in by_key.items():
        if k not in edge_keys:
            backup[(frozenset(ip for ip, _ in k[0]), k[1], k[3])] += v
    for j in jobs:
        key = (frozenset((j["src_ip"], j["dst_ip"])), epoch(j["started_at"]),
               "ACCEPT" if j["status"] == "success" else "REJECT")
        got = backup.pop(key)
        # A successful job: its bytes plus the ACKs back (52 bytes each); a failed one: REJECT.
        assert got == int(j["bytes_copied"]) if j["status"] == "failed" else \
            int(j["bytes_copied"]) < got < int(j["bytes_copied"]) * 1.05
    assert not backup
    assert actions["REJECT"] == sum(j["status"] == "failed" for j in jobs)

    # Zeek: one connection per transfer, orig = initiator, orig_bytes + resp_bytes = its bytes.
    conns = {}
    for rel, n, rec in zeek:
        if rec is None:
            tally(rel, n, "rejected")
            continue
        tally(rel, n, "loaded")
        assert rel.endswith(f"conn.{datetime.fromtimestamp(float(rec['ts']), timezone.utc):%Y-%m}.log.gz")
        key = (rec["id.orig_h"], int(rec["id.orig_p"]), rec["id.resp_h"], int(rec["id.resp_p"]),
               int(float(rec["ts"])))
        assert key not in conns
        conns[key] = rec
    for fl in flows:
        rec = conns.pop((fl["src_addr"], fl["src_port"], fl["dst_addr"], fl["dst_port"], epoch(fl["start"])))
        assert rec["conn_state"] == "SF" and rec["proto"] == fl["proto"]
        assert int(rec["orig_bytes"]) + int(rec["resp_bytes"]) == fl["bytes"]
        end = float(rec["ts"]) + float(rec["duration"])
        assert abs(end - epoch(fl["end"])) < 1e-3
    for j in jobs:
        [key] = [k for k in conns if (k[0], k[2], k[4]) == (j["src_ip"], j["dst_ip"], epoch(j["started_at"]))]
        rec = conns.pop(key)
        if j["status"] == "success":
            assert rec["conn_state"] == "SF"
            assert int(rec["orig_bytes"]) + int(rec["resp_bytes"]) == int(j["bytes_copied"])
            assert rec["ts"].endswith(".000000")
        else:
            assert (rec["conn_state"], rec["orig_bytes"], rec["resp_bytes"]) == ("REJ", "0", "0")
    assert not conns
    assert rows == truth["flow_rows"]
    assert sorted(rejects) == sorted((r["file"], r["record"]) for r in truth["flow_rejects"])
    assert sorted(apart) == sorted((r["file"], r["record"]) for r in truth["flow_set_apart"])


def test_flow_logs_match_the_exports(case):
    out, truth = case
    check_flowlogs_against_files(out, truth)
    assert sum(v["rejected"] for v in truth["flow_rows"].values()) == 3
    assert sum(v["set_apart"] for v in truth["flow_rows"].values()) == 5
    # The backup sources' /32s (seeded addresses) keep their site's country and org.
    with open(out / "reference/network_inventory.csv", newline="", encoding="utf-8") as f:
        inventory = {r["site"]: r for r in csv.DictReader(f)}
    with open(out / BACKUPS, newline="", encoding="utf-8") as f:
        host_ip = {r["src_host"]: r["src_ip"] for r in csv.DictReader(f)}
    assert inventory["us-userdata-db"] == {"cidr": host_ip["use-db-07"] + "/32", "country": "US",
                                           "org": "ReelRiver Ltd.", "site": "us-userdata-db",
                                           "kind": "datacenter"}
    assert inventory["ibc-userdata-vm"] == {"cidr": host_ip["ibc-usw-vm-3141"] + "/32", "country": "US",
                                            "org": "Ironbridge Cloud", "site": "ibc-userdata-vm",
                                            "kind": "cloud"}
    catalogue = (out / "reference/data_catalogue.csv").read_text(encoding="utf-8")
    assert "site:us-userdata-db,us_user_data,US,us-east-dc\n" in catalogue
    assert "site:ibc-userdata-vm,us_user_data,US,ibc-us-west\n" in catalogue


def test_regenerating_leaves_no_stale_native_files(tmp_path):
    generate(tmp_path / "x", seed=1, scale=0.02)
    truth = generate(tmp_path / "x", seed=2, scale=0.02)
    generate(tmp_path / "fresh", seed=2, scale=0.02)
    assert files_of(tmp_path / "x") == files_of(tmp_path / "fresh")
    check_native_against_files(tmp_path / "x", truth)
