"""Transfers: edge flow summaries of US user traffic, and backup jobs.

Both are produced a day at a time (see :mod:`.activity` for why).

Edge flows tell the migration story: US user traffic moves from ReelRiver's
own data centres to the partner cloud over 2021-22; from June 2022 every
regular flow goes to the partner, and only small residual flows (at least
one a month) still reach ``us-east-dc`` or ``sg-dc``, so the partner's
monthly byte share is >= 0.99 but never exactly 1.

Backups tell the storage story: daily copies of US user data to Singapore
until the promise, then weekly copies from the partner cloud to Singapore
until 2022-11-30, beside daily domestic copies.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date

from .activity import poisson
from .timefmt import day_start_ms
from .world import OFFSHORE_BACKUP_END, PERIOD_START, PROMISE_DATE, AddressPools, user_address

MIGRATION_DONE = date(2022, 6, 1)  # from here on regular flows all go to the partner
EDGE_POPS = ("edge-nyc-1", "edge-chi-1", "edge-dal-1", "edge-sjc-1", "edge-sea-1")
FLOW_KEYS = ("flow_id", "start", "end", "src_addr", "src_port", "dst_addr",
             "dst_port", "proto", "bytes", "packets", "edge_pop")


@dataclass(slots=True)
class Flow:
    """One edge flow summary (instants in ms, whole seconds)."""

    flow_id: str
    start_ms: int
    end_ms: int
    src_addr: str
    src_port: int
    dst_addr: str
    dst_port: int
    proto: str
    nbytes: int
    packets: int
    edge_pop: str


def partner_probability(d: date) -> float:
    """Chance that a regular flow on ``d`` goes to the partner cloud.

    Slow start, accelerating, ~0.97 by the end of May 2022.
    """
    if d >= MIGRATION_DONE:
        return 1.0
    span = (MIGRATION_DONE - PERIOD_START).days
    return 0.97 * ((d - PERIOD_START).days / span) ** 1.5


class EdgeTraffic:
    """Day-by-day edge flows.

    Parameters
    ----------
    seed, scale : int, float
        Case seed; ``scale`` multiplies the ~20-40 flows a day.
    pools : AddressPools
        Destination addresses are drawn from the data-centre and cloud pools.
    """

    def __init__(self, seed: int, scale: float, pools: AddressPools) -> None:
        self.rng = random.Random(f"{seed}/flows")
        self.scale = scale
        self.pools = pools

    def day(self, d: date) -> list[Flow]:
        """All flows starting on ``d``, sorted by start."""
        rng = self.rng
        flows = []
        for _ in range(poisson(rng, rng.uniform(20, 40) * self.scale)):
            if rng.random() < partner_probability(d):
                site = "ibc-us-west" if rng.random() < 0.7 else "ibc-us-central"
            else:
                site = "us-east-dc" if rng.random() < 0.85 else "sg-dc"
            flows.append(self._flow(d, site, 50e6, 900e6))
        if d >= MIGRATION_DONE:
            # Residual traffic that never moved: tiny, but present every month.
            residual = poisson(rng, 0.5 * self.scale) + (1 if d.day == 1 else 0)
            for _ in range(residual):
                site = "us-east-dc" if rng.random() < 0.7 else "sg-dc"
                flows.append(self._flow(d, site, 100e3, 2e6))
        flows.sort(key=lambda f: f.start_ms)
        return flows

    def _flow(self, d: date, site: str, lo: float, hi: float) -> Flow:
        rng = self.rng
        start = day_start_ms(d) + rng.randrange(86_400) * 1000
        nbytes = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        proto = "udp" if rng.random() < 0.2 else "tcp"  # QUIC on udp/443
        return Flow(
            flow_id=f"fl-{rng.getrandbits(64):016x}",
            start_ms=start,
            end_ms=start + rng.randint(5, 1800) * 1000,
            src_addr=user_address(rng),
            src_port=rng.randint(1024, 65535),
            dst_addr=self.pools.pick(rng, site),
            dst_port=443,
            proto=proto,
            nbytes=nbytes,
            packets=nbytes // rng.randint(900, 1400) + 1,
            edge_pop=rng.choice(EDGE_POPS),
        )


@dataclass(slots=True)
class BackupJob:
    """One backup/replication job (instants in ms, whole seconds)."""

    job_id: str
    dataset: str
    src_host: str
    src_ip: str
    dst_host: str
    dst_ip: str
    started_ms: int
    finished_ms: int
    nbytes: int
    ok: bool


# (dataset, source site, source host, destination site, destination host)
Route = tuple[str, str, str, str, str]
US_TO_SG: Route = ("us_user_data", "us-east-dc", "use-db-07", "sg-dc", "sgdc-bk-02")
IBC_TO_SG: Route = ("us_user_data", "ibc-us-west", "ibc-usw-vm-3141", "sg-dc", "sgdc-bk-02")
IBC_TO_US: Route = ("us_user_data", "ibc-us-west", "ibc-usw-vm-3141", "us-east-dc", "use-bk-01")
ANALYTICS: Route = ("internal_analytics", "us-east-dc", "use-an-03", "us-east-dc", "use-bk-01")
SG_LOCAL: Route = ("sg_user_data", "sg-dc", "sgdc-db-01", "sg-dc", "sgdc-bk-02")


def routes_on(d: date) -> list[tuple[Route, int]]:
    """The jobs scheduled on ``d`` as (route, start hour UTC)."""
    out: list[tuple[Route, int]] = [(SG_LOCAL, 18)]
    if d < PROMISE_DATE:
        out.append((US_TO_SG, 2))
    elif d <= OFFSHORE_BACKUP_END and d.weekday() == 6:
        out.append((IBC_TO_SG, 3))  # weekly, every Sunday: the promise is not kept
    if d >= date(2022, 3, 1):
        out.append((IBC_TO_US, 1))
    if d.weekday() == 0:
        out.append((ANALYTICS, 4))
    return out


class BackupSchedule:
    """Day-by-day backup jobs (not scaled: a schedule, not traffic)."""

    def __init__(self, seed: int, pools: AddressPools) -> None:
        self.rng = random.Random(f"{seed}/backups")
        self.pools = pools
        # Each host keeps one address for the whole case.
        self.host_ip: dict[str, str] = {}
        self.next_id = 1

    def _ip(self, site: str, host: str) -> str:
        if host not in self.host_ip:
            self.host_ip[host] = self.rng.choice(self.pools.v4[site])
        return self.host_ip[host]

    def day(self, d: date) -> list[BackupJob]:
        """The jobs started on ``d``, sorted by start."""
        rng = self.rng
        jobs = []
        for (dataset, src_site, src_host, dst_site, dst_host), hour in routes_on(d):
            start = day_start_ms(d) + (hour * 3600 + rng.randrange(900)) * 1000
            ok = rng.random() >= 0.03
            full = rng.randint(200_000_000, 950_000_000)  # incremental copies, < 1 GB
            nbytes = full if ok else rng.randint(0, full // 2)
            seconds = nbytes // rng.randint(40_000_000, 90_000_000) + rng.randint(20, 90)
            jobs.append(BackupJob(
                job_id="", dataset=dataset,
                src_host=src_host, src_ip=self._ip(src_site, src_host),
                dst_host=dst_host, dst_ip=self._ip(dst_site, dst_host),
                started_ms=start, finished_ms=start + seconds * 1000, nbytes=nbytes, ok=ok))
        jobs.sort(key=lambda j: j.started_ms)
        for job in jobs:  # numbered in log order
            job.job_id = f"bk-{self.next_id:06d}"
            self.next_id += 1
        return jobs
