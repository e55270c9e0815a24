"""nfdump CSV exports (format ``netflow_csv``): own fixtures only (no real sample exists)."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import ingest_file
from investigate.errors import InvestigateError
from investigate.loaders import formats, get_loader
from investigate.loaders.sources import inspect

from .conftest import rows

EXPORT = Path(__file__).resolve().parent / "fixtures" / "netflow_csv" / "nfdump_csv_export.csv"
UTC = timezone.utc
COLS = "source_record, ts_start, ts_end, src_ip, src_port, dst_ip, dst_port, protocol, bytes, packets, action, outcome"


def test_export_rows_rejects_and_summary_left_out(ws):
    r = ingest_file(ws, EXPORT, "netflow_csv")
    # 9 lines: header and the 3 summary lines are not records
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (5, 3, 2)
    assert ws.sql(f"SELECT {COLS} FROM transfer_events ORDER BY 1").fetchall() == [
        (2, datetime(2024, 5, 2, 10, 15, 1, tzinfo=UTC), datetime(2024, 5, 2, 10, 15, 31, tzinfo=UTC),
         "10.1.2.3", 51234, "198.51.100.20", 443, "tcp", 17400, 22, None, None),  # ibyt 5400 + obyt 12000
        (3, datetime(2024, 5, 2, 10, 15, 2, 250000, tzinfo=UTC), datetime(2024, 5, 2, 10, 15, 2, 900000, tzinfo=UTC),
         "2001:db8::10", 53000, "2001:db8:ff::53", 53, "udp", 80, 1, None, None),
        # ICMP: dp holds type.code, so no ports (kept in extra)
        (4, datetime(2024, 5, 2, 10, 15, 5, tzinfo=UTC), datetime(2024, 5, 2, 10, 15, 5, tzinfo=UTC),
         "10.1.2.3", None, "192.0.2.9", None, "icmp", 84, 1, None, None)]
    assert [(x.record, x.reason) for x in r.rejects] == [
        (5, "unreadable timestamp in ts: '2024-05-02 25:99:00' (expected YYYY-MM-DD HH:MM:SS, optionally "
            "with .mmm, in the collector's local time)"),
        (6, "7 fields where the header line names 48: 2024-05-02 10:15:07,2024-05-02 10:15:08,1.000,"
            "10.1.2.4,192.0.2.9,1025,22")]
    extra = ws.sql("SELECT extra->>'ibyt', extra->>'obyt', extra->>'ra', extra->>'dp' FROM transfer_events "
                   "ORDER BY source_record").fetchall()
    assert extra == [("5400", "12000", "192.0.2.254", None), ("80", "0", "192.0.2.254", None),
                     ("84", "0", "192.0.2.254", "8.0")]


def test_summary_flow_count_is_checked(ws):
    loader = get_loader("netflow_csv")
    with ws.transaction():
        out = loader.stage(ws.con, inspect(EXPORT), None)
        assert out.note == ("nfdump's summary counts 5 flows but 3 were loaded (the export's own control "
                            "total disagrees: see the rejects)")
        ws.con.execute("DROP TABLE __staged; DROP TABLE __nf_lines")


def test_timezone_option_and_bad_zone(ws, tmp_path):
    r = ingest_file(ws, EXPORT, "netflow_csv", options={"timezone": "Europe/Berlin"})
    assert r.rows_loaded == 3
    assert ws.sql("SELECT min(ts_start) FROM transfer_events").fetchone()[0] == datetime(2024, 5, 2, 8, 15, 1, tzinfo=UTC)
    other = tmp_path / "x.csv"
    other.write_bytes(EXPORT.read_bytes() + b"\n")
    with pytest.raises(InvestigateError, match="unknown time zone 'Mars/Base'"):
        ingest_file(ws, other, "netflow_csv", options={"timezone": "Mars/Base"})


def test_quiet_export_without_header_uses_classic_layout_and_gzip_equals_plain(ws, tmp_path):
    body = [ln for ln in EXPORT.read_text().splitlines()[1:4]]
    plain = tmp_path / "q.csv"
    plain.write_text("\n".join(body) + "\n")
    gz = tmp_path / "q.csv.gz"
    gz.write_bytes(gzip.compress(("\r\n".join(body) + "\r\n").encode()))
    a = ingest_file(ws, plain, "netflow_csv")
    first = rows(ws, "transfer_events")
    ws.sql("DELETE FROM transfer_events")
    b = ingest_file(ws, gz, "netflow_csv")
    assert (a.rows_loaded, b.rows_loaded) == (3, 3)
    assert rows(ws, "transfer_events") == first


def test_empty_and_wrong_format(ws, tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_text("")
    assert ingest_file(ws, empty, "netflow_csv").rows_read == 0
    wrong = tmp_path / "w.csv"
    wrong.write_text("hello,world\n")
    r = ingest_file(ws, wrong, "netflow_csv")
    assert [(x.record, x.reason) for x in r.rejects] == [
        (1, "2 fields, no header line before it, and not the 48 of nfdump -o csv -q: not a flow record: hello,world")]


def test_sniff_claims_only_nfdump_csv():
    head = EXPORT.read_text()
    assert {n for n, ld in formats().items() if ld.sniff(head) >= 50} == {"netflow_csv"}
    assert get_loader("netflow_csv").sniff("ts,actor,ip\n2024-01-01,a,b\n") == 0


def test_the_control_total_shows_in_the_result_note(ws):
    """nfdump's own summary line is checked against the records, and the result says so."""
    from investigate import ingest_file

    result = ingest_file(ws, EXPORT, "netflow_csv")
    assert "nfdump's summary counts 5 flows but 3 were loaded" in result.note
