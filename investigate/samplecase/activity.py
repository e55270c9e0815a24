"""Access events: who touched which resource, from where, day by day.

Activity is described as a handful of :class:`Stream` objects (a group of
actors, where they work from, what they touch, how often) plus a few
planted one-off events. :meth:`AccessActivity.day` returns one UTC day's
events sorted by time, so callers write the case a day at a time and
memory stays bounded whatever the scale.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from .targets import payload, pick_target
from .timefmt import day_start_ms
from .world import (
    BULK_EXPORTER,
    CN_US_DATA_READERS,
    FIRST_CN_ACCESS,
    GAP_DAYS,
    JUMP_HOST_START,
    JUMP_HOST_USERS,
    OFFSHORE_BACKUP_END,
    PERIOD_END,
    PERIOD_START,
    PROMISE_DATE,
    AddressPools,
    aliases_of,
    people,
)

# Sources whose events the APAC gateway exports (the rest: platform audit).
GATEWAY_SITES = ("sg-office", "cn-bj-office", "us-jump-1")

# Local UTC offset (hours) of people working at a site; None = round the clock.
SITE_UTC_OFFSET = {
    "us-mtv-office": -7, "us-vpn": -5, "home-isp": -7, "cn-bj-office": 8,
    "us-jump-1": 8, "sg-office": 8, "ie-dub-office": 1,
}

STAFF_AGENTS = (
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/103.0.0.0 Safari/537.36", 0.12),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/104.0.0.0 Safari/537.36", 0.08),
    ("rr-cli/2.4.1 (linux; amd64)", 0.35),
    ("aws-cli/2.7.9 Python/3.9.11 Linux/5.10.102", 0.20),
    ("DBeaver 22.1.0 - Main", 0.15),
    ("python-requests/2.28.1", 0.10),
)
SERVICE_AGENTS = {
    "svc-etl": "rr-etl/3.2.0 python-requests/2.28.1",
    "svc-recs": "rr-recs/1.9.4 (jvm 11.0.15)",
    "svc-backup": "rr-backup-verify/0.8",
}
SCANNER_AGENT = "curl/7.68.0"
SCANNERS = ("admin", "root", "test", "oracle")


@dataclass(slots=True)
class AccessEvent:
    """One access event as the generator knows it (before formatting)."""

    ms: int
    principal: str
    ip: str
    site: str
    op: str  # platform operation name: GetObject, SelectRows, ...
    resource: str  # "" for Login
    ok: bool
    nbytes: int | None
    rows: int | None
    agent: str

    @property
    def via_gateway(self) -> bool:
        """True when the APAC gateway (not the platform audit) records it."""
        return self.site in GATEWAY_SITES


@dataclass(frozen=True)
class Stream:
    """A recurring kind of activity.

    Parameters
    ----------
    name : str
        For reading only.
    actors : tuple of str
        Roster ids (or unknown principals) drawn uniformly.
    sites : tuple of (site, weight)
        Where the events come from.
    mix : tuple of (kind, weight)
        What is touched; kinds are handled by :func:`.targets.pick_target`.
    rate : callable
        Expected events on a date at scale 1.
    deny : float
        Share of attempts that are refused.
    alias_share : float
        Share of events logged under one of the actor's aliases.
    """

    name: str
    actors: tuple[str, ...]
    sites: tuple[tuple[str, float], ...]
    mix: tuple[tuple[str, float], ...]
    rate: Callable[[date], float]
    deny: float
    alias_share: float = 0.15


def weekly(weekday: float, weekend: float, start: date = PERIOD_START,
           end: date = PERIOD_END) -> Callable[[date], float]:
    """Rate with a weekday/weekend level, zero outside ``[start, end)``."""
    def rate(d: date) -> float:
        if not start <= d < end:
            return 0.0
        return weekday if d.weekday() < 5 else weekend
    return rate


def cn_ramp(d: date) -> float:
    """China-based reads of US user data: ~28 in Sep 2021, x1.17 a month.

    Starts the day after the planted first access, so that stays the first.
    """
    if d <= FIRST_CN_ACCESS:
        return 0.0
    k = (d.year - 2021) * 12 + d.month - 9
    return 28.0 * 1.17**k / 30.0


def sg_staff_rate(d: date) -> float:
    """SG staff: steady, somewhat less after the promise."""
    base = weekly(7.0, 1.0)(d)
    return base * 0.6 if d >= PROMISE_DATE else base


def svc_dc_rate(d: date) -> float:
    """Service accounts in us-east-dc, handing over to the partner cloud."""
    return 12.0 if d < date(2022, 3, 1) else 4.0


def svc_partner_rate(d: date) -> float:
    """Service accounts in the partner cloud from 2022."""
    return 0.0 if d < date(2022, 1, 1) else 3.0 if d < date(2022, 3, 1) else 9.0


US = people("US")
STREAMS: tuple[Stream, ...] = (
    Stream("us staff", US, (("us-mtv-office", 0.85), ("us-vpn", 0.13), ("home-isp", 0.02)),
           (("us_user_data", 0.45), ("analytics", 0.22), ("content", 0.15),
            ("sg_user_data", 0.03), ("login", 0.15)),
           weekly(26.0, 3.0), deny=0.03),
    Stream("us staff travelling to Singapore", ("abrooks", "treed", "jchen"),
           (("sg-office", 1.0),),
           (("us_user_data", 0.6), ("analytics", 0.2), ("login", 0.2)),
           weekly(0.4, 0.0), deny=0.02),
    Stream("sg staff", people("SG"), (("sg-office", 1.0),),
           (("us_user_data", 0.35), ("sg_user_data", 0.30), ("content", 0.10),
            ("analytics", 0.10), ("login", 0.15)),
           sg_staff_rate, deny=0.04),
    Stream("ie staff", people("IE"), (("ie-dub-office", 1.0),),
           (("us_user_data", 0.4), ("analytics", 0.3), ("content", 0.1), ("login", 0.2)),
           weekly(2.0, 0.2), deny=0.03),
    Stream("cn staff, other data", people("CN"), (("cn-bj-office", 1.0),),
           (("content", 0.45), ("analytics", 0.20), ("sg_user_data", 0.15), ("login", 0.20)),
           weekly(6.0, 1.0), deny=0.03),
    Stream("cn staff, us user data", CN_US_DATA_READERS, (("cn-bj-office", 1.0),),
           (("us_user_data", 1.0),), cn_ramp, deny=0.06),
    Stream("cn staff via the us jump host", JUMP_HOST_USERS, (("us-jump-1", 1.0),),
           (("us_user_data", 0.9), ("login", 0.1)),
           weekly(2.2, 0.6, start=JUMP_HOST_START + timedelta(days=1)), deny=0.08,
           alias_share=0.5),
    Stream("services in us-east-dc", ("svc-etl", "svc-recs"), (("us-east-dc", 1.0),),
           (("us_user_data", 0.55), ("analytics", 0.35), ("content", 0.10)),
           svc_dc_rate, deny=0.005),
    Stream("services in the partner cloud", ("svc-etl", "svc-recs"),
           (("ibc-us-west", 0.7), ("ibc-us-central", 0.3)),
           (("us_user_data", 0.7), ("analytics", 0.3)),
           svc_partner_rate, deny=0.005),
    Stream("backup verifier in sg-dc, us copies", ("svc-backup",), (("sg-dc", 1.0),),
           (("sg_backup_us", 1.0),),
           weekly(1.5, 1.5, end=OFFSHORE_BACKUP_END), deny=0.0),
    Stream("backup verifier in sg-dc, sg data", ("svc-backup",), (("sg-dc", 1.0),),
           (("sg_user_data", 1.0),), weekly(1.5, 1.5), deny=0.0),
    Stream("login noise from outside", SCANNERS, (("scanner", 1.0),),
           (("login", 1.0),), weekly(0.3, 0.3), deny=1.0),
)

def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson-distributed count (normal approximation for large ``lam``)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class AccessActivity:
    """Day-by-day access events of the case.

    Parameters
    ----------
    seed : int
        Case seed.
    scale : float
        Multiplies every stream's rate; planted events are kept at any scale.
    pools : AddressPools
        Address pools of the case.
    """

    def __init__(self, seed: int, scale: float, pools: AddressPools) -> None:
        self.rng = random.Random(f"{seed}/access")
        self.scale = scale
        self.pools = pools

    def day(self, d: date) -> list[AccessEvent]:
        """All access events of UTC day ``d``, sorted by time."""
        if d in GAP_DAYS:
            return []  # the logging outage: nothing at all was recorded
        events = []
        for stream in STREAMS:
            for _ in range(poisson(self.rng, stream.rate(d) * self.scale)):
                events.append(self._event(stream, d))
        events.extend(self._planted(d))
        events.sort(key=lambda e: e.ms)  # stable: ties keep creation order
        return events

    def _when(self, d: date, site: str) -> int:
        """A time on ``d``, mostly within local working hours at ``site``."""
        offset = SITE_UTC_OFFSET.get(site)
        if offset is None or self.rng.random() < 0.15:
            second = self.rng.randrange(86_400)
        else:
            local_hour = self.rng.randint(8, 19)
            second = ((local_hour - offset) % 24) * 3600 + self.rng.randrange(3600)
        ms = day_start_ms(d) + second * 1000
        # The gateway logs whole seconds only; keep the instant it can show.
        return ms if site in GATEWAY_SITES else ms + self.rng.randrange(1000)

    def _principal(self, actor: str, share: float) -> str:
        if actor in SCANNERS:
            return actor
        names = aliases_of(actor)
        if names and self.rng.random() < share:
            return self.rng.choice(names)
        return actor

    def _agent(self, actor: str) -> str:
        if actor in SERVICE_AGENTS:
            return SERVICE_AGENTS[actor]
        if actor in SCANNERS:
            return SCANNER_AGENT
        agents, weights = zip(*STAFF_AGENTS)
        return self.rng.choices(agents, weights)[0]

    def _event(self, s: Stream, d: date) -> AccessEvent:
        rng = self.rng
        actor = rng.choice(s.actors)
        sites, weights = zip(*s.sites)
        site = rng.choices(sites, weights)[0]
        kinds, kweights = zip(*s.mix)
        op, resource = pick_target(rng, rng.choices(kinds, kweights)[0], d)
        ok = rng.random() >= s.deny
        nbytes, rows = payload(rng, op) if ok else (None, None)
        return AccessEvent(
            ms=self._when(d, site), principal=self._principal(actor, s.alias_share),
            ip=self.pools.pick(rng, site), site=site, op=op, resource=resource,
            ok=ok, nbytes=nbytes, rows=rows, agent=self._agent(actor))

    def _planted(self, d: date) -> list[AccessEvent]:
        """The one-off events the case is built around."""
        rng, pools = self.rng, self.pools
        base = day_start_ms(d)
        out = []
        if d in (date(2021, 8, 27), date(2021, 9, 2), date(2021, 9, 9), date(2021, 9, 13)):
            # Refused attempts before the first access: not accesses.
            out.append(AccessEvent(
                base + rng.randrange(1 * 3600, 10 * 3600) * 1000, rng.choice(CN_US_DATA_READERS),
                pools.pick(rng, "cn-bj-office"), "cn-bj-office", "SelectRows",
                "db://us-prod/users.profiles", False, None, None, self._agent("wzhang")))
        if d == FIRST_CN_ACCESS:
            out.append(AccessEvent(
                base + (3 * 3600 + 12 * 60 + 45) * 1000, "wei.zhang@reelriver.example",
                pools.v4["cn-bj-office"][0], "cn-bj-office", "GetObject",
                "s3://rr-us-userdata/profiles/part-00042.parquet", True, 18_734_112, None,
                "rr-cli/2.4.1 (linux; amd64)"))
        if d == JUMP_HOST_START:
            out.append(AccessEvent(
                base + (2 * 3600 + 41 * 60 + 9) * 1000, "hwang", pools.v4["us-jump-1"][0],
                "us-jump-1", "SelectRows", "db://us-prod/users.contacts", True,
                9_412_608, 23_112, "DBeaver 22.1.0 - Main"))
        if d == date(2022, 8, 23):
            out.append(AccessEvent(
                base + (19 * 3600 + 47 * 60 + 12) * 1000 + 384, aliases_of(BULK_EXPORTER)[0],
                pools.v4["us-vpn"][3], "us-vpn", "ExportTable", "db://us-prod/users.profiles",
                True, 48_213_554_176, 151_204_332, "rr-dataexport/1.3 (batch; linux)"))
        return out
