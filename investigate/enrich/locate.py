"""Where each address and resource belongs, worked out once per distinct value and kept.

Addresses. The ``networks`` table holds every loaded prefix with its source's precedence
(:data:`PRECEDENCE`: the analyst's inventory first, then cloud providers' range files, then a
``.mmdb`` database). The prefixes of each precedence are flattened into disjoint ranges (the
most specific prefix wins, and of the same prefix loaded twice the later file), and the layers
are laid over each other into ``network_ranges``: one answer per range, each field from the
first precedence that has it (an inventory entry naming a site but no country leaves the
country to the next source). One ASOF join then finds the range holding each address.

Special-purpose addresses (private, loopback, link-local, documentation, multicast...) are
classified first and only the analyst's inventory is asked about them: a company describes its
internal ranges there, and no public source knows them. Addresses no range file covers get
the bundled registry's answer (``iptocc``: the country the block is registered to, not where it
is used) in one vectorised call over the distinct addresses.

Resources. Each distinct resource is matched once against the catalogue's glob patterns (the
most specific wins) and kept in ``resource_categories``.

Both tables are kept current as files are ingested (only values not seen before are looked up)
and rebuilt when the reference data they depend on changes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .. import progress
from ..workspace import Workspace

# Source precedence: lower first. A network source's format decides its precedence.
PRECEDENCE = {"inventory": 10, "aws": 20, "google": 20, "azure": 20, "oracle": 20, "mmdb": 30,
              "registry": 40}
_V4_MAPPED = int(ipaddress.IPv6Address("::ffff:0:0"))
_LOW64 = "18446744073709551615::UHUGEINT"

# IANA special-purpose address registries (RFC 6890 and updates), as (prefix, class). Checked
# before any geo source; the most specific prefix wins.
SPECIAL_RANGES = [
    ("0.0.0.0/8", "unspecified"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link_local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "documentation"), ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"), ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"), ("255.255.255.255/32", "broadcast"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("64:ff9b:1::/48", "private"),
    ("100::/64", "reserved"), ("2001::/23", "reserved"), ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"), ("5f00::/16", "reserved"), ("fc00::/7", "private"),
    ("fe80::/10", "link_local"), ("ff00::/8", "multicast"),
]


_V4_PREFIX = re.compile(r"(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})/(\d{1,2})")


def to_range(cidr: str) -> tuple[int, int, int]:
    """A prefix as (first, last, prefix length) in the one 128-bit space of ``ip_to_num``."""
    m = _V4_PREFIX.fullmatch(cidr)
    if m:  # the common case, without ipaddress (ten times quicker over a large range file)
        *octets, plen = map(int, m.groups())
        if max(octets) <= 255 and plen <= 32:
            n = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3]
            size = 1 << (32 - plen)
            start = n - n % size + _V4_MAPPED  # host bits cleared, as ip_network(strict=False)
            return start, start + size - 1, plen + 96
    net = ipaddress.ip_network(cidr, strict=False)
    start, end, plen = int(net.network_address), int(net.broadcast_address), net.prefixlen
    if net.version == 4:  # IPv4 a.b.c.d is ::ffff:a.b.c.d (RFC 4291 2.5.5.2)
        return start + _V4_MAPPED, end + _V4_MAPPED, plen + 96
    return start, end, plen


@dataclass
class _Open:
    start: int
    end: int
    row: tuple
    cursor: int  # first address of this prefix not yet given to a range


def flatten(prefixes: list[tuple[int, int, int, tuple]]) -> list[tuple[int, int, tuple]]:
    """Disjoint ranges from prefixes ``(start, end, order, row)``, each address labelled with
    the most specific prefix holding it (of the same prefix, the one with the highest order).

    Prefixes never partly overlap (two CIDR blocks are nested or disjoint), so one sweep with a
    stack of the blocks holding the current position does it.
    """
    out: list[tuple[int, int, tuple]] = []
    stack: list[_Open] = []

    def close_top() -> None:
        top = stack.pop()
        if top.cursor <= top.end:
            out.append((top.cursor, top.end, top.row))
        if stack:
            stack[-1].cursor = top.end + 1

    for start, end, _, row in sorted(prefixes, key=lambda p: (p[0], -p[1], p[2])):
        while stack and stack[-1].end < start:
            close_top()
        if stack and (stack[-1].start, stack[-1].end) == (start, end):
            stack[-1].row = row  # the same prefix again: the later one replaces it
            continue
        if stack:
            top = stack[-1]
            if top.cursor < start:
                out.append((top.cursor, start - 1, top.row))
            top.cursor = start
        stack.append(_Open(start, end, row, start))
    while stack:
        close_top()
    return out


def overlay(layers: list[list[tuple[int, int, tuple]]]) -> list[tuple[int, int, tuple]]:
    """One answer per address from several layers of disjoint ranges, in precedence order.

    A layer's row is ``(cidr, country, org, site, kind, source)``; the answer is ``(cidr,
    country, country_source, org, site, kind, network_source)``: each field from the first
    layer that has it, the prefix and source of the first layer holding the address. Adjacent
    ranges with the same answer are merged.
    """
    if len(layers) == 1:  # one source: its ranges are the answers
        return [(s, e, (r[0], r[1], r[5] if r[1] is not None else None, r[2], r[3], r[4], r[5]))
                for s, e, r in layers[0]]
    points = sorted({s for layer in layers for s, _, _ in layer} | {e + 1 for layer in layers for _, e, _ in layer})
    at = [0] * len(layers)
    out: list[tuple[int, int, tuple]] = []
    for a, b in zip(points, points[1:]):
        hits = []
        for k, layer in enumerate(layers):
            i = at[k]
            while i < len(layer) and layer[i][1] < a:
                i += 1
            at[k] = i
            if i < len(layer) and layer[i][0] <= a:
                hits.append(layer[i][2])
        if not hits:
            continue
        country = next(((h[1], h[5]) for h in hits if h[1] is not None), (None, None))
        answer = (hits[0][0], *country, *(next((h[f] for h in hits if h[f] is not None), None) for f in (2, 3, 4)),
                  hits[0][5])
        if out and out[-1][1] == a - 1 and out[-1][2] == answer:
            out[-1] = (out[-1][0], b - 1, answer)
        else:
            out.append((a, b - 1, answer))
    return out


def rebuild_ranges(ws: Workspace) -> int:
    """Recompute ``network_ranges`` from ``networks``; returns the number of ranges.

    Two scopes: ``all`` (every source, for public addresses) and ``inventory`` (the analyst's
    own ranges alone, for private, documentation and other special addresses).
    """
    layers = {}
    for (precedence,) in ws.sql("SELECT DISTINCT precedence FROM networks ORDER BY 1").fetchall():
        # As two 64-bit halves: DuckDB turns a UHUGEINT into text a hundred times slower.
        rows = ws.sql(f"""SELECT (ip_start >> 64)::UBIGINT, (ip_start & {_LOW64})::UBIGINT,
                                 (ip_end >> 64)::UBIGINT, (ip_end & {_LOW64})::UBIGINT, source_seq,
                                 cidr, country, org, site, kind, source
                          FROM networks WHERE precedence = ?""", [precedence]).fetchall()
        layers[precedence] = flatten([(r[0] << 64 | r[1], r[2] << 64 | r[3], r[4], tuple(r[5:])) for r in rows])
    own = PRECEDENCE["inventory"]
    every = overlay(list(layers.values()))
    scopes = {"all": every,
              "inventory": (every if list(layers) == [own] else overlay([layers[own]])) if own in layers else []}
    ws.con.execute("DELETE FROM network_ranges")
    names = ["cidr", "country", "country_source", "org", "site", "kind", "network_source"]
    columns = {"scope": [], "ip_start": [], "ip_end": [], **{n: [] for n in names}}
    for scope, ranges in scopes.items():
        for s, e, answer in ranges:
            columns["scope"].append(scope)
            columns["ip_start"].append(str(s))
            columns["ip_end"].append(str(e))
            for n, v in zip(names, answer):
                columns[n].append(v)
    if columns["scope"]:
        table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})  # quicker than pandas
        ws.con.register("__ranges_in", table)
        try:
            ws.con.execute("""INSERT INTO network_ranges SELECT CAST(scope AS network_scope), CAST(ip_start AS UHUGEINT),
                                  CAST(ip_end AS UHUGEINT), cidr, country, country_source, org, site,
                                  kind, network_source FROM __ranges_in""")
        finally:
            ws.con.unregister("__ranges_in")
    return len(columns["scope"])


def _ip_class_sql(n: str) -> str:
    """SQL: the special-purpose class of the address number ``n`` (most specific prefix
    first), 'invalid' for NULL, else 'public'."""
    ranked = sorted(SPECIAL_RANGES, key=lambda r: -to_range(r[0])[2])
    whens = " ".join(f"WHEN {n} BETWEEN {to_range(c)[0]}::UHUGEINT AND {to_range(c)[1]}::UHUGEINT THEN '{cls}'"
                     for c, cls in ranked)
    return f"CASE WHEN {n} IS NULL THEN 'invalid' {whens} ELSE 'public' END"


_NEW_ADDRESSES = {
    "access_events": ["src_ip"],
    "transfer_events": ["src_ip", "dst_ip"],
}


def locate_addresses(ws: Workspace, new_rows: tuple[str, int] | None = None, everything: bool = False) -> int:
    """Add the addresses not yet in ``address_locations``: of every event, or with
    ``new_rows=(table, rowid)`` of the rows of that table after that rowid (a file just
    ingested); with ``everything``, recompute the whole table. Returns the addresses added."""
    con = ws.con
    if everything:
        con.execute("DELETE FROM address_locations")
    picks = " UNION ".join(f"SELECT {col} AS ip FROM {table} WHERE {col} IS NOT NULL{_after(table, new_rows)}"
                           for table, cols in _NEW_ADDRESSES.items() for col in cols
                           if new_rows is None or new_rows[0] == table)
    with progress.track(con, "Finding new addresses"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE __new_ips AS
            SELECT ip, ip_to_num(ip) AS n FROM (SELECT DISTINCT ip FROM ({picks})) AS a
            WHERE NOT EXISTS (SELECT 1 FROM address_locations l WHERE l.ip = a.ip)""")
    try:
        added = con.execute("SELECT count(*) FROM __new_ips").fetchone()[0]
        if added:
            with progress.track(con, f"Locating {added:,} addresses", added, "addresses"):
                _locate_new(con)
    finally:
        con.execute("DROP TABLE IF EXISTS __new_ips")
    return added


def _after(table: str, new_rows: tuple[str, int] | None) -> str:
    # A rowid filter skips the older row groups outright (a filter on source_file would read
    # that column for every row of the workspace, once per file).
    return f" AND rowid > {int(new_rows[1])}" if new_rows and new_rows[0] == table else ""


def _locate_new(con) -> None:
    # Classify; then one ASOF join finds the range holding each address: among every source's
    # answers for a public address, among the inventory's for a special one.
    fields = ("country", "country_source", "org", "site", "kind", "cidr", "network_source")
    picked = ", ".join(f"CASE WHEN c.n <= r.ip_end THEN r.{f} END AS {f}" for f in fields)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE __located AS
        WITH classed AS (SELECT ip, n, {_ip_class_sql('n')} AS ip_class FROM __new_ips),
        scoped AS (SELECT *, CAST(CASE WHEN ip_class = 'public' THEN 'all' ELSE 'inventory' END
                                  AS network_scope) AS scope
                   FROM classed)
        SELECT c.ip, c.ip_class, {picked}
        FROM scoped c ASOF LEFT JOIN network_ranges r ON c.scope = r.scope AND c.n >= r.ip_start""")
    try:
        found = _registry_countries(con)
        if found is None:
            con.execute("INSERT INTO address_locations SELECT * FROM __located")
            return
        _record_registry(con)
        con.register("__registry", found)
        try:  # a join, not an UPDATE: DuckDB updates row by row, on one thread
            con.execute("""INSERT INTO address_locations
                SELECT l.ip, l.ip_class, coalesce(l.country, r.country),
                       CASE WHEN l.country IS NULL AND r.country IS NOT NULL THEN $label ELSE l.country_source END,
                       l.org, l.site, l.kind, l.cidr, l.network_source
                FROM __located l LEFT JOIN __registry r ON r.ip = l.ip""", {"label": registry_source()})
        finally:
            con.unregister("__registry")
    finally:
        con.execute("DROP TABLE IF EXISTS __located")


REGISTRY_LABEL = "registry"


@lru_cache(maxsize=1)
def _registry_identity() -> tuple[str, str]:
    """The installed iptocc's version, and the sha256 of the compiled module its data is built
    into (worked out once per process: every ingest that meets a new public address asks)."""
    from importlib.metadata import version

    import iptocc

    from ..loaders.sources import sha256_of

    module = next(p for p in Path(iptocc.__file__).parent.iterdir()
                  if p.name.startswith("iptocc.") and p.suffix in (".so", ".pyd"))
    return version("iptocc"), sha256_of(module)


def registry_source() -> str:
    """The bundled registry's name as enriched rows show it (with the package version)."""
    return f"{REGISTRY_LABEL}:iptocc {_registry_identity()[0]} (RIR registration country, not a measured location)"


def _record_registry(con) -> None:
    """The bundled registry as a reference source, once it has answered for an address (so a
    finding's input fingerprint changes when the registry data does)."""
    from datetime import datetime, timezone

    version, sha = _registry_identity()
    if con.execute("SELECT count(*) FROM reference_sources WHERE kind = 'networks' AND sha256 = ?", [sha]).fetchall()[0][0]:
        return
    con.execute("INSERT INTO reference_sources VALUES ('networks', ?, ?, ?, 0, ?, 'registry', ?, ?, ?, NULL, NULL)",
                [f"bundled:iptocc {version}", sha, "iptocc (RIR delegation data)",
                 datetime.now(timezone.utc), version, PRECEDENCE["registry"],
                 "the country each block is registered to at a Regional Internet Registry, not a measured location"])


def _registry_countries(con) -> pd.DataFrame | None:
    """Countries for public addresses no loaded source placed, from the bundled RIR data:
    ``(ip, country)`` rows, or None when there are none.

    One call over the distinct addresses (the lookups run in iptocc's compiled code). The text
    asked is made plain in SQL: IPv4 written inside IPv6 (``::ffff:192.0.2.1``) as IPv4, zone
    ids and brackets removed.
    """
    v4 = f"n - {_V4_MAPPED}::UHUGEINT"
    asked = con.execute(f"""
        SELECT l.ip, CASE WHEN a.n BETWEEN {_V4_MAPPED}::UHUGEINT AND {_V4_MAPPED + 2**32 - 1}::UHUGEINT
                          THEN printf('%d.%d.%d.%d', ({v4}) >> 24, (({v4}) >> 16) & 255, (({v4}) >> 8) & 255, ({v4}) & 255)
                          ELSE lower(split_part(replace(replace(trim(l.ip), '[', ''), ']', ''), '%', 1)) END AS text
        FROM __located l JOIN __new_ips a ON a.ip = l.ip
        WHERE l.country IS NULL AND l.ip_class = 'public'""").fetchnumpy()
    if not len(asked["ip"]):
        return None
    import iptocc

    found = pd.DataFrame({"ip": asked["ip"], "country": iptocc.country_code(asked["text"].tolist())}).dropna()
    return None if found.empty else found


def categorise_resources(ws: Workspace, after_rowid: int | None = None, everything: bool = False) -> int:
    """Add the resources not yet in ``resource_categories``: of every access event, or of
    those after ``after_rowid`` (a file just ingested); with ``everything``, recompute the
    table. Returns the resources added."""
    con = ws.con
    if everything:
        con.execute("DELETE FROM resource_categories")
    where = _after("access_events", None if after_rowid is None else ("access_events", after_rowid))
    # A resource can only match a pattern that it starts with the literal part of (the text
    # before the first wildcard): candidates are found by a hash join on that prefix, one join
    # key per prefix length, and only they are tried with GLOB. (Every resource against every
    # pattern took 0.5 s for 250,000 resources and 55 patterns, and grows with both.)
    with progress.track(con, "Categorising resources"):
        return con.execute(f"""INSERT INTO resource_categories
            WITH fresh AS (
                SELECT DISTINCT resource FROM access_events e WHERE resource IS NOT NULL{where}
                AND NOT EXISTS (SELECT 1 FROM resource_categories rc WHERE rc.resource = e.resource)),
            patterns AS (
                SELECT *, regexp_extract(resource_pattern, '^[^*?\\[\\\\]*') AS literal FROM assets),
            lengths AS (SELECT DISTINCT length(literal) AS n FROM patterns),
            keyed AS (
                SELECT f.resource, l.n, left(f.resource, l.n) AS prefix
                FROM fresh f, lengths l WHERE length(f.resource) >= l.n),
            matched AS (
                SELECT k.resource, a.data_category, a.jurisdiction, a.site, a.resource_pattern, a.specificity
                FROM keyed k JOIN patterns a ON a.literal = k.prefix AND length(a.literal) = k.n
                WHERE k.resource GLOB a.resource_pattern)
            SELECT f.resource,
                   arg_max(m.data_category, m.specificity), arg_max(m.jurisdiction, m.specificity),
                   arg_max(m.site, m.specificity), arg_max(m.resource_pattern, m.specificity)
            FROM fresh f LEFT JOIN matched m ON m.resource = f.resource
            GROUP BY f.resource""").fetchone()[0]
