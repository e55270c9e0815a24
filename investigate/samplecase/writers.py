"""Writers of the four exports, each in its own format and quirks.

Every writer writes a record as soon as it is given one, numbers records
as a loader would (CSV data rows without the header, JSONL lines), slots in
the scheduled malformed records (:mod:`.malformed`) and reports each record
to :class:`~.truth.Truth`. Output bytes depend on the seed only: fixed line
endings, ids from seeded generators, gzip with ``mtime=0`` and no name.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import uuid
from pathlib import Path

from . import malformed
from .activity import AccessEvent
from .timefmt import iso_ms, iso_offset_sgt, iso_offset_utc, iso_z, sgt_local, utc_date
from .transfers import FLOW_KEYS, BackupJob, Flow
from .truth import Truth
from .world import AddressPools

AUDIT_FILE = "exports/access_platform_audit.csv"
GATEWAY_FILE = "exports/access_apac_gateway.csv"
FLOWS_FILE = "exports/edge_flows.jsonl.gz"
BACKUP_FILE = "exports/backup_jobs.csv"

AUDIT_HEADER = ("event_uuid", "event_time", "principal", "client_ip", "operation", "object",
                "result", "bytes_out", "rows_returned", "user_agent", "session_id")
GATEWAY_HEADER = ("Zeit", "Benutzer", "Quell-IP", "Aktion", "Ressource", "Status", "Bytes",
                  "Datensaetze", "ID")
BACKUP_HEADER = ("job_id", "dataset", "src_host", "src_ip", "dst_host", "dst_ip",
                 "started_at", "finished_at", "bytes_copied", "status")
GATEWAY_ACTION = {"GetObject": "READ", "SelectRows": "READ", "ListBucket": "LIST",
                  "PutObject": "WRITE", "DeleteObject": "DELETE", "ExportTable": "EXPORT",
                  "Login": "LOGIN"}
BENIGN_CONTENT = "s3://rr-content/videos/v0001234.mp4"


def _text(value: int | None, missing: str) -> str:
    return missing if value is None else str(value)


class _Export:
    """Record numbering, malformed-record scheduling and row tallies."""

    rel: str

    def __init__(self, truth: Truth, bad: tuple[malformed.Bad, ...]) -> None:
        self.truth = truth
        self.pending = list(bad)
        self.n = 0

    def _bad_before(self, ms: int | None) -> None:
        """Write the bad records due before a good record at ``ms`` (None: all)."""
        while self.pending and (ms is None or self.pending[0].on <= utc_date(ms)):
            bad = self.pending.pop(0)
            self._line(bad.make(self._benign(ms if ms is not None else self._last_ms)))
            self.n += 1
            self.truth.record(self.rel, self.n, bad.problem)

    def _good(self) -> None:
        self.n += 1
        self.truth.record(self.rel, self.n)

    def _benign(self, ms: int) -> list[str]:
        raise NotImplementedError

    def _line(self, text: str) -> None:
        raise NotImplementedError


class _AccessExport(_Export):
    """The two access CSV exports: one good event per row, its id in cell ``id_cell``."""

    id_cell: int
    newline: str

    def _cells(self, ev: AccessEvent) -> list[str]:
        raise NotImplementedError

    def _line(self, text: str) -> None:
        self.f.write(text + self.newline)

    def write(self, ev: AccessEvent) -> str:
        """Write one good event (and any bad records due before it); return its id."""
        self._bad_before(ev.ms)
        cells = self._cells(ev)
        self.csv.writerow(cells)
        self._last_ms = ev.ms
        self._good()
        self.truth.access(cells[self.id_cell], ev)
        return cells[self.id_cell]

    def close(self) -> None:
        self._bad_before(None)
        self.f.close()


class AuditWriter(_AccessExport):
    """``access_platform_audit.csv``: comma, LF, ISO UTC with milliseconds."""

    rel = AUDIT_FILE
    id_cell = 0
    newline = "\n"

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        super().__init__(truth, malformed.AUDIT_BAD)
        self.f = open(out / self.rel, "w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.f, lineterminator="\n")
        self.csv.writerow(AUDIT_HEADER)
        self.rng = random.Random(f"{seed}/audit-ids")
        self.sessions: dict[str, str] = {}
        self.session_day = None
        self.benign_ip = pools.v4["us-mtv-office"][1]
        self._last_ms = 0

    def _session(self, ev: AccessEvent) -> str:
        """One session id per principal and UTC day."""
        day = utc_date(ev.ms)
        if day != self.session_day:
            self.sessions, self.session_day = {}, day
        if ev.principal not in self.sessions:
            self.sessions[ev.principal] = f"s-{self.rng.getrandbits(48):012x}"
        return self.sessions[ev.principal]

    def _cells(self, ev: AccessEvent) -> list[str]:
        return [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), iso_ms(ev.ms),
                ev.principal, ev.ip, ev.op, ev.resource, "OK" if ev.ok else "DENIED",
                _text(ev.nbytes, ""), _text(ev.rows, ""), ev.agent, self._session(ev)]

    def _benign(self, ms: int) -> list[str]:
        return self._cells(AccessEvent(ms, "mhayes", self.benign_ip, "us-mtv-office", "GetObject",
                                       BENIGN_CONTENT, True, 734_512, None, "rr-cli/2.4.1"))


class GatewayWriter(_AccessExport):
    """``access_apac_gateway.csv``: semicolon, CRLF, German headers, SGT wall time."""

    rel = GATEWAY_FILE
    id_cell = -1
    newline = "\r\n"

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        super().__init__(truth, malformed.GATEWAY_BAD)
        self.f = open(out / self.rel, "w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.f, delimiter=";", lineterminator="\r\n")
        self.csv.writerow(GATEWAY_HEADER)
        self.rng = random.Random(f"{seed}/gateway")
        self.next_id = 1
        self.benign_ip = pools.v4["sg-office"][1]
        self._last_ms = 0

    def _zeit(self, ms: int) -> str:
        """Mostly naive SGT; ~2% carry an explicit offset (still the same instant)."""
        r = self.rng.random()
        if r < 0.01:
            return iso_z(ms)
        if r < 0.02:
            return iso_offset_sgt(ms)
        return sgt_local(ms)

    def _cells(self, ev: AccessEvent) -> list[str]:
        assert ev.ms % 1000 == 0, "the gateway logs whole seconds"
        cells = [self._zeit(ev.ms), ev.principal, ev.ip, GATEWAY_ACTION[ev.op], ev.resource,
                 "ALLOW" if ev.ok else "DENY", _text(ev.nbytes, "-"), _text(ev.rows, "-"),
                 f"GW{self.next_id:08d}"]
        self.next_id += 1
        return cells

    def _benign(self, ms: int) -> list[str]:
        return self._cells(AccessEvent(ms - ms % 1000, "dtan", self.benign_ip, "sg-office",
                                       "GetObject", BENIGN_CONTENT, True, 734_512, None, ""))


def _flow_json(f: Flow) -> str:
    values = (f.flow_id, iso_z(f.start_ms), iso_z(f.end_ms), f.src_addr, f.src_port, f.dst_addr,
              f.dst_port, f.proto, f.nbytes, f.packets, f.edge_pop)
    return json.dumps(dict(zip(FLOW_KEYS, values)), separators=(",", ":"))


class FlowWriter(_Export):
    """``edge_flows.jsonl.gz``: JSON Lines in a reproducible gzip member."""

    rel = FLOWS_FILE

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        super().__init__(truth, malformed.FLOW_BAD)
        self.raw = open(out / self.rel, "wb")
        # No file name and mtime 0 in the header: same bytes on every run.
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=9)
        self.rng = random.Random(f"{seed}/flow-bad")
        self.benign_dst = pools.v4["ibc-us-west"][0]
        self.chunk: list[str] = []
        self._last_ms = 0

    def _benign(self, ms: int) -> list[str]:
        ms -= ms % 1000
        flow = Flow(f"fl-{self.rng.getrandbits(64):016x}", ms, ms + 30_000, "198.51.100.77",
                    50123, self.benign_dst, 443, "tcp", 1_234_567, 1_001, "edge-nyc-1")
        return [_flow_json(flow)]

    def _line(self, text: str) -> None:
        self.chunk.append(text + "\n")

    def write_day(self, flows: list[Flow]) -> None:
        """Write one day's flows in a single compressed write."""
        for f in flows:
            self._bad_before(f.start_ms)
            self._line(_flow_json(f))
            self._last_ms = f.start_ms
            self._good()
            self.truth.flow(f)
        self._flush()

    def _flush(self) -> None:
        if self.chunk:
            self.gz.write("".join(self.chunk).encode("utf-8"))
            self.chunk = []

    def close(self) -> None:
        self._bad_before(None)
        self._flush()
        self.gz.close()
        self.raw.close()


class BackupWriter(_Export):
    """``backup_jobs.csv``: comma, LF, ISO timestamps with ``+00:00``."""

    rel = BACKUP_FILE

    def __init__(self, out: Path, truth: Truth) -> None:
        super().__init__(truth, ())
        self.f = open(out / self.rel, "w", encoding="utf-8", newline="")
        self.csv = csv.writer(self.f, lineterminator="\n")
        self.csv.writerow(BACKUP_HEADER)

    def write(self, job: BackupJob) -> None:
        """Write one job."""
        self.csv.writerow([job.job_id, job.dataset, job.src_host, job.src_ip, job.dst_host,
                           job.dst_ip, iso_offset_utc(job.started_ms),
                           iso_offset_utc(job.finished_ms), job.nbytes,
                           "success" if job.ok else "failed"])
        self._good()
        self.truth.backup(job)

    def close(self) -> None:
        self.f.close()
