"""Where each address and resource belongs, worked out once per distinct value and kept.

Addresses. The ``networks`` table holds every loaded prefix with its source's precedence
(:data:`PRECEDENCE`: the analyst's inventory first, then cloud providers' range files, then a
``.mmdb`` database, then the bundled registry). For each precedence the prefixes are flattened
into disjoint ranges (``network_ranges``; within one precedence the most specific prefix wins,
and of the same prefix loaded twice the later file), so one ASOF join per precedence finds the
range holding an address. Each field of the answer comes from the first precedence that has it:
an inventory entry naming a site but no country leaves the country to the next source.

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
from dataclasses import dataclass

import pandas as pd

from ..workspace import Workspace

# Source precedence: lower first. A network source's format decides its precedence.
PRECEDENCE = {"inventory": 10, "aws": 20, "google": 20, "azure": 20, "oracle": 20, "mmdb": 30,
              "registry": 40}
_V4_MAPPED = int(ipaddress.IPv6Address("::ffff:0:0"))

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


def to_range(cidr: str) -> tuple[int, int, int]:
    """A prefix as (first, last, prefix length) in the one 128-bit space of ``ip_to_num``."""
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


def rebuild_ranges(ws: Workspace, precedence: int) -> int:
    """Recompute ``network_ranges`` of one precedence from ``networks``; returns the count."""
    rows = ws.sql("""SELECT CAST(ip_start AS VARCHAR), CAST(ip_end AS VARCHAR), source_seq,
                            cidr, country, org, site, kind, source
                     FROM networks WHERE precedence = ?""", [precedence]).fetchall()
    flat = flatten([(int(r[0]), int(r[1]), r[2], tuple(r[3:])) for r in rows])
    ws.con.execute("DELETE FROM network_ranges WHERE precedence = ?", [precedence])
    if flat:
        df = pd.DataFrame([(precedence, str(s), str(e), *row) for s, e, row in flat],
                          columns=["precedence", "ip_start", "ip_end", "cidr", "country", "org",
                                   "site", "kind", "source"])
        ws.con.register("__ranges_in", df)
        try:
            ws.con.execute("""INSERT INTO network_ranges SELECT precedence, CAST(ip_start AS UHUGEINT),
                                  CAST(ip_end AS UHUGEINT), cidr, country, org, site, kind, source
                              FROM __ranges_in""")
        finally:
            ws.con.unregister("__ranges_in")
    return len(flat)


def _special_ranges_sql() -> str:
    values = []
    for cidr, cls in SPECIAL_RANGES:
        start, end, plen = to_range(cidr)
        values.append(f"({start}::UHUGEINT, {end}::UHUGEINT, {plen}, '{cls}')")
    return f"(VALUES {', '.join(values)}) AS special(ip_start, ip_end, prefix_len, ip_class)"


_NEW_ADDRESSES = {
    "access_events": ["src_ip"],
    "transfer_events": ["src_ip", "dst_ip"],
}


def locate_addresses(ws: Workspace, source_file: str | None = None, everything: bool = False) -> int:
    """Add the addresses not yet in ``address_locations`` (of one ingested file, or of all
    events); with ``everything``, recompute the whole table. Returns the addresses added."""
    con = ws.con
    if everything:
        con.execute("DELETE FROM address_locations")
    where = "WHERE {col} IS NOT NULL" + (" AND source_file = $file" if source_file else "")
    picks = " UNION ".join(f"SELECT {col} AS ip FROM {table} {where.format(col=col)}"
                           for table, cols in _NEW_ADDRESSES.items() for col in cols)
    params = {"file": source_file} if source_file else {}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE __new_ips AS
        SELECT ip, ip_to_num(ip) AS n FROM ({picks}) AS a
        WHERE NOT EXISTS (SELECT 1 FROM address_locations l WHERE l.ip = a.ip)""", params)
    try:
        added = con.execute("SELECT count(*) FROM __new_ips").fetchone()[0]
        if added:
            _locate_new(con)
    finally:
        con.execute("DROP TABLE IF EXISTS __new_ips")
    return added


def _locate_new(con) -> None:
    # Classify, ask each precedence's ranges (the inventory for every address, the others for
    # public ones only), then take each field from the first precedence that has it.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE __located AS
        WITH classed AS (
            SELECT a.ip, a.n,
                   CASE WHEN a.n IS NULL THEN 'invalid'
                        ELSE coalesce(arg_min(special.ip_class, special.ip_end - special.ip_start), 'public')
                   END AS ip_class
            FROM __new_ips a LEFT JOIN {_special_ranges_sql()}
                 ON a.n BETWEEN special.ip_start AND special.ip_end
            GROUP BY a.ip, a.n),
        probes AS (
            SELECT c.ip, c.n, p.precedence FROM classed c
            CROSS JOIN (SELECT DISTINCT precedence FROM network_ranges) p
            WHERE c.n IS NOT NULL AND (c.ip_class = 'public' OR p.precedence = {PRECEDENCE['inventory']})),
        hits AS (
            SELECT pr.ip, r.* FROM probes pr
            ASOF JOIN network_ranges r ON pr.precedence = r.precedence AND pr.n >= r.ip_start
            WHERE pr.n <= r.ip_end)
        SELECT c.ip, c.ip_class,
               arg_min(h.country, h.precedence) FILTER (WHERE h.country IS NOT NULL) AS country,
               arg_min(h.source, h.precedence) FILTER (WHERE h.country IS NOT NULL) AS country_source,
               arg_min(h.org, h.precedence) FILTER (WHERE h.org IS NOT NULL) AS org,
               arg_min(h.site, h.precedence) FILTER (WHERE h.site IS NOT NULL) AS site,
               arg_min(h.kind, h.precedence) FILTER (WHERE h.kind IS NOT NULL) AS kind,
               arg_min(h.cidr, h.precedence) AS cidr,
               arg_min(h.source, h.precedence) AS network_source
        FROM classed c LEFT JOIN hits h ON h.ip = c.ip
        GROUP BY c.ip, c.ip_class""")
    try:
        _registry_countries(con)
        con.execute("INSERT INTO address_locations SELECT * FROM __located")
    finally:
        con.execute("DROP TABLE IF EXISTS __located")


REGISTRY_LABEL = "registry"


def registry_source() -> str:
    """The bundled registry's name as enriched rows show it (with the package version)."""
    from importlib.metadata import version

    return f"{REGISTRY_LABEL}:iptocc {version('iptocc')} (RIR registration country, not a measured location)"


def _registry_countries(con) -> None:
    """Countries for public addresses no loaded source placed, from the bundled RIR data.

    One call over the distinct addresses (the lookups run in iptocc's compiled code); IPv4
    written inside IPv6 (``::ffff:192.0.2.1``) is asked as IPv4.
    """
    missing = [ip for (ip,) in con.execute(
        "SELECT ip FROM __located WHERE country IS NULL AND ip_class = 'public'").fetchall()]
    if not missing:
        return
    import iptocc

    asked = []
    for ip in missing:
        addr = ipaddress.ip_address(ip.split("%")[0].strip("[]"))
        mapped = getattr(addr, "ipv4_mapped", None)
        asked.append(str(mapped or addr))
    found = pd.DataFrame({"ip": missing, "country": iptocc.country_code(asked)}).dropna()
    if found.empty:
        return
    con.register("__registry", found)
    try:
        con.execute("UPDATE __located SET country = r.country, country_source = ? "
                    "FROM __registry r WHERE __located.ip = r.ip", [registry_source()])
    finally:
        con.unregister("__registry")


def categorise_resources(ws: Workspace, source_file: str | None = None, everything: bool = False) -> int:
    """Add the resources not yet in ``resource_categories`` (of one ingested file, or all);
    with ``everything``, recompute the table. Returns the resources added."""
    con = ws.con
    if everything:
        con.execute("DELETE FROM resource_categories")
    where = " AND source_file = $file" if source_file else ""
    params = {"file": source_file} if source_file else {}
    return con.execute(f"""INSERT INTO resource_categories
        WITH fresh AS (
            SELECT DISTINCT resource FROM access_events e WHERE resource IS NOT NULL{where}
            AND NOT EXISTS (SELECT 1 FROM resource_categories rc WHERE rc.resource = e.resource))
        SELECT f.resource,
               arg_max(a.data_category, a.specificity), arg_max(a.jurisdiction, a.specificity),
               arg_max(a.site, a.specificity), arg_max(a.resource_pattern, a.specificity)
        FROM fresh f LEFT JOIN assets a ON f.resource GLOB a.resource_pattern
        GROUP BY f.resource""", params).fetchone()[0]
