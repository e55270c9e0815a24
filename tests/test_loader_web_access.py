"""Web server access logs, NCSA common/combined (format ``web_access``): own fixtures, real
samples, peer check."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from investigate import RejectedRecordError, Workspace, ingest_file
from investigate.loaders import get_loader, ingest

from .conftest import rows

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web_access"
LOG = FIXTURES / "access.log"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real_samples"
UTC = timezone.utc
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"

COLS = "source_record, ts, actor_id, actor_type, src_ip, action, raw_action, resource, outcome, bytes, user_agent"


def at(second: int) -> datetime:
    return datetime(2024, 3, 1, 12, 0, second, tzinfo=UTC)


def combined(host="198.51.100.1", request="GET / HTTP/1.1", status="200", size="10",
             time="01/Mar/2024:12:00:00 +0000", user="-"):
    return f'{host} - {user} [{time}] "{request}" {status} {size} "-" "curl/8.5.0"'


def load(ws, tmp_path, lines, name="access.log"):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ingest_file(ws, f, "web_access")


# --- our own fixtures -------------------------------------------------------------------------

def test_fixture_rows_have_exact_canonical_values(ws):
    result = ingest_file(ws, LOG, "web_access")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (16, 16, 0)
    got = ws.sql(f"SELECT {COLS} FROM access_events ORDER BY source_record").fetchall()
    assert got == [
        # +0100 -> UTC; authuser -> actor (human); the full target, query string included
        (1, at(1), "alice", "human", "198.51.100.23", "read", "GET", "/records/patient?id=4711&view=full",
         "success", 5120, UA),
        # common format: no user agent; IPv6 client
        (2, at(2), None, "unknown", "2001:db8:85a3::8a2e:370:7334", "read", "GET", "/favicon.ico", "failure", 196, None),
        # request "-": no method, action or resource, but the line loads; bytes '-' -> NULL
        (3, at(3), None, "unknown", "203.0.113.9", None, None, None, "failure", None, None),
        # X-Forwarded-For chain: the first public address
        (4, at(4), None, "unknown", "198.51.100.24", "write", "POST", "/api/export", "success", 88, UA),
        # quoted chain, then the proxy's address
        (5, at(5), None, "unknown", "203.0.113.10", "read", "GET", "/assets/app.js", "success", 25507,
         "Amazon CloudFront"),
        # only private addresses: the first one
        (6, at(6), None, "unknown", "10.0.0.2", "write", "PUT", "/api/records/4711", "success", 0, UA),
        # a hostname: no address
        (7, at(7), None, "unknown", None, "delete", "DELETE", "/api/records/4711", "success", None, "curl/8.5.0"),
        # vhost_combined; -0800 -> UTC; 304 is a success
        (8, at(8), None, "unknown", "198.51.100.77", "read", "HEAD", "/", "success", None, UA),
        # escaped quotes kept as logged
        (9, at(9), None, "unknown", "198.51.100.78", "read", "GET", "/search?q=%22x%22", "success", 42,
         'Mozilla/5.0 \\"Evil\\" Bot'),
        (10, at(10), None, "unknown", "10.0.0.6", "write", "PATCH", "/api/records/4711", "success", 17, UA),
        (11, at(11), None, "unknown", "198.51.100.25", "other", "OPTIONS", "*", "success", 0, UA),
        # TLS bytes on the HTTP port, and an empty request: no method, the lines load
        (12, at(12), None, "unknown", "203.0.113.11", None, None, None, "failure", 226, None),
        (13, at(13), None, "unknown", "127.0.0.1", None, None, None, "failure", 0, None),
        (14, at(14), "carol@example.org", "human", "198.51.100.26", "other", "PROPFIND", "/dav/reports/",
         "failure", 0, "Microsoft-WebDAV-MiniRedir/10.0.19045"),
        (15, at(15), None, "unknown", "198.51.100.27", "read", "GET", "/index.html", "success", 1043, None),
        # uncompressed IPv6 kept as written
        (16, at(16), None, "unknown", "2a03:0000:10ff:f00f:0000:0000:0:8000", "read", "GET", "/test.html",
         "failure", 8571, "Facebot"),
    ]


def test_extra_keeps_what_the_columns_do_not(ws):
    ingest_file(ws, LOG, "web_access")
    extra = {r: json.loads(e) for r, e in ws.sql("SELECT source_record, extra FROM access_events").fetchall()}
    assert extra[1] == {"vhost": None, "remote_host": "198.51.100.23", "ident": None,
                        "time": "01/Mar/2024:13:00:01 +0100",
                        "request": "GET /records/patient?id=4711&view=full HTTP/1.1", "status": "200",
                        "referer": "https://portal.example.org/search?q=4711"}
    assert extra[4]["forwarded_for"] == ["10.1.2.3", "192.168.0.7", "198.51.100.24"]
    assert extra[5]["remote_host"] == '"203.0.113.10, 10.0.0.5" 10.0.0.6'
    assert extra[5]["forwarded_for"] == ["203.0.113.10", "10.0.0.5", "10.0.0.6"]
    assert "forwarded_for" not in extra[1]  # a single address is no chain
    assert extra[7]["remote_host"] == "build-agent.corp.example"
    assert extra[8]["vhost"] == "www.example.org:443"
    assert extra[9]["referer"] == 'https://example.org/?q=\\"x\\"'
    assert extra[10]["trailing_fields"] == '"198.51.100.200" 0.012'
    assert "trailing_fields" not in extra[11]  # only "-"
    assert extra[12]["request"] == "\\x16\\x03\\x01\\x00\\xa5\\x01"
    assert extra[3]["request"] is None and extra[13]["request"] is None
    assert extra[15]["ident"] == "ident42"
    assert "-" not in {v for e in extra.values() for v in e.values() if isinstance(v, str)}


@pytest.mark.parametrize("request_line, raw_action, action, resource", [
    ("GET /a HTTP/1.1", "GET", "read", "/a"),
    ("HEAD /a HTTP/1.1", "HEAD", "read", "/a"),
    ("POST /a HTTP/1.1", "POST", "write", "/a"),
    ("PUT /a HTTP/1.1", "PUT", "write", "/a"),
    ("PATCH /a HTTP/1.1", "PATCH", "write", "/a"),
    ("DELETE /a HTTP/1.1", "DELETE", "delete", "/a"),
    ("OPTIONS * HTTP/1.1", "OPTIONS", "other", "*"),
    ("CONNECT example.org:443 HTTP/1.1", "CONNECT", "other", "example.org:443"),
    ("VERSION-CONTROL /dav/x HTTP/1.1", "VERSION-CONTROL", "other", "/dav/x"),
    ("GET /old", "GET", "read", "/old"),                          # HTTP/0.9: no version
    ("GET /a b HTTP/1.1", "GET", "read", "/a b"),                 # a space in the target
    ("GET http://example.org/x?y=1 HTTP/1.1", "GET", "read", "http://example.org/x?y=1"),  # proxy form
    ("get /a HTTP/1.1", None, None, None),                        # not a method
    ("garbage", None, None, None),
    ("-", None, None, None),
])
def test_request_line_to_action(ws, tmp_path, request_line, raw_action, action, resource):
    load(ws, tmp_path, [combined(request=request_line)])
    assert ws.sql("SELECT raw_action, action, resource FROM access_events").fetchone() == (raw_action, action, resource)


@pytest.mark.parametrize("host, src_ip", [
    ("198.51.100.1", "198.51.100.1"),
    ("10.0.0.1", "10.0.0.1"),
    ("::1", "::1"),
    ("fe80::1", "fe80::1"),
    ("unknown, 198.51.100.2", "198.51.100.2"),            # a token that is no address is skipped
    ("172.16.0.1, 172.32.0.1", "172.32.0.1"),             # 172.32/16 is public
    ("100.64.0.1, 100.128.0.1", "100.128.0.1"),           # carrier-grade NAT is private
    ("fd12:3456::1, 2001:db8::2", "2001:db8::2"),         # fc00::/7 is private
    ("169.254.1.1, 127.0.0.1", "169.254.1.1"),
    ("198.51.100.9 10.0.0.1", "198.51.100.9"),            # two bare addresses: a chain, not a vhost
    ("www.example.org 198.51.100.5", "198.51.100.5"),     # a server name first: the vhost
    ("999.1.1.1", None),                                  # not an address
    ("proxy.corp.example", None),
])
def test_client_address_from_the_host_field(ws, tmp_path, host, src_ip):
    load(ws, tmp_path, [combined(host=host)])
    assert ws.sql("SELECT src_ip FROM access_events").fetchone() == (src_ip,)


@pytest.mark.parametrize("status, outcome", [("200", "success"), ("302", "success"), ("401", "failure"),
                                             ("503", "failure"), ("101", None), ("-", None)])
def test_status_to_outcome(ws, tmp_path, status, outcome):
    load(ws, tmp_path, [combined(status=status)])
    assert ws.sql("SELECT outcome FROM access_events").fetchone() == (outcome,)


def test_a_date_without_offset_is_read_as_utc(ws, tmp_path):
    load(ws, tmp_path, [combined(time="01/Mar/2024:12:00:00")])
    assert ws.sql("SELECT ts FROM access_events").fetchone() == (at(0),)


def test_bad_lines_are_rejected_with_line_number_and_reason(ws, tmp_path):
    good = combined()
    unclosed = ('46.0.0.1 - - [01/Mar/2024:12:00:00 +0000] "GET /x HTTP/1.1" 200 235 "-" '
                '"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')
    s3 = ('a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90 b [01/Mar/2024:12:00:00 +0000] '
          '192.0.2.1 - REQ REST.GET.OBJECT k "GET /b/k HTTP/1.1" 200 - 10 10 1 1 "-" "curl/8.5.0" -')
    result = load(ws, tmp_path, [
        good,
        unclosed,                                        # 2: the user agent's quote never closes
        good[:40],                                       # 3: cut off mid-line
        s3,                                              # 4: an S3 access log line
        combined(time="01/Mar/2024:25:00:00 +0000"),     # 5: impossible hour
        "",                                              # 6: blank: not a record
        combined(request='GET /a"b HTTP/1.1'),           # 7: an unescaped quote in the request
        good,
    ])
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (7, 2, 5)
    rejects = ws.sql("SELECT source_record, reason FROM rejects ORDER BY 1").fetchall()
    assert rejects == [
        (2, "not a line of this format: " + unclosed[:80]),
        (3, "not a line of this format: " + good[:40]),
        (4, "not a line of this format: " + s3[:80]),
        (5, "unreadable timestamp in expression 'time': '01/Mar/2024:25:00:00 +0000' (expected %d/%b/%Y:%H:%M:%S)"),
        (7, "not a line of this format: " + combined(request='GET /a"b HTTP/1.1')[:80]),
    ]
    assert ws.sql("SELECT source_record FROM access_events ORDER BY 1").fetchall() == [(1,), (8,)]


def test_strict_mode_names_the_first_bad_line(ws, tmp_path):
    f = tmp_path / "access.log"
    f.write_text(combined() + "\n" + combined()[:30] + "\n", encoding="utf-8")
    with pytest.raises(RejectedRecordError) as err:
        ingest_file(ws, f, "web_access", strict=True)
    assert err.value.record == 2 and ws.count("access_events") == 0


def test_empty_file(ws, tmp_path):
    f = tmp_path / "access.log"
    f.write_bytes(b"")
    result = ingest_file(ws, f, "web_access")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (0, 0, 0)
    assert "empty file" in result.note


@pytest.mark.parametrize("variant", ["gzip", "crlf", "no final newline"])
def test_variants_give_identical_rows(tmp_path, variant):
    data = LOG.read_bytes()
    other = tmp_path / "access.log.1"
    if variant == "gzip":
        other.write_bytes(gzip.compress(data))
    elif variant == "crlf":
        other.write_bytes(data.replace(b"\n", b"\r\n"))
    else:
        other.write_bytes(data.rstrip(b"\n"))
    with Workspace.open() as a, Workspace.open() as b:
        ingest_file(a, LOG, "web_access")
        result = ingest_file(b, other, "web_access")
        assert (result.rows_loaded, result.rows_rejected) == (16, 0)
        assert rows(a) == rows(b)


def test_sniff_and_format_auto(ws, tmp_path):
    web = get_loader("web_access")
    text = LOG.read_text(encoding="utf-8")
    assert web.sniff(text) >= 90
    assert web.sniff(text[:700]) >= 90  # a head cut mid-line counts its complete lines
    assert web.sniff("") == 0 and web.sniff("#Version: 1.0\n#Fields: date time\n") == 0
    # mostly garbage is not this format even if one line matches
    assert web.sniff(combined() + "\n" + "x\n" * 9) == 0
    result = ingest_file(ws, LOG, "auto")
    assert result.format == "web_access" and "format auto: web_access" in result.note


def test_sniff_stays_fast_on_hostile_heads():
    # sniff() runs the pattern with Python's backtracking re; these once took minutes.
    import time

    web, s3 = get_loader("web_access"), get_loader("s3_access")
    for head in ["A" * 65535, "a - - [" * 9000, "a " * 30000 + "- - [", "x, " * 20000 + "- - [",
                 combined()[:60] + '"x" ' * 15000, "- - [01/Mar/2024:12:00:00 +0000] " + "- " * 40 + '"']:
        start = time.perf_counter()
        web.sniff(head + "\n"), s3.sniff(head + "\n")
        assert time.perf_counter() - start < 2, head[:40]


def test_directories_pick_up_rotated_logs(ws, tmp_path):
    for name in ["access.log", "access.log.1", "access.log.2.gz", "access_log", "access_log-20240301",
                 "error.json"]:
        data = (combined(request=f"GET /{name} HTTP/1.1") + "\n").encode()
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    results = ingest(ws, tmp_path, "web_access")
    assert sorted(Path(r.path).name for r in results) == ["access.log", "access.log.1", "access.log.2.gz",
                                                           "access_log", "access_log-20240301"]


# --- real samples -----------------------------------------------------------------------------

REAL_COUNTS = {
    "edge_apache_beats_test.log": (7, 7, 0),
    "edge_nginx_beats_test.log": (7, 7, 0),
    "elastic_examples_apache_logs.log": (10000, 9999, 1),
}


def real(name: str) -> Path:
    path = REAL / "web_access_combined" / name
    if not path.exists():
        pytest.skip(f"real sample {name} not present ({REAL})")
    return path


@pytest.mark.parametrize("name", sorted(REAL_COUNTS))
def test_real_sample_counts(ws, name):
    result = ingest_file(ws, real(name), "web_access")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == REAL_COUNTS[name]


def test_real_apache_logs_spot_values(ws):
    result = ingest_file(ws, real("elastic_examples_apache_logs.log"), "web_access")
    # line 8899: the user agent's quote is never closed
    assert [(r.record, r.reason[:59]) for r in result.rejects] == [
        (8899, "not a line of this format: 46.118.127.106 - - [20/May/2015:")]
    assert (result.ts_min, result.ts_max) == (datetime(2015, 5, 17, 10, 5, tzinfo=UTC),
                                              datetime(2015, 5, 20, 21, 5, 59, tzinfo=UTC))
    counts = ws.sql("SELECT count(*) FILTER (bytes IS NULL), count(DISTINCT src_ip), count(actor_id), "
                    "count(*) FILTER (action = 'read'), count(*) FILTER (action = 'write') FROM access_events").fetchone()
    assert counts == (669, 1753, 0, 9993, 5)
    first = ws.sql(f"SELECT {COLS} FROM access_events WHERE source_record = 1").fetchone()
    assert first[:10] == (1, datetime(2015, 5, 17, 10, 5, 3, tzinfo=UTC), None, "unknown", "83.149.9.216", "read",
                          "GET", "/presentations/logstash-monitorama-2013/images/kibana-search.png", "success", 203023)


# --- peer test: Filebeat's apache and nginx modules on the same inputs ------------------------

PEER = REAL / "peer_tests" / "elastic" / "web_access_combined"
ACCEPTED = {
    ("edge_apache_beats_test.log", 7, "ts"): (
        "Filebeat expects 07:20:46.200Z for '[04/Jul/2019:09:20:46 +0200]'; the line has no fraction of a "
        "second, so 07:20:46.000Z is right (the upstream expected file is also off on this doc's log.offset)"),
}
PEER_KEYS = {
    "ts": "@timestamp", "src_ip": "source.ip", "user": "user.name", "action": "http.request.method",
    "outcome": "event.outcome", "status": "http.response.status_code", "bytes": "http.response.body.bytes",
    "resource": "url.original", "vhost": "http.vhost",
}


def peer_docs(name: str) -> list[dict]:
    path = PEER / f"{name}.expected.json"
    if not path.exists():
        pytest.skip(f"peer expectations for {name} not present")
    return json.loads(path.read_text(encoding="utf-8"))  # beats: an array of flat documents


def test_peer_filebeat_agrees_except_for_accepted_differences():
    found = {}
    for name in ["edge_apache_beats_test.log", "edge_nginx_beats_test.log"]:
        docs = peer_docs(name)
        with Workspace.open() as ws:
            ingest_file(ws, real(name), "web_access")
            ours = ws.sql("SELECT source_record, strftime(ts, '%Y-%m-%dT%H:%M:%S.%g') || 'Z', src_ip, actor_id, "
                          "raw_action, outcome, CAST(extra->>'status' AS INTEGER), bytes, resource, "
                          "extra->>'vhost' FROM access_events ORDER BY source_record").fetchall()
        assert len(docs) == len(ours)
        carried = {f for f, k in PEER_KEYS.items() if any(k in d for d in docs)}
        assert {"ts", "src_ip", "user", "action", "status", "bytes", "resource"} <= carried
        for doc, (rec, *values) in zip(docs, ours):
            mine = dict(zip(PEER_KEYS, values))
            for field in sorted(carried):
                theirs = doc.get(PEER_KEYS[field])
                # Filebeat writes the placeholder '-' as the user name; the same fact as our NULL.
                if field == "user" and theirs == "-":
                    theirs = None
                if theirs != mine[field]:
                    found[(name, rec, field)] = (theirs, mine[field])
    unexplained = {k: v for k, v in found.items() if k not in ACCEPTED}
    assert unexplained == {}
    assert set(found) == set(ACCEPTED)  # an accepted difference that went away must be removed too
