"""Ground-truth counters, updated as each record is written.

Counting follows the toolkit's definitions (see ``data_samples/README.md``)
through :class:`~.resolve.Resolver`, using only what was written. All state
is small and bounded (per-month and per-country dicts, a per-day tally), so
any scale runs in bounded memory.
"""

from __future__ import annotations

from datetime import date

from .activity import AccessEvent
from .resolve import Resolver
from .timefmt import day_start_ms, iso_ms, month, utc_date
from .transfers import BackupJob, Flow
from .world import (
    CATEGORY, PARTNER, PERIOD_END, PERIOD_START, PROMISE_DATE,
)

OFFSHORE_SITE = "sg-dc"
JUMP_SITE = "us-jump-1"


def _bump(d: dict, key: str, n: int = 1) -> None:
    d[key] = d.get(key, 0) + n


class Truth:
    """Accumulates the planted facts while the exports are written."""

    def __init__(self, resolver: Resolver, shared: tuple[str, ...] = ()) -> None:
        self.r = resolver
        self.shared = shared  # exports case_native.yml loads as they are (flows, backups)
        self.native_rows: dict[str, dict[str, int]] = {}
        self.native_rejects: list[dict] = []
        self.native_skipped: list[str] = []
        self.flow_rows: dict[str, dict[str, int]] = {}
        self.flow_rejects: list[dict] = []
        self.flow_set_apart: list[dict] = []
        self.promise_ms = day_start_ms(PROMISE_DATE)
        self.rows: dict[str, dict[str, int]] = {}
        self.rejects: list[dict] = []
        self.day_events = [0] * (PERIOD_END - PERIOD_START).days
        self.conflicts = 0
        self.largest: tuple[int, str, AccessEvent] | None = None
        self.next_largest = 0
        self.cn = {"first": None, "last": None, "total": 0, "after": 0, "actors": {}, "by_month": {}}
        self.jump = {"ip": None, "first": None, "last": None, "total": 0, "actors": {}}
        self.xb_country: dict[str, int] = {}
        self.xb_country_month: dict[str, dict[str, int]] = {}
        self.xb_basis: dict[str, int] = {}
        self.us_accesses = 0
        self.access_totals = {"rows": 0, "accesses": 0, "failed": 0}
        self.flow_months: dict[str, dict[str, int]] = {}
        self.offshore = {"all": [0, 0], "after": [0, 0], "first": None, "last": None}

    # -- rows --------------------------------------------------------------
    def record(self, file: str, number: int, problem: str | None = None) -> None:
        """Count one record of ``file`` (1-based ``number``); bad if ``problem``."""
        tally = self.rows.setdefault(file, {"read": 0, "loaded": 0, "rejected": 0})
        tally["read"] += 1
        if problem is None:
            tally["loaded"] += 1
        else:
            tally["rejected"] += 1
            self.rejects.append({"file": file, "record": number, "problem": problem})

    def native_record(self, file: str, number: int, problem: str | None = None) -> None:
        """Count one record of a native log (numbered as its loader numbers records)."""
        tally = self.native_rows.setdefault(file, {"read": 0, "loaded": 0, "rejected": 0})
        tally["read"] += 1
        if problem is None:
            tally["loaded"] += 1
        else:
            tally["rejected"] += 1
            self.native_rejects.append({"file": file, "record": number, "problem": problem})

    def flow_record(self, file: str, number: int, problem: str | None = None,
                    apart: str | None = None) -> None:
        """Count one record of a flow log (exports_flows/): loaded, rejected (``problem``) or
        set apart (``apart``: the log-status of a VPC NODATA line)."""
        tally = self.flow_rows.setdefault(file, {"read": 0, "loaded": 0, "rejected": 0,
                                                 "set_apart": 0})
        tally["read"] += 1
        if problem is not None:
            tally["rejected"] += 1
            self.flow_rejects.append({"file": file, "record": number, "problem": problem})
        elif apart is not None:
            tally["set_apart"] += 1
            self.flow_set_apart.append({"file": file, "record": number, "reason": apart})
        else:
            tally["loaded"] += 1

    def native_skip(self, file: str) -> None:
        """A file of the native logs that its loader skips (a CloudTrail digest)."""
        self.native_skipped.append(file)

    # -- access events -----------------------------------------------------
    def access(self, event_id: str, ev: AccessEvent) -> None:
        """Count one written (good) access event."""
        net = self.r.network(ev.ip)
        person = self.r.person(ev.principal)
        asset = self.r.asset(ev.resource)
        net_c = net.country if net else None
        home = person.home_country if person and person.home_country else None

        self.day_events[(utc_date(ev.ms) - PERIOD_START).days] += 1
        self.access_totals["rows"] += 1
        if net_c and home and net_c != home:
            self.conflicts += 1  # counted for failed attempts too
        if not ev.ok:
            self.access_totals["failed"] += 1
            return
        self.access_totals["accesses"] += 1
        self._track_largest(event_id, ev)
        if asset is None or asset.category != CATEGORY:
            return

        self.us_accesses += 1
        ts, mon = ev.ms, month(ev.ms)
        if home == "CN":
            cn = self.cn
            cn["first"] = ts if cn["first"] is None else min(cn["first"], ts)
            cn["last"] = ts if cn["last"] is None else max(cn["last"], ts)
            cn["total"] += 1
            cn["after"] += ts >= self.promise_ms
            _bump(cn["actors"], person.actor_id)
            _bump(cn["by_month"], mon)
        if net is not None and net.site == JUMP_SITE:
            j = self.jump
            j["ip"] = ev.ip
            j["first"] = ts if j["first"] is None else min(j["first"], ts)
            j["last"] = ts if j["last"] is None else max(j["last"], ts)
            j["total"] += 1
            if person is not None:
                _bump(j["actors"], person.actor_id)

        jur = asset.jurisdiction
        net_diff = net_c is not None and net_c != jur
        home_diff = home is not None and home != jur
        if net_diff or home_diff:
            country = home if home_diff else net_c
            _bump(self.xb_country, country)
            _bump(self.xb_country_month.setdefault(country, {}), mon)
            _bump(self.xb_basis, "both" if net_diff and home_diff else "roster" if home_diff else "network")

    def _track_largest(self, event_id: str, ev: AccessEvent) -> None:
        size = ev.nbytes or 0
        if self.largest is None or size > self.largest[0]:
            if self.largest is not None:
                self.next_largest = max(self.next_largest, self.largest[0])
            self.largest = (size, event_id, ev)
        else:
            self.next_largest = max(self.next_largest, size)

    # -- transfers ---------------------------------------------------------
    def flow(self, f: Flow) -> None:
        """Count one written (good) edge flow."""
        net = self.r.network(f.dst_addr)
        tally = self.flow_months.setdefault(month(f.start_ms), {"total_bytes": 0, "partner_bytes": 0})
        tally["total_bytes"] += f.nbytes
        if net is not None and net.org == PARTNER:
            tally["partner_bytes"] += f.nbytes

    def backup(self, job: BackupJob) -> None:
        """Count one written backup job."""
        net = self.r.network(job.dst_ip)
        if not (job.ok and job.dataset == CATEGORY and net is not None and net.site == OFFSHORE_SITE):
            return
        off = self.offshore
        off["all"][0] += 1
        off["all"][1] += job.nbytes
        if job.started_ms >= self.promise_ms:
            off["after"][0] += 1
            off["after"][1] += job.nbytes
            off["first"] = job.started_ms if off["first"] is None else min(off["first"], job.started_ms)
            off["last"] = job.started_ms if off["last"] is None else max(off["last"], job.started_ms)

    # -- result ------------------------------------------------------------
    def _gap(self) -> dict:
        """Longest run of period days without any access event."""
        best, run_start = (0, 0), None
        for i, n in enumerate(self.day_events + [1]):
            if n == 0 and run_start is None:
                run_start = i
            elif n and run_start is not None:
                if i - run_start > best[1] - best[0]:
                    best = (run_start, i)
                run_start = None
        missing = [date.fromordinal(PERIOD_START.toordinal() + i).isoformat()
                   for i, n in enumerate(self.day_events) if n == 0]
        first = date.fromordinal(PERIOD_START.toordinal() + best[0])
        last = date.fromordinal(PERIOD_START.toordinal() + best[1] - 1)
        return {
            "definition": "Longest run of UTC days in the period with no access event in either "
                          "access export (start and end inclusive).",
            "start": first.isoformat(), "end": last.isoformat(), "days": best[1] - best[0],
            "all_days_without_events": missing,
        }

    def result(self) -> dict:
        """The ground-truth facts (without the generator/case headers)."""
        cn, j, off = self.cn, self.jump, self.offshore
        size, event_id, bulk = self.largest
        shares = {
            m: {**t, "share": round(t["partner_bytes"] / t["total_bytes"], 6)}
            for m, t in sorted(self.flow_months.items())
        }
        return {
            "cn_staff_access": {
                "definition": "Accesses (successful events) to us_user_data resources by actors "
                              "whose roster home_country is CN, any source network; ts >= "
                              "promise_date counts as after_promise. Months are UTC.",
                "first_ts": iso_ms(cn["first"]), "first_date": utc_date(cn["first"]).isoformat(),
                "last_ts": iso_ms(cn["last"]), "total": cn["total"],
                "after_promise": cn["after"], "actors": sorted(cn["actors"]),
                "by_month": dict(sorted(cn["by_month"].items())),
            },
            "partner_share": {
                "definition": "Per UTC month of the flow start: bytes of edge flows whose dst_addr "
                              "is in an Ironbridge Cloud prefix / bytes of all edge flows "
                              "(share rounded to 6 places).",
                "by_month": shares,
            },
            "offshore_backups": {
                "definition": "Successful backup jobs (status success) of dataset us_user_data "
                              "whose dst_ip is in an sg-dc prefix, by started_at; after_promise: "
                              "started_at >= promise_date.",
                "dst_site": OFFSHORE_SITE, "dst_country": "SG",
                "after_promise": {"copies": off["after"][0], "bytes": off["after"][1],
                                  "first_ts": iso_ms(off["first"]), "last_ts": iso_ms(off["last"])},
                "total": {"copies": off["all"][0], "bytes": off["all"][1]},
            },
            "bulk_export": {
                "definition": "The successful access event with the largest bytes; every other "
                              "event is below 1 GB (next_largest_bytes).",
                "event_id": event_id, "ts": iso_ms(bulk.ms),
                "actor_id": self.r.person(bulk.principal).actor_id, "principal": bulk.principal,
                "src_ip": bulk.ip, "raw_action": bulk.op, "resource": bulk.resource,
                "bytes": size, "records": bulk.rows, "next_largest_bytes": self.next_largest,
            },
            "jump_host": {
                "definition": "Accesses to us_user_data whose src_ip's most specific inventory "
                              "prefix is the us-jump-1 /32 (network US; all actors are CN-based, "
                              "so basis roster). Included in cn_staff_access.",
                "ip": j["ip"], "site": JUMP_SITE, "accesses": j["total"],
                "actors": sorted(j["actors"]),
                "first_ts": iso_ms(j["first"]), "last_ts": iso_ms(j["last"]),
            },
            "access_log_gap": self._gap(),
            "access_by_country": dict(sorted(self.xb_country.items())),
            "access_by_country_definition": (
                "Cross-border accesses to us_user_data (jurisdiction US) over the whole period by "
                "access_country: the roster home country when it is known and not US, otherwise "
                "the network country (most specific inventory prefix)."),
            "access_by_country_by_month": {
                c: dict(sorted(m.items())) for c, m in sorted(self.xb_country_month.items())},
            "access_by_country_by_month_definition": "access_by_country split by UTC month.",
            "cross_border_by_basis": dict(sorted(self.xb_basis.items())),
            "cross_border_by_basis_definition": (
                "Cross-border accesses to us_user_data by basis: both (home and network country "
                "differ from US), roster (only home), network (only network)."),
            "us_user_data_accesses": self.us_accesses,
            "us_user_data_accesses_definition": "All accesses (successful) to us_user_data.",
            "access_events": dict(self.access_totals),
            "access_events_definition": (
                "Loaded access event rows of both access exports: rows = accesses + failed."),
            "location_conflicts": self.conflicts,
            "location_conflicts_definition": (
                "Access event rows, successful OR failed, any resource, whose network country "
                "and roster home country are both known and differ."),
            "rows": dict(sorted(self.rows.items())),
            "rows_definition": (
                "Per export: records read (data rows for CSV, lines for JSONL), loaded (well "
                "formed), rejected (malformed, listed in rejects)."),
            "rejects": sorted(self.rejects, key=lambda r: (r["file"], r["record"])),
            "rejects_definition": (
                "Malformed records; record is 1-based: CSV data row number (header not counted, "
                "bad rows counted), JSONL line number. None counts towards any fact."),
            **self._native_result(),
            **self._flow_result(),
        }

    def _flow_result(self) -> dict:
        """What loading case_vpc.yml and case_zeek.yml reads, file by file."""
        return {
            "flow_rows": dict(sorted(self.flow_rows.items())),
            "flow_rows_definition": (
                "Per flow log file under exports_flows/ (the inputs of case_vpc.yml and "
                "case_zeek.yml): records read, loaded, rejected and set apart (read = loaded + "
                "rejected + set_apart). A record is a VPC flow log line other than the header "
                "line, or a Zeek conn.log line other than the '#' lines. The flow logs carry the "
                "transfers of edge_flows.jsonl.gz and backup_jobs.csv (a VPC record per "
                "direction, a Zeek record per connection), so partner_share and offshore_backups "
                "hold for both manifests."),
            "flow_rejects": sorted(self.flow_rejects, key=lambda r: (r["file"], r["record"])),
            "flow_rejects_definition": (
                "Malformed records of the flow logs; record is the 1-based line number in the "
                "(decompressed) file, header lines counted. None counts towards any fact."),
            "flow_set_apart": sorted(self.flow_set_apart, key=lambda r: (r["file"], r["record"])),
            "flow_set_apart_definition": (
                "VPC flow log lines with log-status NODATA (no traffic captured in the window): "
                "set apart by the loader, neither loaded nor rejected; record as in flow_rejects."),
        }

    def _native_result(self) -> dict:
        """What loading case_native.yml reads, file by file (the facts are the same)."""
        rows = {**self.native_rows, **{f: self.rows[f] for f in self.shared if f in self.rows}}
        rejects = self.native_rejects + [r for r in self.rejects if r["file"] in self.shared]
        return {
            "native_rows": dict(sorted(rows.items())),
            "native_rows_definition": (
                "Per input file of case_native.yml (the native logs under exports_native/, and "
                "the flow and backup exports it shares with case.yml): records read, loaded, "
                "rejected. A record is a CloudTrail event, a web log line, a pgaudit AUDIT entry "
                "or a 'permission denied' error (a refused access); other server log entries "
                "are not records. The native logs hold the same access events as the two access "
                "CSVs, so every fact above holds for case_native.yml too, except the bytes of "
                "database reads (pgaudit logs rows, not bytes)."),
            "native_rejects": sorted(rejects, key=lambda r: (r["file"], r["record"])),
            "native_rejects_definition": (
                "Malformed records of the case_native.yml inputs; record as the loader numbers "
                "it: the event's 1-based position in its CloudTrail file, the web log line "
                "number, the line number of a pgaudit entry's first line (every line counted), "
                "the JSONL line number. None counts towards any fact."),
            "native_skipped": sorted(self.native_skipped),
            "native_skipped_definition": (
                "Files below the case_native.yml inputs that the loader skips without reading "
                "records: CloudTrail digest files (hashes of log files, not events)."),
        }
