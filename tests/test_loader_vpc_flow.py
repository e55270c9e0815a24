"""AWS VPC Flow Logs (format ``vpc_flow``): own fixtures, real samples, peer check."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import ingest_file
from investigate.errors import InvestigateError
from investigate.loaders import formats, get_loader

from .conftest import rows

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
PEER = REAL / "peer_tests" / "elastic" / "aws_vpc_flow"
UTC = timezone.utc
COLS = ("source_record, ts_start, ts_end, src_ip, src_port, dst_ip, dst_port, protocol, bytes, packets, "
        "src_host, dst_host, action, outcome")
V2 = "2 123456789010 eni-0a1b2c3d4e5f60718 {src} {dst} {sp} {dp} {pr} 10 840 1714644901 1714644960 {act} {st}"
HDR = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
ALL5 = ("5 123456789010 eni-0a1b2c3d4e5f60718 198.51.100.7 10.0.1.5 44321 443 6 12 2048 1714644901 1714644960 "
        "ACCEPT OK vpc-0a1 subnet-0b2 i-0c3d4e5f607182930 19 IPv4 198.51.100.7 10.0.1.5 eu-west-1 euw1-az2 - - "
        "- - ingress 1")
TS = datetime(2024, 5, 2, 10, 15, 1, tzinfo=UTC)
TE = datetime(2024, 5, 2, 10, 16, tzinfo=UTC)


def load(ws, tmp_path, lines, name="flow.log", **kw):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ingest_file(ws, f, "vpc_flow", **kw)


def got(ws):
    return ws.sql(f"SELECT {COLS} FROM transfer_events ORDER BY source_record").fetchall()


def reasons(result):
    return [(x.record, x.reason) for x in result.rejects]


def test_default_v2_layout_ipv6_icmp_nodata_skipdata(ws, tmp_path):
    r = load(ws, tmp_path, [
        V2.format(src="192.0.2.10", dst="10.0.1.5", sp=51000, dp=22, pr=6, act="ACCEPT", st="OK"),
        V2.format(src="2001:db8::1", dst="2001:db8::2", sp=0, dp=0, pr=58, act="REJECT", st="OK"),
        "2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1714644901 1714644960 - NODATA",
        "2 123456789010 eni-0a1b2c3d4e5f60718 - - - - - - - 1714644901 1714644960 - SKIPDATA",
        V2.format(src="192.0.2.10", dst="10.0.1.5", sp=1, dp=2, pr=99, act="ACCEPT", st="OK")])
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart) == (5, 3, 0, 2)
    assert got(ws) == [
        (1, TS, TE, "192.0.2.10", 51000, "10.0.1.5", 22, "tcp", 840, 10, None, None, "ACCEPT", "success"),
        (2, TS, TE, "2001:db8::1", 0, "2001:db8::2", 0, "icmpv6", 840, 10, None, None, "REJECT", "failure"),
        (5, TS, TE, "192.0.2.10", 1, "10.0.1.5", 2, "99", 840, 10, None, None, "ACCEPT", "success")]
    assert ws.sql("SELECT source_record, kind FROM set_apart ORDER BY 1").fetchall() == [
        (3, "NODATA: no traffic captured in the window"), (4, "SKIPDATA: records skipped during the capture window")]
    assert json.loads(ws.sql("SELECT extra FROM transfer_events WHERE source_record = 1").fetchone()[0]) == {
        "version": "2", "account_id": "123456789010", "interface_id": "eni-0a1b2c3d4e5f60718", "log_status": "OK"}


def test_fields_separated_by_runs_of_blanks_and_tabs(ws, tmp_path):
    line = V2.format(src="192.0.2.10", dst="10.0.1.5", sp=51000, dp=22, pr=6, act="ACCEPT", st="OK")
    r = load(ws, tmp_path, [line, "\t" + line.replace(" ", "\t", 3) + "\t", "  " + line.replace(" ", "  ") + " "])
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)
    assert {row[1:] for row in got(ws)} == {
        (TS, TE, "192.0.2.10", 51000, "10.0.1.5", 22, "tcp", 840, 10, None, None, "ACCEPT", "success")}


def test_repeated_header_custom_layout_and_v5_extra(ws, tmp_path):
    custom = "version srcaddr dstaddr start end action log-status instance-id flow-direction bytes"
    r = load(ws, tmp_path, [
        custom, "3 192.0.2.1 10.0.1.5 1714644901 1714644960 ACCEPT OK i-0abc ingress 100",
        HDR, V2.format(src="10.0.1.5", dst="192.0.2.1", sp=443, dp=5000, pr=17, act="ACCEPT", st="OK"),
        custom, "3 10.0.1.5 192.0.2.1 1714644901 1714644960 REJECT OK i-0abc egress -"])
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 3, 0)  # header lines are not records
    assert got(ws) == [
        (2, TS, TE, "192.0.2.1", None, "10.0.1.5", None, None, 100, None, None, "i-0abc", "ACCEPT", "success"),
        (4, TS, TE, "10.0.1.5", 443, "192.0.2.1", 5000, "udp", 840, 10, None, None, "ACCEPT", "success"),
        (6, TS, TE, "10.0.1.5", None, "192.0.2.1", None, None, None, None, "i-0abc", None, "REJECT", "failure")]


def test_header_less_29_fields_and_fields_option_with_dollar_braces(ws, tmp_path):
    r = load(ws, tmp_path, [ALL5])
    assert got(ws) == [(1, TS, TE, "198.51.100.7", 44321, "10.0.1.5", 443, "tcp", 2048, 12, None,
                        "i-0c3d4e5f607182930", "ACCEPT", "success")]
    extra = json.loads(ws.sql("SELECT extra FROM transfer_events").fetchone()[0])
    assert (extra["region"], extra["az_id"], extra["tcp_flags"], extra["pkt_srcaddr"], extra["sublocation_type"]) == (
        "eu-west-1", "euw1-az2", "19", "198.51.100.7", None)
    ws.sql("DELETE FROM transfer_events")
    r = load(ws, tmp_path, ["eni-1 192.0.2.1 10.0.1.5 1714644901 ACCEPT OK"], name="opt.log",
             options={"fields": "${interface-id} ${srcaddr} ${dstaddr} ${start} ${action} ${log-status}"})
    assert r.rows_loaded == 1 and got(ws)[0][1:4] == (TS, None, "192.0.2.1")


def test_cloudwatch_message_wrapper(ws, tmp_path):
    inner = V2.format(src="192.0.2.10", dst="10.0.1.5", sp=51000, dp=22, pr=6, act="ACCEPT", st="OK")
    r = load(ws, tmp_path, [json.dumps({"message": inner}), '{"other": 1}'], name="cw.jsonl")
    assert (r.rows_loaded, reasons(r)) == (1, [(2, 'a JSON line without a "message" string holding a flow log record')])


def test_rejects_truncated_wrong_format_no_time_and_cut_start(ws, tmp_path):
    ok = V2.format(src="192.0.2.10", dst="10.0.1.5", sp=51000, dp=22, pr=6, act="ACCEPT", st="OK")
    r = load(ws, tmp_path, [
        ok, ok.rsplit(" ", 3)[0],
        ok.replace("1714644901", "171464490"),
        HDR, ok.rsplit(" ", 1)[0],
        "instance-id srcaddr dstaddr", "i-1 192.0.2.1 10.0.1.5"])
    assert r.rows_loaded == 1
    assert reasons(r) == [
        (2, "11 fields, and no header line or fields option says which they are (header-less default layouts "
            "have 14, 29, 36 or 40 fields; give the layout with the option fields): "
            + ok.rsplit(" ", 3)[0][:80]),
        (3, "start 171464490 is 1975-06-08 13:01:30 UTC, before 2000: not a real flow time (epoch seconds have "
            "10 digits; this value is cut or corrupted), so it is not loaded as that date"),
        (5, "13 fields where the header line 4 names 14: " + ok.rsplit(" ", 1)[0][:80]),
        (7, "the header line 6 has no start field: a flow without a time cannot be loaded (add ${start} "
            "${end} to the flow log format)")]


def test_gzip_crlf_equals_plain_empty_file_and_bad_option(ws, tmp_path):
    lines = [HDR, V2.format(src="192.0.2.10", dst="10.0.1.5", sp=1, dp=2, pr=6, act="ACCEPT", st="OK")]
    load(ws, tmp_path, lines)
    plain = rows(ws, "transfer_events")
    ws.sql("DELETE FROM transfer_events")
    gz = tmp_path / "flow.log.gz"
    gz.write_bytes(gzip.compress(("\r\n".join(lines) + "\r\n").encode()))
    ingest_file(ws, gz, "vpc_flow")
    assert rows(ws, "transfer_events") == plain
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert ingest_file(ws, empty, "vpc_flow").rows_read == 0
    with pytest.raises(InvestigateError, match="option fields: a field is named twice"):
        load(ws, tmp_path, ["x"], name="o.log", options={"fields": "srcaddr srcaddr"})


def test_sniff(tmp_path):
    loader = get_loader("vpc_flow")
    v2 = V2.format(src="192.0.2.10", dst="10.0.1.5", sp=1, dp=2, pr=6, act="ACCEPT", st="OK")
    for head in (HDR + "\n" + v2 + "\n", v2 + "\n", json.dumps({"message": v2}) + "\n", ALL5 + "\n"):
        assert {n for n, ld in formats().items() if ld.sniff(head) >= 50} == {"vpc_flow"}
    assert loader.sniff("Phony unsupported log format.\n") == 0
    assert loader.sniff('{"eventVersion": "1.08"}\n') == 0


# --- real samples --------------------------------------------------------------------------------

NOHEADER_FIELDS = ("version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport "
                   "protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status")
# file -> (read, loaded, rejected, set apart)
EXPECTED = {
    "negative_vpcflow_bad.log": (1, 0, 1, 0),
    "vpcflow_cloudwatch_message_wrapped.jsonl": (1, 0, 0, 1),
    "vpcflow_custom_nat_gateway_header.log": (2, 0, 2, 0),
    "vpcflow_custom_transit_gateway_noheader.log": (1, 0, 1, 0),
    "vpcflow_transit_gateway_v6.log": (10, 3, 0, 7),
    "vpcflow_v2_default_awsdocs.log": (7, 5, 0, 2),
    "vpcflow_v3_custom_repeated_headers.log": (3, 1, 0, 2),
    "vpcflow_v5_all_fields.log": (1, 0, 1, 0),
    "vpcflow_v8_ecs_fields.log": (1, 0, 0, 1),
}


def real(name):
    path = REAL / "aws_vpc_flow" / name
    if not path.exists():
        pytest.skip("real samples not present")
    return path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_sample_counts(ws, name):
    opts = {"fields": NOHEADER_FIELDS} if "noheader" in name else None
    r = ingest_file(ws, real(name), "vpc_flow", options=opts)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart) == EXPECTED[name]


def test_real_sample_spot_values(ws):
    ingest_file(ws, real("vpcflow_v2_default_awsdocs.log"), "vpc_flow")
    assert got(ws)[0] == (1, datetime(2016, 10, 31, 11, 35, 8, tzinfo=UTC), datetime(2016, 10, 31, 11, 37, tzinfo=UTC),
                          "2001:db8:1234:a100:8d6e:3477:df66:f105", 34892, "2001:db8:1234:a102:3304:8879:34cf:4071",
                          22, "tcp", 8855, 54, None, None, "ACCEPT", "success")
    r = ingest_file(ws, real("vpcflow_v5_all_fields.log"), "vpc_flow")
    assert r.rejects[0].reason.startswith("start 164000066 is 1975-03-14 03:34:26 UTC, before 2000")
    r = ingest_file(ws, real("negative_vpcflow_bad.log"), "vpc_flow")
    assert r.rejects[0].reason.startswith("4 fields, and no header line")


# --- peer check: Elastic's expected documents -----------------------------------------------------

def _flat(doc, prefix=""):
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _peer_docs(name):
    path = PEER / f"{name}.expected.json"
    if not path.exists():
        pytest.skip("peer tests not present")
    data = json.loads(path.read_text())
    return [_flat(d) for d in (data["expected"] if isinstance(data, dict) else data)]


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z") if dt else None


# (file, record) -> why we differ from Elastic on purpose.
ACCEPTED = {
    ("negative_vpcflow_bad.log", 1): "not a flow record: we reject it, Elastic keeps an unparsed document",
    ("vpcflow_cloudwatch_message_wrapped.jsonl", 1): "NODATA: set apart by us, a document for Elastic",
    ("vpcflow_custom_nat_gateway_header.log", 2): "no start field: rejected by us, a document without time for Elastic",
    ("vpcflow_custom_nat_gateway_header.log", 3): "no start field: rejected by us, a document without time for Elastic",
    ("vpcflow_custom_transit_gateway_noheader.log", 1): "no start field: rejected by us, a document without time for Elastic",
    ("vpcflow_v2_default_awsdocs.log", 2): "NODATA: set apart by us, a document for Elastic",
    ("vpcflow_v2_default_awsdocs.log", 3): "SKIPDATA: set apart by us, a document for Elastic",
    ("vpcflow_v3_custom_repeated_headers.log", 4): "SKIPDATA: set apart by us, a document for Elastic",
    ("vpcflow_v3_custom_repeated_headers.log", 6): "NODATA: set apart by us, a document for Elastic",
    ("vpcflow_v5_all_fields.log", 1): "start 164000066 is 1975: rejected by us, loaded as 1975 by Elastic",
    ("vpcflow_v8_ecs_fields.log", 1): "NODATA (with flow fields filled): set apart by us, a document for Elastic",
    **{("vpcflow_transit_gateway_v6.log", n): "NODATA/SKIPDATA with flow fields filled (synthetic fixture): "
                                                "set apart by us, a document for Elastic" for n in (1, 2, 4, 5, 6, 8, 10)},
}


def test_peer_elastic_record_by_record(ws):
    found = {}
    for name in sorted(EXPECTED):
        docs = _peer_docs(name)
        opts = {"fields": NOHEADER_FIELDS} if "noheader" in name else None
        ingest_file(ws, real(name), "vpc_flow", options=opts)
        ours = {rec: row for rec, *row in ws.sql(
            "SELECT source_record, ts_start, ts_end, src_ip, src_port, dst_ip, dst_port, bytes, packets, action, outcome "
            "FROM transfer_events WHERE source_file LIKE ?", [f"%{name}"]).fetchall()}
        recs = [rec for rec, in ws.sql(
            "SELECT source_record FROM (SELECT source_record, source_file FROM transfer_events UNION ALL "
            "SELECT source_record, source_file FROM rejects UNION ALL SELECT source_record, source_file FROM set_apart) "
            "WHERE source_file LIKE ? ORDER BY 1", [f"%{name}"]).fetchall()]
        assert len(recs) == len(docs), name
        for rec, doc in zip(recs, docs):
            if rec not in ours:
                found[(name, rec)] = True
                continue
            ts, te, sip, sp, dip, dp, byt, pkt, act, out = ours[rec]
            theirs = (doc.get("event.start"), doc.get("event.end"), doc.get("source.ip"), doc.get("source.port"),
                      doc.get("destination.ip"), doc.get("destination.port"),
                      doc.get("network.bytes", doc.get("source.bytes")), doc.get("network.packets", doc.get("source.packets")),
                      doc.get("aws.vpcflow.action", act), {"allow": "success", "deny": "failure"}.get(
                          doc.get("event.outcome"), doc.get("event.outcome")))
            if (_iso(ts), _iso(te), sip, sp, dip, dp, byt, pkt, act, out) != theirs:
                found[(name, rec)] = True
    assert set(found) == set(ACCEPTED)
