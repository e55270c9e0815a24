"""Reference tables, policy, mappings and the case manifests (CSV and native variants).

YAML is written as fixed text (no YAML library in the generator); the
tests parse it back with PyYAML when that is installed. Values YAML could
read as something else (``%``-formats, ``;``, dates) are quoted.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .world import CATALOGUE, COMPANY, NETWORKS, ROSTER, Network

POLICY = """\
# Policy rules of the fictional ReelRiver case. A null list means: no restriction.
name: ReelRiver US data arrangement (fictional)
source: ReelRiver public statement of 2022-06-17 (fictional)
rules:
  - id: us_data_partner_only
    description: From 2022-06-17 all US user traffic goes through Ironbridge Cloud and US user data is stored only in the US.
    data_category: us_user_data
    effective_from: "2022-06-17T00:00:00Z"
    effective_to: null
    access_countries: [US]
    storage_countries: [US]
    traffic_orgs: ["Ironbridge Cloud"]
    approval_required: true
  - id: us_data_before_promise
    description: Before 2022-06-17 US user data may be stored in the US or Singapore data centres and accessed from any company office with approval.
    data_category: us_user_data
    effective_from: "2021-07-01T00:00:00Z"
    effective_to: "2022-06-17T00:00:00Z"
    access_countries: null
    storage_countries: [US, SG]
    traffic_orgs: null
    approval_required: true
  - id: sg_data_in_sg
    description: Singapore user data is stored in Singapore.
    data_category: sg_user_data
    effective_from: "2021-07-01T00:00:00Z"
    effective_to: null
    access_countries: null
    storage_countries: [SG]
    traffic_orgs: null
    approval_required: false
"""

MAPPINGS = {
    "access_platform_audit.yml": """\
# US data platform audit export: comma-delimited, LF, ISO 8601 UTC timestamps with milliseconds
table: access_events
delimiter: ","
null_values: [""]
timestamp:
  timezone: UTC
columns:
  event_id: event_uuid
  ts: event_time
  actor_id: principal
  src_ip: client_ip
  raw_action: operation
  resource: object
  outcome: result
  bytes: bytes_out
  records: rows_returned
  user_agent: user_agent
actions:
  GetObject: read
  SelectRows: read
  ListBucket: list
  PutObject: write
  DeleteObject: delete
  ExportTable: export
  Login: login
outcomes:
  OK: success
  DENIED: failure
""",
    "access_apac_gateway.yml": """\
# APAC access gateway export (German UI): semicolon-delimited, CRLF, naive Asia/Singapore wall time
table: access_events
delimiter: ";"
null_values: ["", "-"]
timestamp:
  format: "%d.%m.%Y %H:%M:%S"
  timezone: Asia/Singapore
columns:
  event_id: ID
  ts: Zeit
  actor_id: Benutzer
  src_ip: Quell-IP
  raw_action: Aktion
  resource: Ressource
  outcome: Status
  bytes: Bytes
  records: Datensaetze
actions:
  READ: read
  LIST: list
  WRITE: write
  DELETE: delete
  EXPORT: export
  LOGIN: login
outcomes:
  ALLOW: success
  DENY: failure
""",
    "edge_flows.yml": """\
# Edge flow summaries of US user traffic: gzip-compressed JSON Lines, ISO 8601 UTC timestamps
table: transfer_events
timestamp:
  timezone: UTC
columns:
  event_id: flow_id
  ts_start: start
  ts_end: end
  src_ip: src_addr
  src_port: src_port
  dst_ip: dst_addr
  dst_port: dst_port
  protocol: proto
  bytes: bytes
  packets: packets
""",
    "backup_jobs.yml": """\
# Backup/replication job log: comma-delimited, LF, ISO 8601 timestamps with +00:00
table: transfer_events
delimiter: ","
null_values: [""]
timestamp:
  timezone: UTC
columns:
  event_id: job_id
  ts_start: started_at
  ts_end: finished_at
  src_ip: src_ip
  dst_ip: dst_ip
  bytes: bytes_copied
  src_host: src_host
  dst_host: dst_host
  dataset: dataset
  outcome: status
outcomes:
  success: success
  failed: failure
""",
}

def _manifest(title: str, inputs: str) -> str:
    """A case manifest: the case's facts, its inputs (YAML lines, comments included) and the
    reference files every variant shares."""
    return f"""\
name: ReelRiver (fictional case){title}
period: {{start: "2021-07-01T00:00:00Z", end: "2023-01-01T00:00:00Z"}}
promise_date: "2022-06-17T00:00:00Z"
jurisdiction: US
protected_category: us_user_data
partner_org: Ironbridge Cloud
{inputs}reference:
  networks: reference/network_inventory.csv
  actors: reference/staff_roster.csv
  assets: reference/data_catalogue.csv
  policy: reference/policy.yml
"""


_EXPORT_TRANSFERS = """\
  - {path: exports/edge_flows.jsonl.gz, format: jsonl, mapping: mappings/edge_flows.yml}
  - {path: exports/backup_jobs.csv, format: transfer_jobs, mapping: mappings/backup_jobs.yml}
"""

CASE = _manifest("", """\
inputs:
  - {path: exports/access_platform_audit.csv, format: csv, mapping: mappings/access_platform_audit.yml}
  - {path: exports/access_apac_gateway.csv, format: csv, mapping: mappings/access_apac_gateway.yml}
""" + _EXPORT_TRANSFERS)

CASE_NATIVE = _manifest(", native log formats", """\
# The access events of case.yml as the systems themselves logged them (folders: every file of
# the format below them); edge flows and backup jobs are the same exports as in case.yml.
inputs:
  - {path: exports_native/AWSLogs, format: cloudtrail}
  - {path: exports_native/postgresql, format: pgaudit}
  - {path: exports_native/gateway, format: web_access}
""" + _EXPORT_TRANSFERS)


def _flow_case(what: str, path: str, fmt: str, note: str) -> str:
    return _manifest(f", {what}", f"""\
# The transfers of case.yml (edge flows and backup jobs) as {what}: {note}
inputs:
  - {{path: {path}, format: {fmt}}}
""")


CASE_VPC = _flow_case(
    what="AWS VPC flow logs", path="exports_flows/vpcflow/AWSLogs", fmt="vpc_flow",
    note="one record per direction, one gzip object per UTC day (a folder: every file below it).")
CASE_ZEEK = _flow_case(
    what="Zeek conn.log", path="exports_flows/zeek", fmt="zeek_conn",
    note="one record per connection, one gzip file per UTC month (a folder: every file below it).")


def _write_csv(path: Path, header: tuple[str, ...], rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_documents(out: Path, hosts: tuple[Network, ...] = ()) -> list[str]:
    """Write reference/, mappings/ and the case manifests under ``out``; return the relative
    paths. ``hosts``: inventory rows appended after the fixed ones (the backup source hosts'
    /32s, whose addresses are seeded)."""
    written = []
    _write_csv(out / "reference/network_inventory.csv", ("cidr", "country", "org", "site", "kind"),
               [(n.cidr, n.country, n.org, n.site, n.kind) for n in NETWORKS + tuple(hosts)])
    _write_csv(out / "reference/staff_roster.csv",
               ("actor_id", "display_name", "home_country", "team", "employer", "aliases"),
               [(p.actor_id, p.display_name, p.home_country, p.team, COMPANY, ";".join(p.aliases))
                for p in ROSTER])
    _write_csv(out / "reference/data_catalogue.csv",
               ("resource_pattern", "data_category", "jurisdiction", "site"),
               [(a.pattern, a.category, a.jurisdiction, a.site) for a in CATALOGUE])
    _write_text(out / "reference/policy.yml", POLICY)
    written += ["reference/network_inventory.csv", "reference/staff_roster.csv",
                "reference/data_catalogue.csv", "reference/policy.yml"]
    for name, text in MAPPINGS.items():
        _write_text(out / "mappings" / name, text)
        written.append(f"mappings/{name}")
    _write_text(out / "case.yml", CASE)
    _write_text(out / "case_native.yml", CASE_NATIVE)
    _write_text(out / "case_vpc.yml", CASE_VPC)
    _write_text(out / "case_zeek.yml", CASE_ZEEK)
    written += ["case.yml", "case_native.yml", "case_vpc.yml", "case_zeek.yml"]
    return written
