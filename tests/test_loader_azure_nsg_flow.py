"""Azure NSG flow logs (format ``azure_nsg_flow``, one row per flow tuple) and Traffic Analytics
CSV exports (format ``azure_nsg_analytics``): own fixtures, bad inputs, real samples, peer test."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import Workspace, ingest_file

from .conftest import rows

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
COLS = ("source_record, ts_start, src_ip, src_port, dst_ip, dst_port, protocol, bytes, packets, "
        "action, outcome")
NSG = ("/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/CASE-RG/PROVIDERS/"
       "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/DB-NSG")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def record(groups, version=2, time="2024-05-02T10:01:00.1234567Z") -> dict:
    return {"time": time, "systemId": "5f0d1a11-0000-4000-8000-000000000001", "macAddress": "000D3A11AA22",
            "category": "NetworkSecurityGroupFlowEvent", "resourceId": NSG,
            "operationName": "NetworkSecurityGroupFlowEvents",
            "properties": {"Version": version, "flows": [
                {"rule": rule, "flows": [{"mac": mac, "flowTuples": tuples} for mac, tuples in macs]}
                for rule, macs in groups]}}


RECORDS = [
    record([
        ("DefaultRule_AllowInternetOutBound", [("000D3A11AA22", [
            "1714644000,10.0.0.4,198.51.100.20,44931,443,T,O,A,B,,,,",        # begin: no counts
            "1714644060,10.0.0.4,198.51.100.20,44931,443,T,O,A,C,30,16000,28,2100",
            "1714644090,10.0.0.4,198.51.100.20,44931,443,T,O,A,E,2,120,1,60",
        ])]),
        ("UserRule_DenyRdpIn", [("000D3A11AA22", ["1714644010,203.0.113.9,10.0.0.4,50123,3389,T,I,D,B,,,,"]),
                                ("000D3A11BB33", ["1714644020,2001:db8::9,2001:db8::4,53,40000,U,I,A,E,1,90,0,0"])]),
    ]),
    record([("DefaultRule_AllowVnetInBound", [("000D3A11AA22", [])])]),           # no tuples: set apart
    record([("DefaultRule_AllowInternetOutBound", [("000D3A11AA22", [
        "1714644100,10.0.0.4,198.51.100.21,44932,443,T,O,A,E,1,60,1,60",
        "1714644100,10.0.0.4,198.51.100.21,44932",                           # cut short
        "15,10.0.0.4,198.51.100.21,44933,443,T,O,A,E,1,60,1,60",              # relative seconds
        "1714644100,10.0.0.4,198.51.100.21,44934,443,T,O,A,E,1,6x,1,60",      # bad count
        "1714644100,10.0.0.999x,198.51.100.21,44935,443,T,O,A,E,1,60,1,60",   # bad address
        "1714644100,10.0.0.4,198.51.100.21,44936,70000,T,O,A,E,1,60,1,60",    # bad port
    ])])]),
    # version 1: eight parts, no state and no counts
    record([("DefaultRule_AllowInternetOutBound", [("000D3A11AA22", ["1542110377,10.0.0.4,13.67.143.118,44931,443,T,O,A"])])],
           version=1),
]


def blob(path: Path, records, indent=2) -> Path:
    path.write_text(json.dumps({"records": records}, indent=indent), encoding="utf-8")
    return path


def loaded(ws):
    return ws.sql(f"SELECT {COLS} FROM transfer_events ORDER BY source_record, extra->>'$.tuple'").fetchall()


def test_pt1h_blob_one_row_per_tuple(ws, tmp_path):
    result = ingest_file(ws, blob(tmp_path / "PT1H.json", RECORDS), "azure_nsg_flow")
    # 5 + 1 (set apart) + 6 (1 loaded, 5 rejected) + 1 tuples / records
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (13, 7, 5, 1)
    assert loaded(ws) == [
        (1, utc(2024, 5, 2, 10, 0), "10.0.0.4", 44931, "198.51.100.20", 443, "tcp", None, None, "A", "success"),
        (1, utc(2024, 5, 2, 10, 1), "10.0.0.4", 44931, "198.51.100.20", 443, "tcp", 18100, 58, "A", "success"),
        (1, utc(2024, 5, 2, 10, 1, 30), "10.0.0.4", 44931, "198.51.100.20", 443, "tcp", 180, 3, "A", "success"),
        (1, utc(2024, 5, 2, 10, 0, 10), "203.0.113.9", 50123, "10.0.0.4", 3389, "tcp", None, None, "D", "failure"),
        (1, utc(2024, 5, 2, 10, 0, 20), "2001:db8::9", 53, "2001:db8::4", 40000, "udp", 90, 1, "A", "success"),
        (3, utc(2024, 5, 2, 10, 1, 40), "10.0.0.4", 44932, "198.51.100.21", 443, "tcp", 120, 2, "A", "success"),
        (4, utc(2018, 11, 13, 11, 59, 37), "10.0.0.4", 44931, "13.67.143.118", 443, "tcp", None, None, "A", "success"),
    ]
    assert ws.sql("SELECT source_record, kind FROM set_apart").fetchall() == [
        (2, "record holds no flow tuples (properties.flows has no flowTuples)")]
    assert ws.sql("SELECT source_record, reason, raw FROM rejects ORDER BY reason").fetchall() == [
        (3, "tuple 2: has 4 comma-separated parts; an NSG flow tuple has 13 (version 2) or 8 (version 1): "
            "1714644100,10.0.0.4,198.51.100.21,44932", "1714644100,10.0.0.4,198.51.100.21,44932"),
        (3, "tuple 3: time 15 is before 2000-01-01 in epoch seconds, so not a date of this log "
            "(loading it would give 1970)", "15,10.0.0.4,198.51.100.21,44933,443,T,O,A,E,1,60,1,60"),
        (3, "tuple 4: bytes src->dst is not a whole number: 6x",
         "1714644100,10.0.0.4,198.51.100.21,44934,443,T,O,A,E,1,6x,1,60"),
        (3, "tuple 5: source address is not an IP address: 10.0.0.999x",
         "1714644100,10.0.0.4,198.51.100.21,44935,443,T,O,A,E,1,60,1,60".replace("10.0.0.4", "10.0.0.999x")),
        (3, "tuple 6: destination port 70000 is out of range 0-65535",
         "1714644100,10.0.0.4,198.51.100.21,44936,70000,T,O,A,E,1,60,1,60"),
    ]


def test_event_ids_are_unique_and_extra_holds_the_tuple(ws, tmp_path):
    path = blob(tmp_path / "PT1H.json", RECORDS)
    ingest_file(ws, path, "azure_nsg_flow")
    ids = [r[0] for r in ws.sql("SELECT event_id FROM transfer_events").fetchall()]
    assert len(ids) == len(set(ids)) == 7
    sha = ws.sql("SELECT sha256 FROM ingests").fetchone()[0]
    assert f"{sha[:12]}-1-5" in ids and f"{sha[:12]}-3-1" in ids
    extra = json.loads(ws.sql("SELECT extra FROM transfer_events WHERE event_id LIKE '%-1-2'").fetchone()[0])
    assert {k: extra[k] for k in ("rule", "mac", "tuple", "direction", "decision", "flow_state", "packets_out",
                                  "bytes_out", "packets_in", "bytes_in")} == {
        "rule": "DefaultRule_AllowInternetOutBound", "mac": "000D3A11AA22", "tuple": 2, "direction": "O",
        "decision": "A", "flow_state": "C", "packets_out": 30, "bytes_out": 16000, "packets_in": 28, "bytes_in": 2100}
    assert extra["time"] == "2024-05-02T10:01:00.1234567Z" and extra["resourceId"] == NSG
    assert extra["properties"] == {"Version": 2}  # the flow lists are not repeated on every row
    begin = json.loads(ws.sql("SELECT extra FROM transfer_events WHERE event_id LIKE '%-1-1'").fetchone()[0])
    # a B tuple has no counts: the keys are absent (extra->>'$.bytes_out' is NULL), never 0
    assert "bytes_out" not in begin and "packets_in" not in begin and begin["flow_state"] == "B"


def test_record_level_problems(ws, tmp_path):
    good = json.dumps(RECORDS[3])
    path = tmp_path / "hub.jsonl"
    path.write_text("\n".join([
        good,
        '{"time": "2024-05-02T10:00:00Z", "category": "NetworkSecurityGroupFlowEvent", "properties": {"Version": 2}}',
        '{"time": "2024-05-02T10:00:00Z", "properties": {"flows": "1714644100,10.0.0.4"}}',
        '{"time": "2024-05-02T10:00:00Z", "properties": {"flows": [{"rule": "r", "flows": "oops"}]}}',
        '{"time": "2024-05-02T10:00:00Z", "properties": {"flows": [{"rule": "r", "flows": [{"mac": "m", "flowTuples": [',
        "1542110377,10.0.0.4,13.67.143.118,44931,443,T,O,A",
    ]) + "\n", encoding="utf-8")
    result = ingest_file(ws, path, "azure_nsg_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 1, 5)
    assert ws.sql("SELECT source_record, reason FROM rejects ORDER BY 1").fetchall() == [
        (2, "no properties.flows: not an NSG flow log record"),
        (3, "properties.flows is not a list: not an NSG flow log record"),
        (4, "properties.flows is not in the NSG shape (rule groups with flows[] of {mac, flowTuples[]}): "
            "its tuples cannot be read with certainty"),
        (5, "not valid JSON"),
        (6, "not valid JSON"),
    ]


def test_empty_file(ws, tmp_path):
    (tmp_path / "PT1H.json").write_bytes(b"")
    result = ingest_file(ws, tmp_path / "PT1H.json", "azure_nsg_flow")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)


def test_blob_lines_and_gzip_variants_are_equal(tmp_path):
    pretty = blob(tmp_path / "PT1H.json", RECORDS)
    lines = tmp_path / "hub.jsonl"
    lines.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in RECORDS), encoding="utf-8")
    gz = tmp_path / "PT1H.json.gz"
    gz.write_bytes(gzip.compress(pretty.read_bytes()))
    out = []
    for path in (pretty, lines, gz):
        with Workspace.open() as w:
            r = ingest_file(w, path, "auto")
            assert r.format == "azure_nsg_flow"
            out.append(sorted((row[:-1] + (json.loads(row[-1]),) for row in rows(w, "transfer_events")),
                              key=lambda x: (x[-2], x[-1]["tuple"])))
    assert out[0] == out[1] == out[2] and len(out[0]) == 7


def test_activity_log_and_nsg_flow_do_not_claim_each_other(tmp_path):
    from investigate.loaders import formats

    nsg = json.dumps({"records": RECORDS[:1]}, indent=2)
    scores = {n: l.sniff(nsg) for n, l in formats().items()}
    assert scores["azure_nsg_flow"] == 100 and max(s for n, s in scores.items() if n != "azure_nsg_flow") < 50
    activity = json.dumps({"records": [{"time": "2024-05-02T10:00:00Z", "category": "Administrative",
                                        "operationName": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/WRITE",
                                        "resultType": "Success", "resourceId": NSG}]})
    assert formats()["azure_nsg_flow"].sniff(activity) == 0
    assert formats()["azure_activity"].sniff(activity) == 100


# --- real sample and peer (elastic/integrations azure_network_watcher_nsg, INDEX row 17) -------

def real(*parts) -> Path:
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def test_real_sample_nsg_v2(ws):
    result = ingest_file(ws, real("azure_nsg_flow", "integrations_nsg_flow_v2.jsonl"), "auto")
    assert result.format == "azure_nsg_flow"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected, result.rows_set_apart) == (1, 1, 0, 0)
    assert loaded(ws) == [(1, utc(2018, 11, 13, 11, 59, 39), "1.128.0.0", 59932, "1.128.0.1", 443, "tcp", 132, 2,
                           "A", "success")]


# Accepted differences per (record, tuple, field), with the reason. The peer keeps one document
# per record; its tuples (…flows[].flows[].tuples[]) are what we compare with our rows.
ACCEPTED: dict[tuple[int, int, str], str] = {}


def _peer_tuples(doc):
    n = 0
    for group in doc["azure_network_watcher_nsg"]["log"]["properties"]["flows"]:
        for mac in group["flows"]:
            for t in mac["tuples"]:
                n += 1
                yield n, group["rule"], t


def test_peer_integrations_nsg_per_tuple(ws):
    expected = json.loads(real("peer_tests", "elastic", "azure_nsg_flow",
                               "integrations_nsg_flow_v2.jsonl.expected.json").read_text(encoding="utf-8"))["expected"]
    ingest_file(ws, real("azure_nsg_flow", "integrations_nsg_flow_v2.jsonl"), "azure_nsg_flow")
    ours = {(rec, int(e["tuple"])): (ts, sip, sport, dip, dport, proto, e)
            for rec, ts, sip, sport, dip, dport, proto, e in
            ((r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in ws.sql(
                "SELECT source_record, ts_start, src_ip, src_port, dst_ip, dst_port, protocol, extra "
                "FROM transfer_events").fetchall())}
    diffs, seen = {}, set()
    for rec, doc in enumerate(expected, start=1):
        for ti, rule, t in _peer_tuples(doc):
            seen.add((rec, ti))
            ts, sip, sport, dip, dport, proto, e = ours[(rec, ti)]
            theirs = {"ts": datetime.fromisoformat(t["timestamp"].replace("Z", "+00:00")),
                      "src_ip": t["source"]["ip"], "src_port": t["source"]["port"], "dst_ip": t["destination"]["ip"],
                      "dst_port": t["destination"]["port"], "protocol": t["protocol"].lower(),
                      "bytes_out": t["bytes"]["sent"], "bytes_in": t["bytes"]["received"],
                      "packets_out": t["packets"]["sent"], "packets_in": t["packets"]["received"],
                      "decision": t["traffic"]["decision"][0], "direction": t["traffic"]["flow"][0],
                      "flow_state": t["flow_state"][0], "rule": rule}
            mine = {"ts": ts, "src_ip": sip, "src_port": sport, "dst_ip": dip, "dst_port": dport, "protocol": proto,
                    **{k: e[k] for k in ("bytes_out", "bytes_in", "packets_out", "packets_in", "decision",
                                         "direction", "flow_state", "rule")}}
            diffs.update({(rec, ti, k): (v, theirs[k]) for k, v in mine.items() if v != theirs[k]})
    assert seen == set(ours)
    assert diffs.keys() == ACCEPTED.keys(), diffs


# --- Traffic Analytics CSV (format azure_nsg_analytics) ----------------------------------------

ANALYTICS = (
    ",TenantId,TimeGenerated,FlowStartTime,FlowEndTime,FlowIntervalEndTime,FlowType,ResourceGroup,VMName,"
    "VMIPAddress,PublicIPs,SrcIP,DestIP,L4Protocol,L7Protocol,DestPort,FlowDirection,AllowedOutFlows,"
    "AllowedInFlows,DeniedInFlows,DeniedOutFlows,RemoteRegion,VMRegion,AllExtIPs,TotalAllowedFlows\n"
    # out of the VM to two public addresses, one row per address (pandas explode)
    "10,t1,2024-05-02 11:20:00.100,2024-05-02 10:00:07.000,2024-05-02 10:45:08.000,2024-05-02 11:00:00.000,"
    "AzurePublic,case-rg,db-1,10.0.3.5,\"['198.51.100.7', '198.51.100.8']\",,,T,https,443.0,O,4.0,0.0,0.0,0.0,"
    "westeurope,eastus,198.51.100.7,4.0\n"
    "11,t1,2024-05-02 11:20:00.100,2024-05-02 10:00:07.000,2024-05-02 10:45:08.000,2024-05-02 11:00:00.000,"
    "AzurePublic,case-rg,db-1,10.0.3.5,\"['198.51.100.7', '198.51.100.8']\",,,T,https,443.0,O,4.0,0.0,0.0,0.0,"
    "westeurope,eastus,198.51.100.8,4.0\n"
    # into the VM, denied only: failure
    "12,t1,2024-05-02 11:20:00.200,2024-05-02 10:10:00.000,2024-05-02 10:11:00.000,2024-05-02 11:00:00.000,"
    "ExternalPublic,case-rg,db-1,10.0.3.5,['203.0.113.9'],,,T,ms-wbt-server,3389.0,I,0.0,0.0,3.0,0.0,,eastus,"
    "203.0.113.9,0.0\n"
    # IntraVNet: SrcIP/DestIP filled, no VM name; UDP; allowed and denied: no outcome
    "13,t1,2024-05-02 11:20:00.300,2024-05-02 10:20:00.000,2024-05-02 10:21:00.000,2024-05-02 11:00:00.000,"
    "IntraVNet,,,,,10.0.3.4,10.0.3.5,U,ntp,123.0,I,0.0,2.0,1.0,0.0,,eastus,10.0.3.4,2.0\n"
    # unreadable start time
    "14,t1,2024-05-02 11:20:00.300,02/05/2024 10:20,2024-05-02 10:21:00.000,2024-05-02 11:00:00.000,"
    "IntraVNet,,,,,10.0.3.4,10.0.3.5,U,ntp,123.0,I,0.0,2.0,0.0,0.0,,eastus,10.0.3.4,2.0\n"
)


def test_traffic_analytics_csv(ws, tmp_path):
    path = tmp_path / "az_net_flows.csv"
    path.write_text(ANALYTICS, encoding="utf-8")
    result = ingest_file(ws, path, "auto")
    assert result.format == "azure_nsg_analytics"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    got = ws.sql("SELECT source_record, ts_start, ts_end, src_ip, dst_ip, dst_port, protocol, bytes, src_host, "
                 "dst_host, action, outcome FROM transfer_events ORDER BY source_record").fetchall()
    assert got == [
        (1, utc(2024, 5, 2, 10, 0, 7), utc(2024, 5, 2, 10, 45, 8), "10.0.3.5", "198.51.100.7", 443, "tcp", None,
         "db-1", None, None, "success"),
        (2, utc(2024, 5, 2, 10, 0, 7), utc(2024, 5, 2, 10, 45, 8), "10.0.3.5", "198.51.100.8", 443, "tcp", None,
         "db-1", None, None, "success"),
        (3, utc(2024, 5, 2, 10, 10), utc(2024, 5, 2, 10, 11), "203.0.113.9", "10.0.3.5", 3389, "tcp", None,
         None, "db-1", None, "failure"),
        (4, utc(2024, 5, 2, 10, 20), utc(2024, 5, 2, 10, 21), "10.0.3.4", "10.0.3.5", 123, "udp", None,
         None, None, None, None),
    ]
    assert ws.sql("SELECT source_record, reason FROM rejects").fetchall() == [
        (5, "unreadable timestamp in column 'FlowStartTime': '02/05/2024 10:20' (expected ISO 8601)")]
    extra = json.loads(ws.sql("SELECT extra FROM transfer_events WHERE source_record = 1").fetchone()[0])
    assert extra["PublicIPs"] == "['198.51.100.7', '198.51.100.8']" and extra["RemoteRegion"] == "westeurope"
    assert extra["column1"] == "10" and extra["VMRegion"] == "eastus"


def test_real_sample_traffic_analytics(ws):
    result = ingest_file(ws, real("azure_nsg_flow_analytics", "msticpy_az_net_flows.csv"), "auto")
    assert result.format == "azure_nsg_analytics"
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (460, 460, 0)
    first = ws.sql("SELECT ts_start, src_ip, dst_ip, dst_port, protocol, src_host, outcome FROM transfer_events "
                   "WHERE source_record = 1").fetchone()
    assert first == (utc(2019, 2, 12, 13, 0, 7), "10.0.3.5", "65.55.44.109", 443, "tcp", "msticalertswin1", "success")
    counts = ws.sql("SELECT count(*) FILTER (src_ip IS NULL OR dst_ip IS NULL), "
                    "count(*) FILTER (extra->>'$.FlowType' = 'IntraVNet'), "
                    "count(*) FILTER (extra->>'$.RemoteRegion' IS NULL) FROM transfer_events").fetchone()
    assert counts == (0, 8, 84)
