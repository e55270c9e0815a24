"""The case's transfers once more, as network flow logs (``exports_flows/``).

The edge flows and backup jobs of ``exports/`` are written a second time, from the same
seeded stream (the writers here only read the :class:`~.transfers.Flow` and
:class:`~.transfers.BackupJob` objects and draw on random streams of their own, so the
``exports/`` files do not change), in two formats a network team would hand over:

* **AWS VPC Flow Logs** as S3 delivers them: one gzip object per UTC day under
  ``vpcflow/AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/``, each starting with a header
  line of a custom (v5-style) layout. A VPC record counts ONE direction, so a transfer becomes
  two records: the request (initiator -> responder) and the response, the transfer's bytes and
  packets split between them (seeded; the parts sum exactly to the transfer's). A successful
  backup job is one record source -> destination with all its bytes, plus a small ACK record
  back (between data centres: no user traffic; into the source's country: no offshore copy). A
  FAILED backup job is written as a REJECT record (outcome failure) with the job log's partial
  bytes: a modelling choice of this fictional case, so that the facts, which count successful
  jobs only, come out the same. A few NODATA lines (set apart by the loader) and two malformed
  lines (rejected).
* **Zeek conn.log** (ASCII, tab-separated, the standard header block), one gzip file per UTC
  month: one connection per transfer, ``orig`` the initiator, ``orig_bytes + resp_bytes`` the
  transfer's bytes (seeded split). Successful transfers are ``SF``; a failed backup job is a
  refused connection (``REJ``, 0 bytes, outcome failure). One malformed (cut) line.

Record numbers and tallies go to :class:`~.truth.Truth` (``flow_rows``, ``flow_rejects``,
``flow_set_apart``). Output bytes depend on the seed only (gzip with ``mtime=0``, no name).
"""

from __future__ import annotations

import gzip
import io
import random
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .timefmt import day_start_ms
from .transfers import BackupJob, Flow
from .truth import Truth
from .world import AddressPools

FLOWS_DIR = "exports_flows"
ACCOUNT = "111122223333"
REGION = "us-east-1"
FLOW_LOG_ID = "fl-0a1b2c3d4e5f60718"
VPC_ROOT = f"{FLOWS_DIR}/vpcflow/AWSLogs"
VPC_DIR = f"{VPC_ROOT}/{ACCOUNT}/vpcflowlogs/{REGION}"
ZEEK_DIR = f"{FLOWS_DIR}/zeek"
VPC_FIELDS = ("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
              "protocol", "packets", "bytes", "start", "end", "action", "log-status",
              "flow-direction")
PROTO_NUMBER = {"tcp": 6, "udp": 17}
BACKUP_PORT = 873  # rsync
ZEEK_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
               "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
               "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
               "resp_ip_bytes", "tunnel_parents")
ZEEK_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
              "count", "count", "string", "bool", "bool", "count", "string", "count", "count",
              "count", "count", "set[string]")

# NODATA windows (set apart by the loader): (UTC day, minute of the day).
VPC_NODATA = ((date(2021, 8, 3), 615), (date(2022, 1, 19), 72), (date(2022, 3, 9), 1310),
              (date(2022, 7, 14), 400), (date(2022, 11, 2), 845))
# Malformed VPC lines: (UTC day, problem). Each replaces nothing: it is an extra line, made from
# a benign flow (a user's 1,234,567-byte flow to the partner cloud, as in exports/).
VPC_BAD = ((date(2021, 10, 12), "13 fields where the header names 15 (a cut line)"),
           (date(2022, 9, 6), "dstport 70000 is out of range 0-65535"))
ZEEK_BAD = ((date(2022, 2, 22), "12 values where the #fields line names 21 (a cut line)"),)


@dataclass(slots=True)
class Transfer:
    """One transfer as both flow logs see it (instants in ms, whole seconds)."""

    start_ms: int
    end_ms: int
    src: str
    src_port: int
    dst: str
    dst_port: int
    proto: str
    nbytes: int
    packets: int | None  # None: the job log has no packet count
    kind: str  # "edge" | "backup"
    ok: bool


def _gzip(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def _benign(ms: int, pools: AddressPools) -> Transfer:
    ms -= ms % 1000
    return Transfer(ms, ms + 30_000, "198.51.100.77", 50123, pools.v4["ibc-us-west"][0], 443, "tcp",
                    1_234_567, 1_001, "edge", True)


class FlowLogWriters:
    """Writes each day's transfers as VPC flow log records and Zeek connections."""

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        self.out = out
        self.truth = truth
        self.pools = pools
        self.rng = random.Random(f"{seed}/flowlogs")  # ports of the backup connections
        self.vpc_rng = random.Random(f"{seed}/vpcflow")
        self.zeek_rng = random.Random(f"{seed}/zeek")
        self.eni = {site: f"eni-{self.vpc_rng.getrandbits(68):017x}"
                    for site in ("us-east-dc", "sg-dc", "ibc-us-west", "ibc-us-central")}
        self.site_of = {ip: site for site, ips in pools.v4.items() for ip in ips}
        self.site_of.update({ip: site for site, ips in pools.v6.items() for ip in ips})
        self.zeek_month: str | None = None
        self.zeek_lines: list[str] = []
        self.zeek_n = 0
        self.zeek_bad = list(ZEEK_BAD)

    # -- the day's transfers -----------------------------------------------------------------
    def write_day(self, d: date, flows: list[Flow], jobs: list[BackupJob]) -> None:
        """Both flow logs for UTC day ``d``, in start order (edge flows before jobs on a tie)."""
        transfers = [Transfer(f.start_ms, f.end_ms, f.src_addr, f.src_port, f.dst_addr, f.dst_port,
                              f.proto, f.nbytes, f.packets, "edge", True) for f in flows]
        for j in jobs:
            transfers.append(Transfer(j.started_ms, j.finished_ms, j.src_ip,
                                      self.rng.randint(32768, 60999), j.dst_ip, BACKUP_PORT, "tcp",
                                      j.nbytes, None, "backup", j.ok))
        transfers.sort(key=lambda t: t.start_ms)
        self._vpc_day(d, transfers)
        self._zeek_day(d, transfers)

    # -- VPC flow logs -------------------------------------------------------------------------
    def _eni(self, ip: str) -> str:
        return self.eni.get(self.site_of.get(ip, ""), self.eni["us-east-dc"])

    def _vpc_line(self, src, dst, sport, dport, proto, packets, nbytes, start_ms, end_ms, action,
                  direction, eni) -> str:
        return " ".join(str(v) for v in (
            5, ACCOUNT, eni, src, dst, sport, dport, PROTO_NUMBER[proto], packets, nbytes,
            start_ms // 1000, end_ms // 1000, action, "OK", direction))

    def _vpc_records(self, t: Transfer) -> list[str]:
        rng = self.vpc_rng
        if t.kind == "edge":
            # Request (user -> service) small, response (the content) the rest.
            req_bytes = max(1, int(t.nbytes * rng.uniform(0.01, 0.08)))
            req_pkts = min(t.packets - 1, max(1, round(t.packets * rng.uniform(0.3, 0.6))))
            eni = self._eni(t.dst)
            return [
                self._vpc_line(t.src, t.dst, t.src_port, t.dst_port, t.proto, req_pkts, req_bytes,
                               t.start_ms, t.end_ms, "ACCEPT", "ingress", eni),
                self._vpc_line(t.dst, t.src, t.dst_port, t.src_port, t.proto, t.packets - req_pkts,
                               t.nbytes - req_bytes, t.start_ms, t.end_ms, "ACCEPT", "egress", eni)]
        eni = self._eni(t.src)
        packets = t.nbytes // rng.randint(1300, 1448) + 1
        if not t.ok:  # modelling choice: a failed job's flow is a REJECT record
            return [self._vpc_line(t.src, t.dst, t.src_port, t.dst_port, t.proto, packets, t.nbytes,
                                   t.start_ms, t.end_ms, "REJECT", "egress", eni)]
        acks = max(1, packets // rng.randint(2, 4))
        return [
            self._vpc_line(t.src, t.dst, t.src_port, t.dst_port, t.proto, packets, t.nbytes,
                           t.start_ms, t.end_ms, "ACCEPT", "egress", eni),
            self._vpc_line(t.dst, t.src, t.dst_port, t.src_port, t.proto, acks, acks * 52,
                           t.start_ms, t.end_ms, "ACCEPT", "ingress", eni)]

    def _vpc_day(self, d: date, transfers: list[Transfer]) -> None:
        rng = self.vpc_rng
        stamp = d.strftime("%Y%m%d")
        rel = (f"{VPC_DIR}/{d:%Y/%m/%d}/{ACCOUNT}_vpcflowlogs_{REGION}_{FLOW_LOG_ID}_"
               f"{stamp}T0000Z_{rng.getrandbits(32):08x}.log.gz")
        # (line, problem, set apart): problem/apart None for a good record
        lines: list[tuple[str, str | None, bool]] = []
        for t in transfers:
            lines.extend((line, None, False) for line in self._vpc_records(t))
        for on, minute in VPC_NODATA:
            if on == d:
                start = day_start_ms(d) // 1000 + minute * 60
                eni = self.eni["us-east-dc"]
                text = " ".join(["5", ACCOUNT, eni] + ["-"] * 7
                                + [str(start), str(start + 600), "-", "NODATA", "-"])
                lines.insert(rng.randrange(len(lines) + 1), (text, None, True))
        for on, problem in VPC_BAD:
            if on == d:
                t = _benign(day_start_ms(d) + rng.randrange(86_400) * 1000, self.pools)
                good = self._vpc_records(t)[0].split(" ")
                if problem.startswith("13 fields"):
                    text = " ".join(good[:13])
                else:
                    good[6] = "70000"
                    text = " ".join(good)
                lines.insert(rng.randrange(len(lines) + 1), (text, problem, False))
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_gzip(" ".join(VPC_FIELDS) + "\n" + "".join(l + "\n" for l, _, _ in lines)))
        for n, (_, problem, apart) in enumerate(lines, start=2):  # line 1 is the header
            self.truth.flow_record(rel, n, problem, "NODATA" if apart else None)

    # -- Zeek conn.log ---------------------------------------------------------------------------
    def _uid(self) -> str:
        alphabet = string.ascii_letters + string.digits
        return "C" + "".join(self.zeek_rng.choice(alphabet) for _ in range(17))

    def _zeek_record(self, t: Transfer, micros: int) -> list[str]:
        rng = self.zeek_rng
        ts = f"{t.start_ms // 1000}.{micros:06d}"
        if t.kind == "backup" and not t.ok:
            # A refused connection: SYN, RST; no payload (outcome failure).
            dur = rng.randint(80, 900)
            return [ts, self._uid(), t.src, str(t.src_port), t.dst, str(t.dst_port), t.proto, "-",
                    f"0.{dur:06d}", "0", "0", "REJ", "-", "-", "0", "Sr", "1", "60", "1", "40", "-"]
        span = t.end_ms * 1000 - t.start_ms * 1000 - micros  # duration in microseconds
        if t.kind == "edge":
            orig = max(1, int(t.nbytes * rng.uniform(0.01, 0.08)))
            service = "ssl" if t.proto == "tcp" else "-"
            history = "ShADadFf" if t.proto == "tcp" else "Dd"
        else:
            orig = t.nbytes - rng.randint(2_000, 40_000)
            service, history = "-", "ShADadFf"
        resp = t.nbytes - orig
        orig_pkts = orig // rng.randint(900, 1448) + 1
        resp_pkts = resp // rng.randint(900, 1448) + 1
        hdr = 52 if t.proto == "tcp" else 28
        return [ts, self._uid(), t.src, str(t.src_port), t.dst, str(t.dst_port), t.proto, service,
                f"{span // 1_000_000}.{span % 1_000_000:06d}", str(orig), str(resp), "SF", "-", "-",
                "0", history, str(orig_pkts), str(orig + hdr * orig_pkts), str(resp_pkts),
                str(resp + hdr * resp_pkts), "-"]

    def _zeek_open(self, mon: str) -> None:
        self.zeek_month = mon
        self.zeek_n = 0
        self.zeek_lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                           "#unset_field\t-", "#path\tconn", f"#open\t{mon}-01-00-00-00",
                           "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(ZEEK_TYPES)]

    def _zeek_close(self, next_month_start: str) -> None:
        if self.zeek_month is None:
            return
        self.zeek_lines.append(f"#close\t{next_month_start}")
        rel = f"{ZEEK_DIR}/conn.{self.zeek_month}.log.gz"
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_gzip("".join(l + "\n" for l in self.zeek_lines)))
        self.zeek_month = None

    def _zeek_add(self, rec: list[str], problem: str | None) -> None:
        self.zeek_lines.append("\t".join(rec))
        rel = f"{ZEEK_DIR}/conn.{self.zeek_month}.log.gz"
        self.truth.flow_record(rel, len(self.zeek_lines), problem)

    def _zeek_day(self, d: date, transfers: list[Transfer]) -> None:
        rng = self.zeek_rng
        mon = d.strftime("%Y-%m")
        if mon != self.zeek_month:
            self._zeek_close(f"{mon}-01-00-00-00")
            self._zeek_open(mon)
        while self.zeek_bad and self.zeek_bad[0][0] <= d:
            _, problem = self.zeek_bad.pop(0)
            t = _benign(day_start_ms(d) + rng.randrange(86_400) * 1000, self.pools)
            self._zeek_add(self._zeek_record(t, rng.randrange(1_000_000))[:12], problem)
        for t in transfers:
            # Edge flows: a sub-second part of their own (never moves a flow to another month);
            # backup connections start on the second the job log gives.
            micros = rng.randrange(1_000_000) if t.kind == "edge" else 0
            self._zeek_add(self._zeek_record(t, micros), None)

    def close(self, end: date) -> None:
        """Write the last monthly Zeek file; ``end`` is the (exclusive) end of the period."""
        self._zeek_close(f"{end:%Y-%m-%d}-00-00-00")
