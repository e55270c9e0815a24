"""The fictional world of the ReelRiver case: networks, people and data.

Every company, person, site and address here is invented. Addresses come
only from private (RFC 1918), documentation (RFC 5737, RFC 3849) and
benchmarking (RFC 2544) ranges, so no real organisation is implicated.

The module holds plain constants plus :class:`AddressPools`, which draws a
fixed, seeded set of host addresses per site so that events reuse a bounded
set of addresses (as real offices do) and lookups can be cached.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import date

COMPANY = "ReelRiver Ltd."
DOMAIN = "reelriver.example"
PARTNER = "Ironbridge Cloud"
JURISDICTION = "US"
CATEGORY = "us_user_data"

PERIOD_START = date(2021, 7, 1)
PERIOD_END = date(2023, 1, 1)  # exclusive
PROMISE_DATE = date(2022, 6, 17)
FIRST_CN_ACCESS = date(2021, 9, 14)
JUMP_HOST_START = date(2022, 7, 5)
GAP_DAYS = (date(2022, 3, 8), date(2022, 3, 9), date(2022, 3, 10), date(2022, 3, 11))
OFFSHORE_BACKUP_END = date(2022, 11, 30)


@dataclass(frozen=True)
class Network:
    """One row of the network inventory."""

    cidr: str
    country: str
    org: str
    site: str
    kind: str


USERS_ORG = "US consumer ISPs"

# Order is the order written to network_inventory.csv.
NETWORKS: tuple[Network, ...] = (
    Network("10.10.0.0/16", "US", COMPANY, "us-east-dc", "datacenter"),
    Network("2001:db8:10::/48", "US", COMPANY, "us-east-dc", "datacenter"),
    Network("10.40.0.0/16", "SG", COMPANY, "sg-dc", "datacenter"),
    Network("2001:db8:40::/48", "SG", COMPANY, "sg-dc", "datacenter"),
    Network("198.18.0.0/17", "US", PARTNER, "ibc-us-west", "cloud"),
    Network("198.18.128.0/17", "US", PARTNER, "ibc-us-central", "cloud"),
    Network("2001:db8:1b00::/41", "US", PARTNER, "ibc-us-west", "cloud"),
    Network("2001:db8:1b80::/41", "US", PARTNER, "ibc-us-central", "cloud"),
    Network("10.20.0.0/22", "US", COMPANY, "us-mtv-office", "office"),
    Network("2001:db8:20::/48", "US", COMPANY, "us-mtv-office", "office"),
    # Deliberately inside the US office /22: the most specific prefix wins.
    Network("10.20.3.250/32", "US", COMPANY, "us-jump-1", "jump_host"),
    Network("10.30.0.0/22", "CN", COMPANY, "cn-bj-office", "office"),
    Network("2001:db8:30::/48", "CN", COMPANY, "cn-bj-office", "office"),
    Network("10.50.0.0/22", "SG", COMPANY, "sg-office", "office"),
    Network("2001:db8:50::/48", "SG", COMPANY, "sg-office", "office"),
    Network("192.0.2.64/26", "IE", COMPANY, "ie-dub-office", "office"),
    Network("2001:db8:60::/48", "IE", COMPANY, "ie-dub-office", "office"),
    Network("203.0.113.0/25", "US", COMPANY, "us-vpn", "vpn"),
    Network("2001:db8:70::/48", "US", COMPANY, "us-vpn", "vpn"),
    Network("198.51.100.0/24", "US", USERS_ORG, "us-users", "users"),
    Network("2001:db8:ff00::/40", "US", USERS_ORG, "us-users", "users"),
)

JUMP_HOST_IP = "10.20.3.250"

# Ranges that are used by events but deliberately NOT in the inventory, so
# the network country of those events is unknown.
UNLISTED = {
    "home-isp": ("172.16.5.0/24",),  # staff working from an unlisted ISP
    "scanner": ("203.0.113.128/25",),  # login noise from outside
}


@dataclass(frozen=True)
class Person:
    """One row of the staff roster."""

    actor_id: str
    display_name: str
    home_country: str  # "" for service accounts
    team: str
    aliases: tuple[str, ...] = ()


def _mail(name: str) -> str:
    return f"{name}@{DOMAIN}"


ROSTER: tuple[Person, ...] = (
    # United States (15). jchen is US-based: names say nothing about location.
    Person("abrooks", "Avery Brooks", "US", "trust-safety", (_mail("avery.brooks"),)),
    Person("jmiller", "Jordan Miller", "US", "data-eng"),
    Person("treed", "Taylor Reed", "US", "security", ("treed-admin",)),
    Person("mhayes", "Morgan Hayes", "US", "recs"),
    Person("cporter", "Casey Porter", "US", "growth"),
    Person("rdawson", "Riley Dawson", "US", "data-eng", (_mail("riley.dawson"),)),
    Person("jfoster", "Jamie Foster", "US", "support"),
    Person("dpalmer", "Drew Palmer", "US", "infra"),
    Person("qharper", "Quinn Harper", "US", "trust-safety"),
    Person("sgrant", "Skyler Grant", "US", "recs"),
    Person("plane", "Parker Lane", "US", "growth"),
    Person("rwalsh", "Reese Walsh", "US", "security"),
    Person("ecole", "Emerson Cole", "US", "data-eng"),
    Person("hpierce", "Hayden Pierce", "US", "infra"),
    Person("jchen", "Jessica Chen", "US", "data-eng", (_mail("jessica.chen"),)),
    # China (12)
    Person("wzhang", "Wei Zhang", "CN", "data-eng", (_mail("wei.zhang"), "wzhang-admin")),
    Person("lzhao", "Lei Zhao", "CN", "data-eng", (_mail("lei.zhao"),)),
    Person("mliu", "Min Liu", "CN", "recs"),
    Person("hwang", "Hao Wang", "CN", "infra", (_mail("hao.wang"),)),
    Person("jli", "Jing Li", "CN", "trust-safety"),
    Person("ysun", "Yan Sun", "CN", "recs", (_mail("yan.sun"),)),
    Person("bchen", "Bo Chen", "CN", "growth"),
    Person("xzhou", "Xin Zhou", "CN", "data-eng"),
    Person("thuang", "Tao Huang", "CN", "infra"),
    Person("fwu", "Fang Wu", "CN", "support"),
    Person("jxu", "Jun Xu", "CN", "data-eng", ("jxu-ops",)),
    Person("lma", "Ling Ma", "CN", "growth"),
    # Singapore (8)
    Person("pnair", "Priya Nair", "SG", "trust-safety", (_mail("priya.nair"),)),
    Person("dtan", "Daniel Tan", "SG", "data-eng"),
    Person("srahman", "Siti Rahman", "SG", "support"),
    Person("mlim", "Marcus Lim", "SG", "infra", ("mlim-admin",)),
    Person("gong", "Grace Ong", "SG", "recs"),
    Person("apillai", "Arjun Pillai", "SG", "data-eng"),
    Person("hgoh", "Hui Min Goh", "SG", "growth"),
    Person("ekoh", "Ethan Koh", "SG", "security"),
    # Ireland (5)
    Person("amurphy", "Aoife Murphy", "IE", "trust-safety", (_mail("aoife.murphy"),)),
    Person("cbyrne", "Cian Byrne", "IE", "support"),
    Person("nkelly", "Niamh Kelly", "IE", "security"),
    Person("sdoyle", "Sean Doyle", "IE", "growth"),
    Person("owalsh", "Orla Walsh", "IE", "data-eng"),
    # Service accounts: no home country.
    Person("svc-etl", "ETL pipeline", "", "platform"),
    Person("svc-recs", "Recommendation service", "", "platform"),
    Person("svc-backup", "Backup verifier", "", "platform"),
)


def people(country: str) -> tuple[str, ...]:
    """Actor ids of the staff whose home country is ``country``."""
    return tuple(p.actor_id for p in ROSTER if p.home_country == country)


def aliases_of(actor_id: str) -> tuple[str, ...]:
    """The roster aliases of ``actor_id`` (empty when it has none)."""
    for p in ROSTER:
        if p.actor_id == actor_id:
            return p.aliases
    raise KeyError(actor_id)


# CN staff who read US user data from Beijing, the subset using the jump
# host from July 2022, and the one who makes the bulk export.
CN_US_DATA_READERS = ("wzhang", "lzhao", "mliu", "hwang", "jli", "ysun", "xzhou", "thuang", "jxu")
JUMP_HOST_USERS = ("hwang", "jxu", "wzhang")
BULK_EXPORTER = "lzhao"
SERVICE_ACCOUNTS = ("svc-etl", "svc-recs", "svc-backup")


@dataclass(frozen=True)
class Asset:
    """One row of the data catalogue."""

    pattern: str
    category: str
    jurisdiction: str
    site: str


CATALOGUE: tuple[Asset, ...] = (
    Asset("s3://rr-us-userdata/*", "us_user_data", "US", "us-east-dc"),
    Asset("db://us-prod/users.*", "us_user_data", "US", "us-east-dc"),
    Asset("s3://ibc-rr-userdata/*", "us_user_data", "US", "ibc-us-west"),
    # Overlaps the next row on purpose; the longer (more specific) one wins.
    Asset("s3://rr-sg-backup/us/*", "us_user_data", "US", "sg-dc"),
    Asset("s3://rr-sg-backup/*", "sg_user_data", "SG", "sg-dc"),
    Asset("db://sg-prod/*", "sg_user_data", "SG", "sg-dc"),
    Asset("s3://rr-content/*", "public_content", "", "us-east-dc"),
    Asset("s3://rr-analytics/*", "internal_analytics", "US", "us-east-dc"),
    Asset("db://us-prod/metrics_v?.*", "internal_analytics", "US", "us-east-dc"),
    # The same data as the native logs name it (exports_native/, case_native.yml). The CSV
    # exports' resources (s3://, db://) match none of these, so case.yml is not affected.
    # CloudTrail: S3 objects and buckets by ARN. A listing names the bucket only; the only
    # listings of rr-sg-backup are of its us/ prefix, and a bucket holding US user data is
    # catalogued as such.
    Asset("arn:aws:s3:::rr-us-userdata/*", "us_user_data", "US", "us-east-dc"),
    Asset("arn:aws:s3:::rr-us-userdata", "us_user_data", "US", "us-east-dc"),
    Asset("arn:aws:s3:::ibc-rr-userdata/*", "us_user_data", "US", "ibc-us-west"),
    Asset("arn:aws:s3:::ibc-rr-userdata", "us_user_data", "US", "ibc-us-west"),
    Asset("arn:aws:s3:::rr-sg-backup/us/*", "us_user_data", "US", "sg-dc"),
    Asset("arn:aws:s3:::rr-sg-backup/*", "sg_user_data", "SG", "sg-dc"),
    Asset("arn:aws:s3:::rr-sg-backup", "us_user_data", "US", "sg-dc"),
    Asset("arn:aws:s3:::rr-content/*", "public_content", "", "us-east-dc"),
    Asset("arn:aws:s3:::rr-content", "public_content", "", "us-east-dc"),
    Asset("arn:aws:s3:::rr-analytics/*", "internal_analytics", "US", "us-east-dc"),
    Asset("arn:aws:s3:::rr-analytics", "internal_analytics", "US", "us-east-dc"),
    # The APAC gateway's request paths (web access log): /s3/<bucket>/<key>, /db/<database>/
    # <schema.table>, and /export/db/... for table exports.
    Asset("/s3/rr-us-userdata/*", "us_user_data", "US", "us-east-dc"),
    Asset("/s3/ibc-rr-userdata/*", "us_user_data", "US", "ibc-us-west"),
    Asset("/s3/rr-sg-backup/us/*", "us_user_data", "US", "sg-dc"),
    Asset("/s3/rr-sg-backup/*", "sg_user_data", "SG", "sg-dc"),
    Asset("/s3/rr-content/*", "public_content", "", "us-east-dc"),
    Asset("/s3/rr-analytics/*", "internal_analytics", "US", "us-east-dc"),
    Asset("/db/us-prod/users.*", "us_user_data", "US", "us-east-dc"),
    Asset("/db/sg-prod/*", "sg_user_data", "SG", "sg-dc"),
    Asset("/db/us-prod/metrics_v?.*", "internal_analytics", "US", "us-east-dc"),
    Asset("/export/db/us-prod/users.*", "us_user_data", "US", "us-east-dc"),
    Asset("/export/db/sg-prod/*", "sg_user_data", "SG", "sg-dc"),
    Asset("/export/db/us-prod/metrics_v?.*", "internal_analytics", "US", "us-east-dc"),
    # What the backup source hosts hold, for flow logs (exports_flows/), which name no dataset:
    # 'site:<name>' entries, <name> the site of the host's /32 in the inventory
    # (USER_DATA_HOSTS). The backup job log names its dataset, which wins, so case.yml and
    # case_native.yml are not affected.
    Asset("site:us-userdata-db", "us_user_data", "US", "us-east-dc"),
    Asset("site:ibc-userdata-vm", "us_user_data", "US", "ibc-us-west"),
)

# Hosts that copy US user data (the backup sources), each given a /32 in the inventory with a
# site of its own, so a flow log's source address tells what the flow carries:
# (host, site of its address pool, site named by its /32). Their addresses are drawn by the
# backup schedule (seeded), so the rows are made by :func:`host_networks`.
USER_DATA_HOSTS = (("use-db-07", "us-east-dc", "us-userdata-db"),
                   ("ibc-usw-vm-3141", "ibc-us-west", "ibc-userdata-vm"))


def host_networks(host_ip: dict[str, str]) -> tuple[Network, ...]:
    """The /32 inventory rows of :data:`USER_DATA_HOSTS`, given each host's address.

    Country, org and kind are those of the host's site, so no country or org changes.
    """
    rows = []
    for host, pool_site, site in USER_DATA_HOSTS:
        parent = next(n for n in NETWORKS if n.site == pool_site and ":" not in n.cidr)
        rows.append(Network(f"{host_ip[host]}/32", parent.country, parent.org, site, parent.kind))
    return tuple(rows)


class AddressPools:
    """Seeded, fixed sets of host addresses per site.

    Parameters
    ----------
    seed : int
        Case seed; pools depend on it only.

    Notes
    -----
    Pools are lists (never sets) so iteration order is fixed. IPv4 and IPv6
    pools are kept apart so callers can choose the address family.
    """

    # site -> (IPv4 pool size, IPv6 pool size)
    SIZES = {
        "us-east-dc": (12, 6),
        "sg-dc": (12, 6),
        "ibc-us-west": (12, 6),
        "ibc-us-central": (8, 4),
        "us-mtv-office": (60, 30),
        "cn-bj-office": (40, 20),
        "sg-office": (30, 15),
        "ie-dub-office": (15, 8),
        "us-vpn": (30, 10),
        "home-isp": (10, 0),
        "scanner": (10, 0),
    }

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"{seed}/addresses")
        self.v4: dict[str, list[str]] = {}
        self.v6: dict[str, list[str]] = {}
        for site, (n4, n6) in self.SIZES.items():
            cidrs = [n.cidr for n in NETWORKS if n.site == site] or list(UNLISTED[site])
            nets = [ipaddress.ip_network(c) for c in cidrs]
            v4 = [n for n in nets if n.version == 4]
            v6 = [n for n in nets if n.version == 6]
            self.v4[site] = self._draw(rng, v4[0], n4) if n4 else []
            self.v6[site] = self._draw(rng, v6[0], n6) if n6 else []
        self.v4["us-jump-1"] = [JUMP_HOST_IP]
        self.v6["us-jump-1"] = []

    @staticmethod
    def _draw(rng: random.Random, net, n: int) -> list[str]:
        """Draw ``n`` distinct usable host addresses from ``net``."""
        base = int(net.network_address)
        size = net.num_addresses
        out: list[str] = []
        while len(out) < n:
            offset = rng.randrange(1, size - 1) if size <= 2**32 else rng.getrandbits(64) + 1
            addr = str(ipaddress.ip_address(base + offset))
            # Keep the jump host's /32 out of the office pool, and no repeats.
            if addr != JUMP_HOST_IP and addr not in out:
                out.append(addr)
        return out

    def pick(self, rng: random.Random, site: str, v6_share: float = 0.10) -> str:
        """One address of ``site``; IPv6 with probability ``v6_share`` if available."""
        if self.v6[site] and rng.random() < v6_share:
            return rng.choice(self.v6[site])
        return rng.choice(self.v4[site])


def user_address(rng: random.Random) -> str:
    """A random US consumer address (about 10% IPv6)."""
    if rng.random() < 0.10:
        net = ipaddress.ip_network("2001:db8:ff00::/40")
        return str(ipaddress.ip_address(int(net.network_address) + rng.getrandbits(88)))
    return f"198.51.100.{rng.randint(1, 254)}"
