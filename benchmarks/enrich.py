"""Enrichment against a plain scan of the same events, in the same run.

    python benchmarks/enrich.py [--events 10000000] [--ranges 500000] [--memory-limit 4GB]

Builds a workspace with ``--events`` access events (IPv4 and IPv6 source addresses mixed, one
distinct address per ten events, resources and actors from catalogues of a few thousand)
and a network inventory of ``--ranges`` prefixes (IPv4 /24 and /16, IPv6 /48, nested), then
times, each three times (the median is reported):

1. ``scan``: ``CREATE TABLE AS SELECT * FROM access_events`` (reading every event and writing it
   back: what any pass over the events costs);
2. ``enrich``: looking up every distinct address and resource (``locate_addresses`` and
   ``categorise_resources`` from scratch), then ``CREATE TABLE AS SELECT * FROM access_enriched``.

Prints both, and the ratio enrich / scan (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import investigate as inv
from investigate.enrich.locate import categorise_resources, locate_addresses

# One distinct address per ten events (one in five IPv6), the ten spread over the year.
EVENTS_SQL = """
INSERT INTO access_events (event_id, ts, actor_id, actor_type, src_ip, action, raw_action, resource,
                           outcome, bytes, source_format, source_file, source_record)
SELECT 'e' || i, TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds(i % 31536000),
       'user' || (hash(i * 7) % 2000), 'human',
       CASE WHEN k % 5 = 0
            THEN printf('2001:%x:%x:%x::%x', 3512 + (k % $ranges6) // 65536, (k % $ranges6) % 65536,
                        (k // 7) % 16, k % 50)
            ELSE printf('%d.%d.%d.%d', 11 + k % 200, (k // 200) % 256, (k // 51200) % 256, k % 8) END,
       'read', 'GetObject', 's3://bucket-' || (hash(i * 19) % 50) || '/part-' || (hash(i * 23) % 5000),
       'success', hash(i) % 100000, 'bench', 'bench', i
FROM (SELECT i, hash(i * 3) % ($events // 10) AS k FROM range($events) t(i))
"""


def write_inventory(path: Path, n: int) -> int:
    """IPv4 /24s under /16s, and IPv6 /48s: ``n`` prefixes in all (CSV, inventory shape)."""
    rng = random.Random(7)
    lines = ["cidr,country,org,site,kind"]
    countries = ["US", "SG", "CN", "DE", "IN", "BR", "JP", "GB"]
    n6 = n // 5
    for a in range(11, 211):  # /16 parents, nested prefixes
        for b in range(0, 256, 64):
            lines.append(f"{a}.{b}.0.0/16,{rng.choice(countries)},ISP {a},,isp")
    while len(lines) - 1 < n - n6:
        a, b, c = rng.randrange(11, 211), rng.randrange(256), rng.randrange(256)
        lines.append(f"{a}.{b}.{c}.0/24,{rng.choice(countries)},Net {a}-{b},,")
    for k in range(n6):
        lines.append(f"2001:{0xdb8 + k // 65536:x}:{k % 65536:x}::/48,{rng.choice(countries)},V6 {k % 100},,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--ranges", type=int, default=500_000)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        ws = inv.Workspace.open(Path(tmp) / "bench.duckdb", memory_limit=args.memory_limit)
        inventory = Path(tmp) / "inventory.csv"
        t = time.perf_counter()
        n_ranges = write_inventory(inventory, args.ranges)
        ws.sql(EVENTS_SQL, {"events": args.events, "ranges6": args.ranges // 5})
        ws.sql("CHECKPOINT")
        print(f"generated {args.events:,} events and {n_ranges:,} prefixes in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        inv.load_reference(ws, "networks", inventory)
        flat = ws.sql("SELECT count(*) FROM network_ranges").fetchone()[0]
        print(f"loaded the inventory ({flat:,} disjoint ranges) in {time.perf_counter() - t:.1f}s")
        distinct = ws.sql("SELECT count(DISTINCT src_ip) FROM access_events").fetchone()[0]

        def scan():
            ws.sql("CREATE OR REPLACE TEMP TABLE out AS SELECT * FROM access_events")

        parts: dict[str, list[float]] = {"locate": [], "categorise": [], "write": []}

        def enrich():
            parts["locate"].append(timed(lambda: locate_addresses(ws, everything=True)))
            parts["categorise"].append(timed(lambda: categorise_resources(ws, everything=True)))
            parts["write"].append(timed(lambda: ws.sql(
                "CREATE OR REPLACE TEMP TABLE out AS SELECT * FROM access_enriched")))

        scans = [timed(scan) for _ in range(args.runs)]
        enriches = [timed(enrich) for _ in range(args.runs)]
        located = ws.sql("SELECT count(*), count(src_country) FROM out").fetchone()
        s, e = statistics.median(scans), statistics.median(enriches)
        print(f"{distinct:,} distinct addresses; {located[1]:,} of {located[0]:,} events located")
        print(f"scan    {s:6.2f}s (runs: {', '.join(f'{x:.2f}' for x in scans)})")
        print(f"enrich  {e:6.2f}s (runs: {', '.join(f'{x:.2f}' for x in enriches)}; medians: "
              + ", ".join(f"{k} {statistics.median(v):.2f}s" for k, v in parts.items()) + ")")
        print(f"ratio enrich / scan: {e / s:.2f}; enrichment adds {(e - s) / s:.2f}x the scan "
              "(target: adds at most 1.5x)")
        ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
