"""Every query of the library on enriched access and transfer events, against scans of the same
tables, in the same run.

    python benchmarks/queries.py [--events 10000000] [--memory-limit 4GB] [--runs 3]

Builds one workspace: ``--events`` access events, the roster, catalogue, policy and the
``--ranges``-prefix network inventory exactly as ``benchmarks/enrich.py`` makes them (its
generators, imported), with a few more inventory rows (user networks, the partner's cloud and
the company's storage sites, some of them offshore), and ``--events`` transfer events whose two
ends are addresses inside the inventory's prefixes. Then times, each ``--runs`` times (the
median is reported), with the result fully fetched:

- the baselines: ``SELECT count(*)`` over each enriched view (every join of the view), and a
  scan of each base table that reads every row of the columns the views join and filter on;
- every query ``list_queries()`` finds at run time, through ``investigate.run_query`` (a
  DataFrame), with its defaults; a parameter the header marks ``required`` is given from
  :data:`KNOWN_VALUES` (the partner org, an actor id), and a query needing another one stops
  the benchmark before anything is built.

Prints one row per query: seconds, the ratio to the ``count(*)`` of the view(s) it reads (the
target: at most 10x), the ratio to the base scan(s) and the rows returned; then a line per
query over the target.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import investigate as inv
from enrich import COUNTRIES, EVENTS_SQL, load_references, write_inventory, write_roster_catalogue_policy

TARGET = 10.0
PARTNER_ORG = "Ironbridge Cloud"
ACTOR = "user17"  # in the roster (with an alias), about 1 event in 2,000
# Values for parameters a query header marks required, by parameter name. partner_org is also
# given where it is optional: without it partner_share measures no partner at all.
KNOWN_VALUES = {"partner_org": PARTNER_ORG, "entity": ACTOR, "actor": ACTOR, "actor_id": ACTOR}
ALWAYS_GIVEN = {"partner_org"}

# The company's storage sites: the data's own jurisdictions (US, SG, DE) and offshore ones.
STORAGE_SITES = [("dc-us-east", "US"), ("dc-us-west", "US"), ("dc-sg", "SG"), ("dc-de", "DE"),
                 ("dc-in", "IN"), ("dc-br", "BR"), ("dc-cn", "CN"), ("dc-jp", "JP")]
PARTNER_REGIONS = [("US", "us-east"), ("SG", "ap-southeast"), ("DE", "eu-central"), ("JP", "ap-northeast")]


def extra_inventory() -> list[tuple[str, str, str, str, str, str]]:
    """Inventory rows added after enrich.py's, as (group, cidr, country, org, site, kind): 64
    IPv4 and 16 IPv6 office networks (kind 'users', private and ULA space: only the inventory
    knows them), the partner's 16 IPv4 /16s and 4 IPv6 /32s, and one /16 per storage site."""
    rows = []
    for a in range(64):
        rows.append(("users", f"10.{a}.0.0/16", COUNTRIES[a % len(COUNTRIES)], "Corp", f"office-{a}", "users"))
    for a in range(16):
        rows.append(("users", f"fd00:0:{a:x}::/48", COUNTRIES[a % len(COUNTRIES)], "Corp", f"office-v6-{a}", "users"))
    for b in range(16):
        country, region = PARTNER_REGIONS[b % len(PARTNER_REGIONS)]
        rows.append(("partner", f"212.{b}.0.0/16", country, PARTNER_ORG, f"ib-{region}", "cloud"))
    for b in range(4):
        country, region = PARTNER_REGIONS[b]
        rows.append(("partner", f"2a01:{b + 1:x}::/32", country, PARTNER_ORG, f"ib-{region}", "cloud"))
    for s, (site, country) in enumerate(STORAGE_SITES):
        rows.append(("storage", f"213.{s}.0.0/16", country, "Corp Storage", site, "storage"))
    return rows


def address_stem(cidr: str) -> tuple[str, int]:
    """A prefix's text before the host part, and its length: '11.0.0.0/24' -> ('11.0.0.', 24),
    '2a00:100:5::/48' -> ('2a00:100:5:', 48)."""
    net, length = cidr.split("/")
    if ":" in net:
        return net.removesuffix("::") + ":", int(length)
    keep = {24: 3, 16: 2}[int(length)]
    return ".".join(net.split(".")[:keep]) + ".", int(length)


def address_pool(inventory: Path, extra) -> pd.DataFrame:
    """Every prefix an end of a transfer can be drawn from, numbered within its group: 'general'
    (enrich.py's /24s and /48s, the ones with no kind), 'users', 'partner', 'storage'."""
    groups: dict[str, list[tuple[str, int, str | None]]] = {"general": [], "users": [], "partner": [], "storage": []}
    for line in inventory.read_text(encoding="utf-8").splitlines()[1:]:
        cidr, _country, _org, site, kind = line.split(",")
        if not kind:
            groups["general"].append((*address_stem(cidr), site or None))
    for group, cidr, _country, _org, site, _kind in extra:
        groups[group].append((*address_stem(cidr), site))
    rows = [(g, p, stem, length, site) for g, prefixes in groups.items()
            for p, (stem, length, site) in enumerate(prefixes)]
    return pd.DataFrame(rows, columns=["grp", "p", "stem", "len", "site"])


# One flow in twenty (i % 20): 0-1 between a user network and the partner, 2-7 between a user
# network and a general prefix (a flow log records a request and its response apart: in half of
# these the user end is the destination), 8-11 a copy between two storage sites (three in four
# name a catalogued dataset), 12-19 between two general prefixes. An end is address number a
# of its group (one in ten events' worth of general addresses, as for access events): prefix
# a % (the group's prefixes), host a // (the group's prefixes). One transfer in forty failed;
# starts are in order over one year.
GROUPS = ("general", "users", "partner", "storage")


def _by_group(g: str, what: str) -> str:
    return "CASE " + g + " " + " ".join(f"WHEN '{k}' THEN ${what}_{k}" for k in GROUPS[:-1]) + \
        f" ELSE ${what}_{GROUPS[-1]} END"


def _address(e: str, h: str) -> str:
    return f"""CASE {e}.len WHEN 24 THEN {e}.stem || (1 + {h} % 250)
                WHEN 16 THEN {e}.stem || ({h} // 250) % 256 || '.' || (1 + {h} % 250)
                WHEN 48 THEN {e}.stem || printf('%x::%x', ({h} // 250) % 65536, 1 + {h} % 250)
                ELSE {e}.stem || printf('%x:%x::%x', ({h} // 250) % 65536, ({h} // 16384000) % 65536,
                                        1 + {h} % 250) END"""


def _host(e: str, a: str, h: str) -> str:
    return f"CASE {e}.grp WHEN 'users' THEN 'ws-' || {a} WHEN 'storage' THEN {e}.site || '-store-' || {h} END"


TRANSFERS_SQL = f"""
INSERT INTO transfer_events (event_id, ts_start, ts_end, src_ip, src_port, dst_ip, dst_port, protocol,
                             bytes, packets, src_host, dst_host, dataset, action, outcome,
                             source_format, source_file, source_record)
WITH flows AS (
    SELECT *, a1 % {_by_group('g1', 'prefixes')} AS p1, a1 // {_by_group('g1', 'prefixes')} AS h1,
              a2 % {_by_group('g2', 'prefixes')} AS p2, a2 // {_by_group('g2', 'prefixes')} AS h2
    FROM (SELECT *, hash(i * 11) % {_by_group('g1', 'addresses')} AS a1,
                    hash(i * 13) % {_by_group('g2', 'addresses')} AS a2
          FROM (SELECT i, i % 20 AS r, i % 20 < 8 AND (i // 20) % 2 = 1 AS response,
                       CASE WHEN i % 20 < 8 THEN 'users' WHEN i % 20 < 12 THEN 'storage'
                            ELSE 'general' END AS g1,
                       CASE WHEN i % 20 < 2 THEN 'partner' WHEN i % 20 < 8 THEN 'general'
                            WHEN i % 20 < 12 THEN 'storage' ELSE 'general' END AS g2
                FROM range($events) t(i)))
),
ends AS (
    SELECT f.i, f.r, f.response,
           {_address('e1', 'f.h1')} AS ip1, {_host('e1', 'f.a1', 'f.h1')} AS host1,
           {_address('e2', 'f.h2')} AS ip2, {_host('e2', 'f.a2', 'f.h2')} AS host2,
           1024 + hash(f.i * 31) % 64000 AS eph_port,
           CASE WHEN f.r < 8 THEN 443 WHEN f.r < 12 THEN 873
                ELSE [443, 80, 22, 53][CAST(1 + hash(f.i * 37) % 4 AS BIGINT)] END AS svc_port,
           CASE WHEN f.r BETWEEN 8 AND 11 THEN hash(f.i * 43) % 1000000000
                WHEN f.r < 8 THEN hash(f.i * 43) % 1000000 ELSE hash(f.i * 43) % 100000 END AS nbytes
    FROM flows f
    JOIN __pool e1 ON e1.grp = f.g1 AND e1.p = f.p1
    JOIN __pool e2 ON e2.grp = f.g2 AND e2.p = f.p2
)
SELECT 't' || i,
       TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds(i * 31536000 // $events),
       TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds(i * 31536000 // $events + 1 + hash(i * 29) % 600),
       CASE WHEN response THEN ip2 ELSE ip1 END, CASE WHEN response THEN svc_port ELSE eph_port END,
       CASE WHEN response THEN ip1 ELSE ip2 END, CASE WHEN response THEN eph_port ELSE svc_port END,
       CASE WHEN svc_port = 53 THEN 'udp' ELSE 'tcp' END,
       nbytes, 1 + nbytes // 1400,
       CASE WHEN response THEN host2 ELSE host1 END, CASE WHEN response THEN host1 ELSE host2 END,
       CASE WHEN r BETWEEN 8 AND 11 THEN [NULL, 'us_user_data', 'sg_user_data', 'eu_user_data'][CAST(1 + hash(i * 41) % 4 AS BIGINT)]
            WHEN r < 8 AND i % 10 = 3 THEN 'us_user_data' END,
       CASE WHEN r BETWEEN 8 AND 11 THEN 'export' ELSE 'other' END,
       CASE WHEN i % 40 = 0 THEN 'failure' ELSE 'success' END,
       'bench', 'bench', i
FROM ends
"""

# The baselines. count(*) over a view runs every join of the view. count(*) of a base table
# alone is answered from DuckDB's metadata (about 1 ms), so the base scan reads every row of the
# columns the views join on and the queries filter on.
VIEW_COUNT = {"access": "SELECT count(*) FROM access_enriched",
              "transfer": "SELECT count(*) FROM transfer_enriched"}
BASE_SCAN = {
    "access": "SELECT count(*), max(ts), sum(bytes), max(src_ip), max(actor_id), max(resource), max(outcome) "
              "FROM access_events",
    "transfer": "SELECT count(*), max(ts_start), sum(bytes), max(src_ip), max(dst_ip), max(src_host), "
                "max(dataset), max(outcome) FROM transfer_events",
}


def reads(query) -> tuple[set[str], set[str]]:
    """The enriched views and the event tables (access / transfer) a query's SQL names."""
    sql = re.sub(r"--[^\n]*", "", query.text)
    views = {t for t in ("access", "transfer") if re.search(rf"\b{t}_enriched\b", sql)}
    tables = views | {t for t in ("access", "transfer") if re.search(rf"\b{t}_events\b", sql)}
    return views, tables


def required(query) -> list[str]:
    """The parameters the query's header marks ``required``."""
    return [name for name, p in query.params.items()
            if getattr(p, "required", False)
            or re.search(rf"^--\s*param\s+{name}\s+[A-Z]+\s+required\b", query.text, re.M)]


def plan(queries, known: dict | None = None) -> dict[str, dict]:
    """Each query's parameters: the required ones from ``known`` (default KNOWN_VALUES),
    partner_org wherever it is declared; the others at their defaults. Stops on a required
    parameter it has no value for."""
    known = KNOWN_VALUES if known is None else known
    out = {}
    for q in queries:
        unknown = [p for p in required(q) if p not in known]
        if unknown:
            sys.exit(f"benchmarks/queries.py: query {q.name} requires the parameter {unknown[0]} "
                     f"({q.params[unknown[0]].doc}), and this benchmark has no value for it: "
                     f"add one to KNOWN_VALUES")
        out[q.name] = {p: known[p] for p in q.params if p in required(q) or p in ALWAYS_GIVEN}
    return out


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def _operators(node, depth=0):
    """Every operator of a DuckDB JSON profile, depth first: (depth, node)."""
    yield depth, node
    for child in node.get("children", []):
        yield from _operators(child, depth + 1)


def profile(ws, name: str, params: dict, path: Path, top: int = 8) -> None:
    """Run one query once with DuckDB's profiler on and print where its time went: the engine's
    total and CPU time against the wall time with the DataFrame, and the costliest operators."""
    ws.sql("SET enable_profiling = 'json'")
    ws.sql(f"SET profiling_output = '{path}'")
    try:
        seconds, df = timed(lambda: inv.run_query(ws, name, **params))
        del df
    finally:
        ws.sql("RESET enable_profiling")
    data = json.loads(path.read_text(encoding="utf-8"))
    q, system = data.get("query", {}), data.get("system", {})
    roots = data.get("operator") or data.get("children") or []
    nodes = [(d, n) for root in roots for d, n in _operators(root)]
    timing = lambda n: n.get("timing", n.get("operator_timing", 0.0)) or 0.0
    total = sum(timing(n) for _, n in nodes) or 1.0
    print(f"\nprofile of {name}: wall {seconds:.2f}s with the DataFrame; engine {q.get('total_time', 0):.2f}s "
          f"(CPU {q.get('cpu_time', 0):.2f}s over the operators), peak buffer memory "
          f"{system.get('peak_buffer_memory', 0) / 2**30:.2f} GB, spilled {system.get('total_bytes_spilled', 0) / 2**30:.2f} GB")
    print(f"  costliest operators (share of the operators' summed time; rows out):")
    for d, n in sorted(nodes, key=lambda dn: -timing(dn[1]))[:top]:
        extra = n.get("extra_info", {})
        detail = "; ".join(f"{k}: {v if isinstance(v, str) else ', '.join(map(str, v))}" for k, v in extra.items()
                           if k in ("Table", "Join Type", "Conditions", "Groups", "Aggregates", "Order By", "Filters"))
        rows = n.get("intermediate_rows", n.get("operator_cardinality", 0))
        print(f"  {timing(n) / total:6.1%} {timing(n):7.2f}s  depth {d:2}  {n.get('name', n.get('operator_name', '?')):<22}"
              f" {rows:>12,}  {detail[:110]}")


def build(ws, tmp: Path, events: int, ranges: int, actors: int) -> None:
    inventory = tmp / "inventory.csv"
    t = time.perf_counter()
    n_ranges, slots4, slots6 = write_inventory(inventory, ranges)
    extra = extra_inventory()
    with open(inventory, "a", encoding="utf-8") as fh:
        fh.writelines(",".join(row[1:]) + "\n" for row in extra)
    roster, catalogue, policy = write_roster_catalogue_policy(tmp, actors)
    ws.sql(EVENTS_SQL, {"events": events, "slots4": slots4, "slots6": slots6, "actors": actors})
    pool = address_pool(inventory, extra)
    prefixes = pool.groupby("grp").size().to_dict()
    addresses = {"general": max(events // 10, 1000), "users": max(events // 100, 1000),
                 "partner": max(events // 1000, 1000), "storage": 40 * prefixes["storage"]}
    ws.con.register("__pool_df", pool)
    ws.sql("CREATE TEMP TABLE __pool AS SELECT * FROM __pool_df")
    ws.con.unregister("__pool_df")
    ws.sql(TRANSFERS_SQL, {"events": events, **{f"prefixes_{g}": prefixes[g] for g in GROUPS},
                           **{f"addresses_{g}": addresses[g] for g in GROUPS}})
    ws.sql("DROP TABLE __pool")
    ws.sql("CHECKPOINT")
    print(f"generated {events:,} access events, {events:,} transfer events and {n_ranges + len(extra):,} "
          f"prefixes ({len(extra)} of them users, partner and storage) in {time.perf_counter() - t:.1f}s")
    seconds = load_references(ws, inventory, roster, catalogue, policy)
    located = ws.sql("SELECT count(*) FROM address_locations").fetchone()[0]
    print(f"loaded the inventory and located {located:,} distinct addresses in {seconds:.1f}s")
    row = ws.sql("""SELECT count(*), count(*) FILTER (WHERE src_country IS NOT NULL AND dst_country IS NOT NULL),
                           count(data_category), count(*) FILTER (WHERE dst_country <> data_jurisdiction),
                           count(*) FILTER (WHERE coalesce(src_kind = 'users', false) <> coalesce(dst_kind = 'users', false)),
                           count(*) FILTER (WHERE src_org = $p OR dst_org = $p)
                    FROM transfer_enriched""", {"p": PARTNER_ORG}).fetchone()
    print(f"transfers: {row[0]:,}, both ends located {row[1]:,}, with a data category {row[2]:,} "
          f"(to another country than its jurisdiction {row[3]:,}), user traffic {row[4]:,}, "
          f"with the partner {row[5]:,}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="access events, and as many transfers")
    parser.add_argument("--ranges", type=int, default=500_000)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--actors", type=int, default=2000)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="then run the N slowest queries once more under DuckDB's profiler")
    parser.add_argument("--profile-dir", default=None, help="keep the JSON profiles there")
    args = parser.parse_args(argv)
    queries = inv.list_queries()
    params = plan(queries)  # before building: a query this script cannot run stops it here
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ws = inv.Workspace.open(Path(tmp) / "bench.duckdb", memory_limit=args.memory_limit)
        build(ws, Path(tmp), args.events, args.ranges, args.actors)

        def baselines() -> dict[str, list[float]]:
            out = {}
            for label, sqls in (("view count", VIEW_COUNT), ("base scan", BASE_SCAN)):
                for table, sql in sqls.items():
                    out[f"{label} {table}"] = [timed(lambda: ws.sql(sql).fetchall())[0] for _ in range(args.runs)]
            return out

        # Baselines before and after the queries, so a drift of the machine over the run shows.
        before = baselines()
        results, errors = {}, {}
        for q in queries:
            views, tables = reads(q)
            times, rows = [], None
            try:
                for _ in range(args.runs):
                    seconds, df = timed(lambda: inv.run_query(ws, q.name, **params[q.name]))
                    times.append(seconds)
                    rows = len(df)
                    del df
            except Exception as exc:  # reported, and the other queries still run
                errors[q.name] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
                continue
            results[q.name] = (statistics.median(times), times, rows, views, tables)
        after = baselines()
        base = {k: statistics.median(before[k] + after[k]) for k in before}

        def runs(xs):
            return ", ".join(f"{x:.2f}" for x in xs)

        print(f"\nbaselines (median of {2 * args.runs}: {args.runs} before the queries, {args.runs} after)")
        for k in before:
            print(f"  {k:<20} {base[k]:6.2f}s (runs: {runs(before[k])} | {runs(after[k])})")
        for table in ("access", "transfer"):
            print(f"  {table}: view count / base scan = {base['view count ' + table] / base['base scan ' + table]:.2f}")
        print(f"\nqueries (median of {args.runs}; result fetched as a DataFrame; target: at most "
              f"{TARGET:g}x the count(*) of the view(s) read)")
        print(f"{'query':<30} {'seconds':>8} {'/ view count':>13} {'/ base scan':>12} {'rows':>11}  reads")
        misses = []
        for name, (t, times, rows, views, tables) in results.items():
            view_ratio = t / sum(base[f"view count {v}"] for v in views) if views else None
            scan_ratio = t / sum(base[f"base scan {b}"] for b in tables) if tables else None
            what = " + ".join(f"{v}_enriched" for v in sorted(views)) or \
                " + ".join(f"{b}_events" for b in sorted(tables)) or "no event table"
            print(f"{name:<30} {t:8.2f} {'-' if view_ratio is None else f'{view_ratio:.2f}':>13} "
                  f"{'-' if scan_ratio is None else f'{scan_ratio:.2f}':>12} {rows:>11,}  {what}"
                  f"   (runs: {runs(times)})")
            if view_ratio is not None and view_ratio > TARGET:
                misses.append(f"MISS {name}: {t:.2f}s = {view_ratio:.1f}x the count(*) of {what} "
                              f"(target: at most {TARGET:g}x)")
        for line in misses:
            print(line)
        for name, err in errors.items():
            print(f"ERROR {name}: {err}")
        slowest = sorted(results, key=lambda n: -results[n][0])[:args.profile]
        for name in slowest:
            path = Path(tmp) / f"profile-{name}.json"
            profile(ws, name, params[name], path)
            if args.profile_dir:
                Path(args.profile_dir).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, Path(args.profile_dir) / path.name)
        print(f"peak resident memory of the process: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.1f} GB (memory limit {args.memory_limit})")
        ws.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
