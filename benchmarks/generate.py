"""The fictional case at a scale factor, for the benchmarks.

    python benchmarks/generate.py SCALE OUT [--seed N] [--formats case|all|NAME,...]

SCALE=1 is about 1 million access events and 1 million edge flows; SCALE=100 is 100 million
each. The case itself (``investigate.samplecase``, about 30,000 access events and 16,000 flows,
every planted fact, every malformed record) is written first, at its own size. Its generator
spends about 100 us a record in Python, which would take hours at SCALE=100, so the volume is
added by DuckDB instead: each format's bulk files are the case's own well-formed records of
that format, drawn at random (a seeded hash of the record number, so the bytes depend only on
the seed and the scale) and restamped with a new id and time spread evenly over the case's
period. Every address, identity, resource and user agent in them therefore comes from the
case's world, so enrichment and the queries see the case's mix at any size.

The bulk files sit beside the case's (``exports/bulk/...``, and ``*-bulk*`` files inside the
native and flow-log folders), in the same formats, headers and line endings; ``case.yml`` lists
them. ``ground_truth.json`` is removed, because the counts it states no longer hold;
``scale.json`` gives the records of each format instead.

Memory stays bounded: records are made a block of rows at a time and written as they come.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import yaml

from investigate import samplecase
from investigate.samplecase.world import PERIOD_END, PERIOD_START

MILLION = 1_000_000
BLOCK = 1_000_000          # records made per DuckDB statement
GZIP_LEVEL = 1             # the bulk files are for reading back, not for keeping
CASE_MANIFEST = "case.yml"

# Placeholders in a record template, filled per record by SQL.
ID, T0, T1 = "~ID~", "~T0~", "~T1~"

START_US = int(datetime(PERIOD_START.year, PERIOD_START.month, PERIOD_START.day,
                        tzinfo=timezone.utc).timestamp() * MILLION)
END_US = int(datetime(PERIOD_END.year, PERIOD_END.month, PERIOD_END.day,
                      tzinfo=timezone.utc).timestamp() * MILLION)


@dataclass
class Format:
    """How one format's bulk records are made from the case's own."""

    name: str                                   # the loader's format name
    kind: str                                   # "access" or "flow": what SCALE counts
    files: Callable[[Path], list[Path]]         # the case's files of this format
    records: Callable[[Path], Iterator[str]]    # a file's records, as text
    template: Callable[[Path, str], tuple[str, str, int] | None]  # (part, template, duration us)
    id_sql: str                                 # SQL of the record number i (and @salt)
    time_sql: str                               # SQL of a timestamp @t
    period_sql: str                             # SQL of @t: which file of its part a record goes to
    path: Callable[[str, str], str]             # (part, period) -> file path, relative to OUT
    header: Callable[[str, str], str] = lambda part, period: ""
    footer: Callable[[str, str], str] = lambda part, period: ""
    separator: str = "\n"                       # between records
    manifest_input: dict | None = None          # the case.yml input the bulk files form
    salt: int = 0                               # each format draws its own records


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8", newline="") if path.suffix == ".gz" \
        else open(path, encoding="utf-8", newline="")


def _lines(path: Path, skip: int = 0) -> Iterator[str]:
    with _open_text(path) as fh:
        for n, line in enumerate(fh):
            if n >= skip:
                yield line.rstrip("\r\n")


# --- the case's primary exports: two access CSVs and the edge flows ---------------------------

_AUDIT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _audit_template(_path: Path, line: str):
    cells = next(csv.reader([line]))
    if len(cells) != 11 or not _AUDIT_TIME.fullmatch(cells[1]) or not re.fullmatch(r"\d*", cells[7]):
        return None
    return "", f"{ID},{T0}," + line.split(",", 2)[2], 0


_GATEWAY_TIME = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d")


def _gateway_template(_path: Path, line: str):
    cells = line.split(";")
    if len(cells) != 9 or not _GATEWAY_TIME.fullmatch(cells[0]) \
            or not re.fullmatch(r"\d+|-", cells[6]) or not re.fullmatch(r"GW\d+", cells[8]):
        return None
    try:
        datetime.strptime(cells[0], "%d.%m.%Y %H:%M:%S")
    except ValueError:
        return None
    return "", ";".join([T0, *cells[1:8], ID]), 0


def _iso_s(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def _flow_template(_path: Path, line: str):
    try:
        rec = json.loads(line)
        duration = (_iso_s(rec["end"]) - _iso_s(rec["start"])) * MILLION
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(rec, dict) or duration < 0:
        return None
    rec.update(flow_id=ID, start=T0, end=T1)
    return "", json.dumps(rec, separators=(",", ":")), duration


# --- native access logs: CloudTrail, pgaudit, the gateway's web log ---------------------------

def _cloudtrail_files(out: Path) -> list[Path]:
    return sorted((out / "exports_native/AWSLogs").glob("*/CloudTrail/*/*/*/*/*.json.gz"))


def _cloudtrail_records(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for rec in json.load(fh).get("Records", []):
            yield json.dumps(rec, separators=(",", ":"))


def _cloudtrail_template(path: Path, text: str):
    rec = json.loads(text)
    if not isinstance(rec.get("eventTime"), str) or not _AUDIT_TIME.fullmatch(rec["eventTime"]):
        return None
    rec.update(eventID=ID, eventTime=T0)
    # part: AWSLogs/<account>/CloudTrail/<region>
    return "/".join(path.parts[-8:-4]), json.dumps(rec, separators=(",", ":")), 0


def _cloudtrail_path(part: str, day: str) -> str:
    account, region = part.split("/")[1], part.split("/")[3]
    y, m, d = day.split("-")
    return (f"exports_native/{part}/{y}/{m}/{d}/"
            f"{account}_CloudTrail_{region}_{y}{m}{d}T0000Z_bulk.json.gz")


_PG_ENTRY = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\]: user=[^,]*,db=[^,]*,client=\S*"
                       r" LOG:  AUDIT: SESSION,.*,<not logged>,\d+", re.S)
_PG_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[")


def _pgaudit_records(path: Path) -> Iterator[str]:
    """Entries: a line that starts with a time, with the tab-led lines that continue it."""
    entry: list[str] = []
    for line in _lines(path):
        if _PG_START.match(line) and entry:
            yield "\n".join(entry)
            entry = []
        entry.append(line)
    if entry:
        yield "\n".join(entry)


def _pgaudit_audit_records(path: Path) -> Iterator[str]:
    """The entries the loader counts as records: AUDIT entries and refused accesses."""
    return (e for e in _pgaudit_records(path) if "LOG:  AUDIT: " in e or "permission denied" in e)


def _pgaudit_template(path: Path, text: str):
    if not _PG_ENTRY.fullmatch(text):
        return None
    return path.parent.name, T0 + text[23:], 0


_WEB_LINE = re.compile(r'(\S+ - \S+ )\[(\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}'
                       r':\d\d:\d\d:\d\d) \+0800\]( "[^"]*" \d{3} \d+ "[^"]*" "[^"]*")')


def _web_template(_path: Path, line: str):
    m = _WEB_LINE.fullmatch(line)
    return None if m is None else ("", f"{m.group(1)}[{T0} +0800]{m.group(3)}", 0)


# --- flow logs: VPC flow logs, Zeek conn.log ---------------------------------------------------

def _vpc_files(out: Path) -> list[Path]:
    return sorted((out / "exports_flows/vpcflow/AWSLogs").rglob("*.log.gz"))


def _vpc_template(path: Path, line: str):
    cells = line.split(" ")
    if len(cells) != 15 or cells[13] != "OK" or not (cells[10].isdigit() and cells[11].isdigit()) \
            or not (cells[5].isdigit() and int(cells[5]) < 65536 and cells[6].isdigit() and int(cells[6]) < 65536):
        return None
    duration = (int(cells[11]) - int(cells[10])) * MILLION
    # part: AWSLogs/<account>/vpcflowlogs/<region>/<flow log id>
    flow_log = path.name.split("_")[3]
    part = "/".join(path.parts[-8:-4] + (flow_log,))
    return part, " ".join(cells[:10] + [T0, T1] + cells[12:]), duration


def _vpc_path(part: str, day: str) -> str:
    account, region, flow_log = part.split("/")[1], part.split("/")[3], part.split("/")[4]
    y, m, d = day.split("-")
    directory = "/".join(part.split("/")[:4])
    return (f"exports_flows/vpcflow/{directory}/{y}/{m}/{d}/"
            f"{account}_vpcflowlogs_{region}_{flow_log}_{y}{m}{d}T0000Z_bulk.log.gz")


def _zeek_template(_path: Path, line: str):
    cells = line.split("\t")
    if line.startswith("#") or len(cells) != 21 or not re.fullmatch(r"\d+\.\d{6}", cells[0]):
        return None
    return "", "\t".join([T0, ID, *cells[2:]]), 0


def _zeek_header(out: Path) -> Callable[[str, str], str]:
    first = sorted((out / "exports_flows/zeek").glob("conn.*.log.gz"))[0]
    head = [line for line in _lines(first) if line.startswith("#") and not line.startswith(("#open", "#close"))]
    fields = head.index(next(h for h in head if h.startswith("#fields")))
    return lambda part, month: "\n".join(head[:fields] + [f"#open\t{month}-01-00-00-00"] + head[fields:]) + "\n"


def _bulk_csv(name: str, header: str) -> dict:
    return dict(path=lambda part, month: f"exports/bulk/{name}/{name}-{month}.csv",
                header=lambda part, month: header)


def formats(out: Path) -> list[Format]:
    """Every format of the case, with how to scale it; ``out`` holds the case already written."""
    audit_head = next(_lines(out / "exports/access_platform_audit.csv"))
    gateway_head = next(_lines(out / "exports/access_apac_gateway.csv"))
    vpc_files = _vpc_files(out)
    vpc_head = next(_lines(vpc_files[0]))
    # ids from the record number (decimal digits are hex digits too): unique, and cheap to make
    uuid = "'0000000@salt-0000-4000-8000-' || lpad(i::VARCHAR, 12, '0')"
    iso_ms = "strftime(@t, '%Y-%m-%dT%H:%M:%S.%gZ')"
    month = "strftime(@t, '%Y-%m')"
    day = "strftime(@t, '%Y-%m-%d')"
    return [
        Format("csv", "access", lambda o: [o / "exports/access_platform_audit.csv"],
               lambda p: _lines(p, skip=1), _audit_template, uuid, iso_ms, month,
               manifest_input={"path": "exports/bulk/access_platform_audit", "format": "csv",
                               "mapping": "mappings/access_platform_audit.yml"},
               salt=1, **_bulk_csv("access_platform_audit", audit_head + "\n")),
        Format("csv", "access", lambda o: [o / "exports/access_apac_gateway.csv"],
               lambda p: _lines(p, skip=1), _gateway_template, "'GB' || lpad(i::VARCHAR, 10, '0')",
               # naive Asia/Singapore wall time (UTC+8 all through the period)
               "strftime(@t + INTERVAL 8 HOUR, '%d.%m.%Y %H:%M:%S')", month,
               manifest_input={"path": "exports/bulk/access_apac_gateway", "format": "csv",
                               "mapping": "mappings/access_apac_gateway.yml"},
               separator="\r\n", salt=2, **_bulk_csv("access_apac_gateway", gateway_head + "\r\n")),
        Format("jsonl", "flow", lambda o: [o / "exports/edge_flows.jsonl.gz"], _lines, _flow_template,
               "'fb-' || lpad(i::VARCHAR, 16, '0')", "strftime(@t, '%Y-%m-%dT%H:%M:%SZ')", month,
               path=lambda part, m: f"exports/bulk/edge_flows/edge_flows-{m}.jsonl.gz",
               manifest_input={"path": "exports/bulk/edge_flows", "format": "jsonl",
                               "mapping": "mappings/edge_flows.yml"}, salt=3),
        Format("cloudtrail", "access", _cloudtrail_files, _cloudtrail_records, _cloudtrail_template,
               uuid, iso_ms, day, path=_cloudtrail_path,
               header=lambda part, d: '{"Records":[', footer=lambda part, d: "]}\n", separator=",", salt=4),
        Format("pgaudit", "access",
               lambda o: sorted((o / "exports_native/postgresql").rglob("*.log.gz")),
               _pgaudit_audit_records, _pgaudit_template, "''", "strftime(@t, '%Y-%m-%d %H:%M:%S.%g')", month,
               path=lambda site, m: f"exports_native/postgresql/{site}/postgresql-{m}-bulk.log.gz", salt=5),
        Format("web_access", "access",
               lambda o: sorted(p for p in (o / "exports_native/gateway").glob("access.log-*.gz")),
               _lines, _web_template, "''", "strftime(@t + INTERVAL 8 HOUR, '%d/%b/%Y:%H:%M:%S')", month,
               path=lambda part, m: f"exports_native/gateway/bulk-access.log-{m.replace('-', '')}01.gz",
               salt=6),
        Format("vpc_flow", "flow", lambda o: vpc_files, lambda p: _lines(p, skip=1), _vpc_template,
               "''", "(epoch_us(@t) // 1000000)::VARCHAR", day, path=_vpc_path,
               header=lambda part, d: vpc_head + "\n", salt=7),
        Format("zeek_conn", "flow",
               lambda o: sorted((o / "exports_flows/zeek").glob("conn.*.log.gz")),
               lambda p: (line for line in _lines(p) if not line.startswith("#")), _zeek_template,
               "'B' || lpad(i::VARCHAR, 17, '0')",
               "format('{}.{:06d}', epoch_us(@t) // 1000000, epoch_us(@t) % 1000000)", month,
               path=lambda part, m: f"exports_flows/zeek/conn-bulk.{m}.log.gz", header=_zeek_header(out),
               footer=lambda part, m: f"#close\t{m}-28-23-59-59\n", salt=8),
    ]


FORMAT_SETS = {
    "case": ("csv", "jsonl"),       # case.yml: what enrichment and the queries run on
    "all": ("csv", "jsonl", "cloudtrail", "pgaudit", "web_access", "vpc_flow", "zeek_conn"),
}


@dataclass
class Drawn:
    """What a format's bulk records are drawn from: the case's well-formed records as
    templates, with the part (file group) and duration of each, and how many records it read."""

    parts: list[str]
    templates: list[str]
    durations: list[int]
    read: int


def _drawn(fmt: Format, out: Path) -> Drawn:
    drawn = Drawn([], [], [], 0)
    for path in fmt.files(out):
        for record in fmt.records(path):
            drawn.read += 1
            made = fmt.template(path, record)
            if made is not None:
                drawn.parts.append(made[0])
                drawn.templates.append(made[1])
                drawn.durations.append(made[2])
    return drawn


def _bulk_sql(fmt: Format, templates: list[str]) -> str:
    """One block of bulk records: part, file period and the records joined, in time order."""
    # Record i gets the i-th of n even steps over the period, moved by up to one step: times
    # never go backwards between blocks, and the file of a record follows from its time. The
    # drawn records are a table (a join on k costs nothing; indexing a list parameter per row
    # cost 0.8 s a million).
    made = f"""
        SELECT i, part, tpl, dur,
               make_timestamp($start + (i * $step)::BIGINT + (hash(i, {fmt.salt} + 100) % $jitter)::BIGINT) AS t
        FROM range($first, $last) r(i) JOIN bulk_vocabulary v ON v.k = hash(i, {fmt.salt}) % $v"""
    line = "tpl"
    for token, value in ((ID, fmt.id_sql.replace("@salt", str(fmt.salt))),
                         (T0, fmt.time_sql.replace("@t", "t")), (T1, fmt.time_sql.replace("@t", "t1"))):
        if any(token in tpl for tpl in templates):
            line = f"replace({line}, '{token}', {value})"
    return f"""
        SELECT part, period, string_agg(line, $sep ORDER BY i) AS text
        FROM (SELECT i, part, {fmt.period_sql.replace('@t', 't')} AS period, {line} AS line
              FROM (SELECT *, t + to_microseconds(dur) AS t1 FROM ({made})))
        GROUP BY part, period ORDER BY min(i)"""


def _gzip_text(path: Path) -> io.TextIOWrapper:
    """A text file written through gzip, its header without name or time (same bytes each run)."""
    raw = open(path, "wb")
    packed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)
    packed.myfileobj = raw      # closed with the gzip stream
    return io.TextIOWrapper(packed, encoding="utf-8", newline="", write_through=False)


class _Files:
    """The open bulk files of one format: one per part, replaced when its period changes."""

    def __init__(self, out: Path, fmt: Format):
        self.out, self.fmt = out, fmt
        self.open: dict[str, tuple[str, object]] = {}
        self.written: list[str] = []

    def write(self, part: str, period: str, text: str) -> None:
        current = self.open.get(part)
        if current is not None and current[0] != period:
            self._close(part)
            current = None
        if current is None:
            rel = self.fmt.path(part, period)
            path = self.out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = _gzip_text(path) if rel.endswith(".gz") else open(path, "w", encoding="utf-8", newline="")
            fh.write(self.fmt.header(part, period))
            self.open[part] = (period, fh)
            self.written.append(rel)
        else:
            current[1].write(self.fmt.separator)
        self.open[part][1].write(text)

    def _close(self, part: str) -> None:
        period, fh = self.open.pop(part)
        if self.fmt.separator != ",":       # a line-based file ends with a line end
            fh.write(self.fmt.separator)
        fh.write(self.fmt.footer(part, period))
        fh.close()

    def close(self) -> None:
        for part in list(self.open):
            self._close(part)


def write_bulk(con: duckdb.DuckDBPyConnection, out: Path, fmt: Format, drawn: Drawn, n: int) -> dict:
    """Write ``n`` bulk records of ``fmt`` drawn from ``drawn``; what was written."""
    if not drawn.templates:
        raise SystemExit(f"{fmt.name}: the case has no well-formed record to draw from")
    con.execute("""CREATE OR REPLACE TEMP TABLE bulk_vocabulary AS
                   SELECT generate_subscripts($tpl, 1) - 1 AS k, unnest($part) AS part,
                          unnest($tpl) AS tpl, unnest($dur) AS dur""",
                {"part": drawn.parts, "tpl": drawn.templates, "dur": drawn.durations})
    step = (END_US - START_US) / max(n, 1)
    params = {"v": len(drawn.templates), "start": START_US, "step": step, "jitter": max(int(step), 1),
              "sep": fmt.separator}
    sql = _bulk_sql(fmt, drawn.templates)
    files = _Files(out, fmt)
    # While DuckDB makes one block, a second thread writes (and gzips) the one before: both
    # release the GIL while they work.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending = None
        for first in range(0, n, BLOCK):
            rows = con.execute(sql, {**params, "first": first, "last": min(first + BLOCK, n)}).fetchall()
            if pending is not None:
                pending.result()
            pending = writer.submit(lambda rows=rows: [files.write(*row) for row in rows])
        if pending is not None:
            pending.result()
    files.close()
    return {"format": fmt.name, "case_records": drawn.read, "drawn_from": len(drawn.templates), "bulk_records": n,
            "files": len(files.written), "bulk_paths": files.written}


def _add_inputs(out: Path, inputs: list[dict]) -> None:
    manifest = out / CASE_MANIFEST
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    doc["inputs"].extend(inputs)
    doc["name"] = f"{doc['name']}, with bulk records"
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def generate(scale: float, out, *, seed: int = 20221, formats_wanted=FORMAT_SETS["all"],
             progress: Callable[[str], None] = lambda s: None) -> dict:
    """Write the case at ``scale`` under ``out``; returns what ``scale.json`` holds."""
    if scale <= 0:
        raise ValueError("SCALE must be positive")
    out = Path(out)
    started = time.perf_counter()
    shutil.rmtree(out / "exports/bulk", ignore_errors=True)   # the native and flow folders are
    samplecase.generate(out, seed=seed, scale=1.0)           # emptied by the case's generator
    (out / samplecase.TRUTH_FILE).unlink(missing_ok=True)
    progress(f"case written ({time.perf_counter() - started:.1f} s)")
    every = formats(out)
    fmts = [f for f in every if f.name in formats_wanted]
    # Each format grows by the factor that brings its kind (access events, flows) to the
    # target, measured on the case's primary exports (case.yml), which the native and flow logs
    # log again.
    drawn = {id(f): _drawn(f, out) for f in every if f in fmts or f.manifest_input is not None}
    base = {"access": 0, "flow": 0}
    for fmt in every:
        if fmt.manifest_input is not None:
            base[fmt.kind] += drawn[id(fmt)].read
    target = scale * MILLION
    result = {"scale": scale, "seed": seed, "target_per_kind": int(target), "formats": []}
    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.execute("SET TimeZone = 'UTC'")
    # The last primary format of a kind takes the rounding, so the kind's total is exact.
    last_primary = {f.kind: f for f in every if f.manifest_input is not None}
    primary_total = {"access": 0, "flow": 0}
    for fmt in fmts:
        t = time.perf_counter()
        read = drawn[id(fmt)].read
        factor = target / base[fmt.kind] if base[fmt.kind] else 0
        total = int(round(read * factor))
        if fmt.manifest_input is not None:
            if fmt is last_primary[fmt.kind] and all(f in fmts for f in every if f.kind == fmt.kind
                                                     and f.manifest_input is not None):
                total = int(target) - primary_total[fmt.kind]
            primary_total[fmt.kind] += total
        n = max(total - read, 0)
        done = write_bulk(con, out, fmt, drawn[id(fmt)], n) if n else {"format": fmt.name, "case_records": read,
                                                        "bulk_records": 0, "files": 0, "bulk_paths": []}
        done["seconds"] = round(time.perf_counter() - t, 2)
        result["formats"].append(done)
        progress(f"{fmt.name:<11} {n:>12,} bulk records in {done['files']:>4} files ({done['seconds']:.1f} s)")
    _add_inputs(out, [f.manifest_input for f, d in zip(fmts, result["formats"])
                      if f.manifest_input is not None and d["bulk_records"]])
    result["seconds"] = round(time.perf_counter() - started, 2)
    for d in result["formats"]:
        d.pop("bulk_paths")
    (out / "scale.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scale", type=float, help="1 = about 1 million access events and 1 million flows")
    ap.add_argument("out", help="folder to write the case into")
    ap.add_argument("--seed", type=int, default=20221)
    ap.add_argument("--formats", default="all",
                    help="'case' (case.yml's CSV and JSONL exports), 'all' (every format, the "
                         "default), or format names separated by commas")
    args = ap.parse_args(argv)
    wanted = FORMAT_SETS.get(args.formats) or tuple(args.formats.split(","))
    result = generate(args.scale, args.out, seed=args.seed, formats_wanted=wanted,
                      progress=lambda s: print(s, file=sys.stderr, flush=True))
    total = sum(f["case_records"] + f["bulk_records"] for f in result["formats"])
    print(f"{args.out}: {total:,} records in {len(result['formats'])} formats, {result['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
