"""The generic loaders (CSV, JSON Lines, Parquet) and the loader contract they share."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import zstandard

from investigate import (MappingError, RejectedRecordError, UnreadableInputError, Workspace,
                         ingest_file)
from investigate.cli import main

from .conftest import rows

HEADER = "id,when,who,ip,op,object,result,bytes,agent"
GOOD = [
    "e1,2022-01-05T08:00:00.123456Z,alice,10.0.0.1,GET,s3://bucket/a,OK,100,curl/8.0",
    'e2,2022-01-05T09:30:00Z,bob,2001:db8::7,PUT,s3://bucket/b,DENIED,2048,"Mozilla/5.0 (X11, Linux)"',
    "e3,2022-01-05T10:00:00+08:00,carol,,LIST,s3://bucket,OK,-,",
]
MAPPING = {
    "table": "access_events",
    "columns": {"event_id": "id", "ts": "when", "actor_id": "who", "src_ip": "ip",
                "raw_action": "op", "resource": "object", "outcome": "result", "bytes": "bytes",
                "user_agent": "agent"},
    "actions": {"GET": "read", "PUT": "write", "LIST": "list"},
    "outcomes": {"OK": "success", "DENIED": "failure"},
}


def write(path, lines, *, sep=",", newline="\n", encoding="utf-8"):
    text = newline.join(line.replace(",", sep) if sep != "," else line for line in lines) + newline
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_loads_typed_rows_with_provenance(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    result = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (3, 3, 0)
    got = ws.sql("SELECT event_id, ts, actor_id, src_ip, action, raw_action, outcome, bytes, "
                 "user_agent, source_format, source_record FROM access_events ORDER BY source_record").fetchall()
    utc = timezone.utc
    assert got == [
        ("e1", datetime(2022, 1, 5, 8, 0, 0, 123456, tzinfo=utc), "alice", "10.0.0.1", "read", "GET",
         "success", 100, "curl/8.0", "csv", 1),
        ("e2", datetime(2022, 1, 5, 9, 30, tzinfo=utc), "bob", "2001:db8::7", "write", "PUT",
         "failure", 2048, "Mozilla/5.0 (X11, Linux)", "csv", 2),
        # +08:00 is kept; "-" bytes and an empty address and agent are missing, not 0 or ""
        ("e3", datetime(2022, 1, 5, 2, 0, tzinfo=utc), "carol", None, "list", "LIST", "success",
         None, None, "csv", 3),
    ]
    ingest = ws.sql("SELECT rows_read, rows_loaded, rows_rejected, format, target_table, sha256 FROM ingests").fetchone()
    assert ingest[:5] == (3, 3, 0, "csv", "access_events")
    assert ingest[5] == result.sha256 and len(result.sha256) == 64


def test_unmapped_columns_are_kept_in_extra(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER + ",session", GOOD[0] + ",s-99"])
    mapping = {**MAPPING, "columns": {k: v for k, v in MAPPING["columns"].items() if k != "user_agent"}}
    ingest_file(ws, f, "csv", mapping=mapping)
    extra = ws.sql("SELECT extra->>'agent', extra->>'session', extra->>'who' FROM access_events").fetchone()
    assert extra == ("curl/8.0", "s-99", None)


@pytest.mark.parametrize("variant", ["crlf", "semicolon", "shuffled", "gzip", "zstd", "bom", "utf16"])
def test_variants_of_one_export_give_identical_rows(tmp_path, variant):
    plain = write(tmp_path / "plain.csv", [HEADER, *GOOD])
    if variant == "crlf":
        other = write(tmp_path / "v.csv", [HEADER, *GOOD], newline="\r\n")
    elif variant == "semicolon":
        other = write(tmp_path / "v.csv", [HEADER.replace(",", ";")] + [
            "e1;2022-01-05T08:00:00.123456Z;alice;10.0.0.1;GET;s3://bucket/a;OK;100;curl/8.0",
            'e2;2022-01-05T09:30:00Z;bob;2001:db8::7;PUT;s3://bucket/b;DENIED;2048;"Mozilla/5.0 (X11, Linux)"',
            "e3;2022-01-05T10:00:00+08:00;carol;;LIST;s3://bucket;OK;-;"])
    elif variant == "shuffled":  # same data, columns in another order
        import csv
        import io
        src = list(csv.reader(io.StringIO("\n".join([HEADER, *GOOD]))))
        order = [8, 3, 0, 7, 1, 6, 2, 5, 4]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([[r[i] for i in order] for r in src])
        other = tmp_path / "v.csv"
        other.write_text(buf.getvalue(), encoding="utf-8")
    elif variant == "gzip":
        other = tmp_path / "v.csv.gz"
        other.write_bytes(gzip.compress(plain.read_bytes()))
    elif variant == "zstd":
        other = tmp_path / "v.csv.zst"
        other.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    elif variant == "bom":
        other = tmp_path / "v.csv"
        other.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    else:
        other = write(tmp_path / "v.csv", [HEADER, *GOOD], encoding="utf-16")
    with Workspace.open() as a, Workspace.open() as b:
        ingest_file(a, plain, "csv", mapping=MAPPING)
        result = ingest_file(b, other, "csv", mapping=MAPPING)
        assert result.rows_loaded == 3 and result.rows_rejected == 0
        assert rows(a) == rows(b)


def test_gzip_detected_from_content_not_name(ws, tmp_path):
    f = tmp_path / "export.csv"  # gzip bytes under a plain name, as mail gateways leave them
    f.write_bytes(gzip.compress(("\n".join([HEADER, *GOOD]) + "\n").encode()))
    assert ingest_file(ws, f, "csv", mapping=MAPPING).rows_loaded == 3


def test_malformed_records_are_rejected_with_record_number_and_reason(ws, tmp_path):
    f = write(tmp_path / "access.csv", [
        HEADER,
        GOOD[0],
        "e2,2022-02-30T25:61:00Z,bob,10.0.0.2,GET,s3://bucket/a,OK,1,",   # impossible time
        "e3,,bob,10.0.0.2,GET,s3://bucket/a,OK,1,",                        # no time
        "e4,2022-01-05T08:00:00Z,bob",                                     # truncated record
        "e5,2022-01-05T08:00:00Z,bob,10.0.0.2,GET,s3://bucket/a,OK,12kb,",  # bytes not a number
        "e6,2022-01-05T08:00:00Z,bob,10.0.0.2,GET,s3://bucket/a,OK,1,x,surplus",
        GOOD[1],
    ])
    result = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 2, 5)
    rejects = ws.sql("SELECT source_record, reason FROM rejects ORDER BY source_record").fetchall()
    assert [r[0] for r in rejects] == [2, 3, 4, 5, 6]
    assert rejects[0][1] == "unreadable timestamp in column 'when': '2022-02-30T25:61:00Z' (expected ISO 8601)"
    assert rejects[1][1] == "missing timestamp (column 'when' is empty)"
    assert rejects[2][1].startswith("missing columns: ")
    assert rejects[3][1] == "bytes in column 'bytes' is not a whole number: '12kb'"
    assert rejects[4][1].startswith("too many columns: ")
    # good rows keep their own record numbers around the rejected ones
    assert ws.sql("SELECT event_id, source_record FROM access_events ORDER BY 2").fetchall() == [("e1", 1), ("e2", 7)]
    raw = ws.sql("SELECT raw FROM rejects WHERE source_record = 4").fetchone()[0]
    assert raw == "e4,2022-01-05T08:00:00Z,bob"


def test_invalid_utf8_is_a_reject_not_a_crash(ws, tmp_path):
    f = tmp_path / "access.csv"
    f.write_bytes(("\n".join([HEADER, GOOD[0]]) + "\n").encode()
                  + b"e9,2022-01-05T08:00:00Z,b\xffob,10.0.0.1,GET,s3://b/x,OK,1,\n")
    result = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert result.rejects[0].record == 2
    assert "utf-8" in result.rejects[0].reason.lower()


def test_latin1_export_read_with_mapping_encoding(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, GOOD[0].replace("alice", "josé")], encoding="latin-1")
    ingest_file(ws, f, "csv", mapping={**MAPPING, "encoding": "latin-1"})
    assert ws.sql("SELECT actor_id FROM access_events").fetchone() == ("josé",)


def test_mixed_offsets_land_on_the_right_instant(ws, tmp_path):
    f = write(tmp_path / "gw.csv", [
        "Zeit;Benutzer",
        "14.09.2021 11:12:45;naive-in-singapore",
        "2021-09-14T03:12:45Z;zulu",
        "2021-09-14T11:12:45+08:00;offset",
        "2021-09-14 11:12:45;naive-iso",
        "2021-09-14T03:12:45.5Z;subsecond",
    ])
    mapping = {"table": "access_events", "delimiter": ";",
               "timestamp": {"format": "%d.%m.%Y %H:%M:%S", "timezone": "Asia/Singapore"},
               "columns": {"ts": "Zeit", "actor_id": "Benutzer"}}
    ingest_file(ws, f, "csv", mapping=mapping)
    got = dict(ws.sql("SELECT actor_id, ts FROM access_events").fetchall())
    instant = datetime(2021, 9, 14, 3, 12, 45, tzinfo=timezone.utc)
    assert got == {"naive-in-singapore": instant, "zulu": instant, "offset": instant,
                   "naive-iso": instant, "subsecond": instant.replace(microsecond=500000)}


def test_naive_timestamps_follow_daylight_saving_of_the_mapping_zone(ws, tmp_path):
    f = write(tmp_path / "ny.csv", ["t,u", "2022-01-15 12:00:00,winter", "2022-07-15 12:00:00,summer"])
    ingest_file(ws, f, "csv", mapping={"table": "access_events", "timestamp": {"timezone": "America/New_York"},
                                       "columns": {"ts": "t", "actor_id": "u"}})
    got = dict(ws.sql("SELECT actor_id, hour(ts) FROM access_events").fetchall())
    assert got == {"winter": 17, "summer": 16}


def test_epoch_timestamps(ws, tmp_path):
    f = write(tmp_path / "e.csv", ["t,u", "1631589165.25,a", "not-a-number,b"])
    result = ingest_file(ws, f, "csv", mapping={"table": "access_events", "timestamp": {"format": "epoch"},
                                                "columns": {"ts": "t", "actor_id": "u"}})
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    assert ws.sql("SELECT ts FROM access_events").fetchone()[0] == datetime(2021, 9, 14, 3, 12, 45, 250000, tzinfo=timezone.utc)


def test_reingest_of_the_same_file_adds_nothing(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    ingest_file(ws, f, "csv", mapping=MAPPING)
    copy = tmp_path / "renamed-copy.csv"
    copy.write_bytes(f.read_bytes())
    again = ingest_file(ws, copy, "csv", mapping=MAPPING)
    assert again.skipped and "already ingested" in again.note
    assert ws.count("access_events") == 3 and ws.count("ingests") == 1


def test_empty_file_is_recorded_with_zero_rows(ws, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_bytes(b"")
    result = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)
    assert result.note == "empty file: no records"
    assert ws.sql("SELECT rows_read FROM ingests").fetchone() == (0,)


def test_header_only_file_has_no_records(ws, tmp_path):
    f = write(tmp_path / "header.csv", [HEADER])
    result = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (result.rows_read, result.rows_loaded, result.note) == (0, 0, "no records")


def test_truncated_gzip_is_refused_and_leaves_the_workspace_unchanged(ws, tmp_path):
    good = write(tmp_path / "good.csv", [HEADER, *GOOD])
    ingest_file(ws, good, "csv", mapping=MAPPING)
    big = "\n".join([HEADER] + [GOOD[0].replace("e1", f"x{i}") for i in range(20000)]) + "\n"
    blob = gzip.compress(big.encode())
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UnreadableInputError) as err:
        ingest_file(ws, broken, "csv", mapping=MAPPING)
    assert "broken.csv.gz" in str(err.value) and "truncated" in str(err.value)
    assert ws.count("access_events") == 3 and ws.count("ingests") == 1 and ws.count("rejects") == 0


def test_missing_file_names_the_file(ws, tmp_path):
    with pytest.raises(UnreadableInputError, match="nope.csv: no such file"):
        ingest_file(ws, tmp_path / "nope.csv", "csv", mapping=MAPPING)


def test_strict_mode_stops_at_the_first_bad_record_and_loads_nothing(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, GOOD[0], "e2,yesterday,bob,,GET,s3://b,OK,1,", GOOD[1]])
    with pytest.raises(RejectedRecordError) as err:
        ingest_file(ws, f, "csv", mapping=MAPPING, strict=True)
    assert str(err.value).startswith(f"{f}:2: unreadable timestamp in column 'when': 'yesterday'")
    assert ws.count("access_events") == 0 and ws.count("ingests") == 0


def test_mapping_naming_a_missing_column_says_which_columns_exist(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    bad = {**MAPPING, "columns": {**MAPPING["columns"], "actor_id": "user"}}
    with pytest.raises(MappingError) as err:
        ingest_file(ws, f, "csv", mapping=bad)
    assert "reads column 'user' for actor_id, which the file does not have" in str(err.value)
    assert "id, when, who, ip" in str(err.value)


@pytest.mark.parametrize("mapping, message", [
    ({"table": "access_events", "columns": {"actor_id": "who"}}, "'ts' is required"),
    ({"table": "events", "columns": {"ts": "when"}}, "table must be one of"),
    ({"table": "access_events", "columns": {"ts": "when", "country": "c"}}, "access_events has no such column"),
    ({"table": "access_events", "columns": {"ts": "when"}, "actions": {"GET": "fetch"}}, "'fetch' is not one of"),
    ({"table": "access_events", "columns": {"ts": "when", "actor_id": {"expr": "(SELECT 1)"}}}, "single expression"),
    ({"table": "access_events", "columns": {"ts": "when", "actor_id": {"expr": "who; DROP TABLE ingests"}}}, "not a valid DuckDB expression"),
])
def test_invalid_mappings_are_refused_with_a_reason(ws, tmp_path, mapping, message):
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    with pytest.raises(MappingError, match=message):
        ingest_file(ws, f, "csv", mapping=mapping)
    assert ws.count("ingests") == 0


def test_expressions_and_constants_in_mappings(ws, tmp_path):
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    mapping = {**MAPPING, "columns": {**MAPPING["columns"], "actor_id": {"expr": "upper(who) || '@corp'"},
                                      "actor_type": {"value": "human"}}}
    ingest_file(ws, f, "csv", mapping=mapping)
    assert ws.sql("SELECT actor_id, actor_type FROM access_events ORDER BY source_record LIMIT 1").fetchone() == ("ALICE@corp", "human")


def test_jsonl_loader_keys_paths_and_bad_lines(ws, tmp_path):
    f = tmp_path / "flows.jsonl"
    f.write_bytes(
        b'{"start":"2022-01-01T00:00:00Z","end":"2022-01-01T00:05:00Z","src":{"ip":"198.51.100.7"},"dst":"198.18.0.5","bytes":1500,"proto":"tcp","pop":"sea1"}\r\n'
        b'{"start":"2022-01-01T00:00:00Z","src":{"ip":"198.51.100.7"}\r\n'
        b'\r\n'
        b'[1,2,3]\r\n'
        b'{"start":"2022-01-02T00:00:00Z","src":{"ip":"2001:db8:ff00::1"},"dst":"198.18.0.5","bytes":"42","dst_port":70000}\r\n'
        b'{"start":"2022-01-03T00:00:00Z","src":{"ip":"2001:db8:ff00::1"},"bytes":1.5e3}\r\n'
        b'{"start":"2022-01-03T00:00:00Z","bytes":7,"id.orig_h":"192.0.2.1"}\r\n')
    mapping = {"table": "transfer_events",
               "columns": {"ts_start": "start", "ts_end": "end", "src_ip": "$.src.ip", "dst_ip": "dst",
                           "bytes": "bytes", "protocol": "proto", "dst_port": "dst_port",
                           "src_host": "id.orig_h"}}
    result = ingest_file(ws, f, "jsonl", mapping=mapping)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (6, 3, 3)
    assert [(r.record, r.reason) for r in result.rejects] == [
        (2, "not valid JSON"),
        (4, "not a JSON object (a JSON array)"),
        (5, "dst_port out of range 0-65535: 70000"),
    ]
    got = ws.sql("SELECT src_ip, dst_ip, bytes, protocol, src_host, source_record, extra "
                 "FROM transfer_events ORDER BY source_record").fetchall()
    assert got == [
        ("198.51.100.7", "198.18.0.5", 1500, "tcp", None, 1, '{"src":{"ip":"198.51.100.7"},"pop":"sea1"}'),
        ("2001:db8:ff00::1", None, 1500, None, None, 6, '{"src":{"ip":"2001:db8:ff00::1"}}'),  # 1.5e3 is whole
        (None, None, 7, None, "192.0.2.1", 7, "{}"),
    ]
    assert ws.sql("SELECT raw FROM rejects WHERE source_record = 4").fetchone() == ("[1,2,3]",)


def test_parquet_loader(ws, tmp_path):
    import pandas as pd

    df = pd.DataFrame({"when": pd.to_datetime(["2022-01-05T08:00:00Z", "2022-01-05T09:00:00Z"], utc=True),
                       "who": ["alice", "bob"], "n": [1, 2], "note": ["x", None]})
    f = tmp_path / "a.parquet"
    df.to_parquet(f)
    result = ingest_file(ws, f, "parquet", mapping={"table": "access_events",
                                                    "columns": {"ts": "when", "actor_id": "who", "records": "n"}})
    assert (result.rows_loaded, result.rows_rejected) == (2, 0)
    assert ws.sql("SELECT actor_id, ts, records, source_record, extra->>'note' FROM access_events ORDER BY 4").fetchall() == [
        ("alice", datetime(2022, 1, 5, 8, tzinfo=timezone.utc), 1, 1, "x"),
        ("bob", datetime(2022, 1, 5, 9, tzinfo=timezone.utc), 2, 2, None)]


def test_workspace_from_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "old.duckdb"
    Workspace.open(path).close()
    import duckdb
    con = duckdb.connect(str(path))
    con.execute("UPDATE workspace_meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    from investigate import SchemaVersionError
    with pytest.raises(SchemaVersionError, match="schema version 0"):
        Workspace.open(path)


def test_cli_ingest_prints_one_line_per_file_and_fails_cleanly(tmp_path, capsys):
    import yaml
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    m = tmp_path / "m.yml"
    m.write_text(yaml.safe_dump(MAPPING))
    ws_path = tmp_path / "ws.duckdb"
    assert main(["ingest", str(ws_path), str(f), "--format", "csv", "--mapping", str(m)]) == 0
    assert capsys.readouterr().out == "access.csv: read 3, loaded 3, rejected 0 -> access_events\n"
    assert main(["ingest", str(ws_path), str(f), "--format", "csv", "--mapping", str(m)]) == 0
    assert capsys.readouterr().out.startswith("access.csv: skipped (already ingested (same sha256)")
    assert main(["ingest", str(ws_path), str(tmp_path / "gone.csv"), "--format", "csv", "--mapping", str(m)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'gone.csv'}: no such file\n"
    assert main(["ingest", str(ws_path), str(f), "--format", "nosuch"]) == 2
    assert "no loader for format 'nosuch'; known formats: auto, " in capsys.readouterr().err


def test_cli_runs_as_a_command_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "investigate.cli", "ingest", str(tmp_path / "w.duckdb"),
                           str(tmp_path / "x.csv"), "--format", "csv"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "needs a mapping file" in proc.stderr


def test_cli_ingest_line_names_the_first_reject(tmp_path, capsys):
    import yaml
    f = write(tmp_path / "access.csv", [HEADER, GOOD[0], "e2,soon,bob,,GET,s3://b,OK,1,"])
    m = tmp_path / "m.yml"
    m.write_text(yaml.safe_dump(MAPPING))
    assert main(["ingest", str(tmp_path / "ws.duckdb"), str(f), "--format", "csv", "--mapping", str(m)]) == 0
    assert capsys.readouterr().out == ("access.csv: read 2, loaded 1, rejected 1 -> access_events; first reject: "
                                       "record 2: unreadable timestamp in column 'when': 'soon' (expected ISO 8601)\n")


def test_whole_numbers_written_as_decimals_load_but_fractions_are_rejected(ws, tmp_path):
    f = write(tmp_path / "n.csv", ["t,b", "2022-01-01T00:00:00Z,1500.0", "2022-01-01T00:00:00Z,1500.5",
                                   "2022-01-01T00:00:00Z, 7 "])
    result = ingest_file(ws, f, "csv", mapping={"table": "access_events", "columns": {"ts": "t", "bytes": "b"}})
    assert [r.record for r in result.rejects] == [2]
    assert ws.sql("SELECT bytes FROM access_events ORDER BY source_record").fetchall() == [(1500,), (7,)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_names_the_file(ws, tmp_path):
    f = write(tmp_path / "secret.csv", [HEADER, *GOOD])
    f.chmod(0)
    with pytest.raises(UnreadableInputError, match="secret.csv: permission denied"):
        ingest_file(ws, f, "csv", mapping=MAPPING)


def test_a_directory_is_not_a_file(ws, tmp_path):
    with pytest.raises(UnreadableInputError, match="is a directory"):
        ingest_file(ws, tmp_path, "csv", mapping=MAPPING)


def test_ingesting_a_directory_takes_the_files_the_format_reads(ws, tmp_path):
    from investigate import ingest
    (tmp_path / "exports").mkdir()
    write(tmp_path / "exports/a.csv", [HEADER, GOOD[0]])
    (tmp_path / "exports/sub").mkdir()
    gz = tmp_path / "exports/sub/b.csv.gz"
    gz.write_bytes(gzip.compress(("\n".join([HEADER, GOOD[1]]) + "\n").encode()))
    (tmp_path / "exports/notes.md").write_text("not an export")
    results = ingest(ws, tmp_path / "exports", "csv", mapping=MAPPING)
    assert [r.path.split("/")[-1] for r in results] == ["a.csv", "b.csv.gz"]
    assert ws.count("access_events") == 2


def test_a_changed_file_at_the_same_path_is_counted_on_its_own_rows(ws, tmp_path):
    # The second version breaks record 2, which the first version loaded: its counts, rejects
    # and time range are its own, not mixed with the earlier version's rows of the same path.
    f = write(tmp_path / "access.csv", [HEADER, *GOOD])
    ingest_file(ws, f, "csv", mapping=MAPPING)
    write(f, [HEADER, GOOD[0], "e2,not a time,bob,,GET,s3://bucket/b,OK,1,", "e4,2022-02-01T00:00:00Z,dan,,GET,x,OK,1,"])
    r = ingest_file(ws, f, "csv", mapping=MAPPING)
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 2, 1)
    assert (r.ts_min, r.ts_max) == (datetime(2022, 1, 5, 8, 0, 0, 123456, tzinfo=timezone.utc),
                                    datetime(2022, 2, 1, tzinfo=timezone.utc))
    assert ws.count("access_events") == 5 and ws.count("ingests") == 2
