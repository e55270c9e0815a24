"""Throughput of the flow-log loaders against DuckDB's own read_csv, in the same run.

    python benchmarks/flow_ingest.py [--format vpc_flow|zeek_conn] [--size-mb 1100] [--memory-limit 1GB]

Writes a flow log of the given size (a VPC Flow Logs v2 file with a header line, or a Zeek
conn.log), then times, each in a fresh process: DuckDB's ``read_csv`` of the file into a table
(all columns as text: the limit), and ``ingest_file(ws, file, FORMAT)`` into a workspace whose
memory limit is below the file's size. Prints MB/s and records/s for both, the ratio and each
process's peak resident memory. The target (issue 4): within 2x of DuckDB's rate (ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from common import compare, write_lines

VPC_HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
              "start end action log-status")
ZEEK_FIELDS = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
               "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes "
               "resp_pkts resp_ip_bytes tunnel_parents").split()
ZEEK_TYPES = ("time string addr port addr port enum string interval count count string bool bool count "
              "string count count count count set[string]").split()


def vpc_line(rng: random.Random, i: int) -> str:
    start = 1656028800 + i // 20
    return (f"2 111122223333 eni-0{rng.getrandbits(60):015x} 198.51.{rng.randrange(256)}.{rng.randrange(256)} "
            f"10.10.{rng.randrange(256)}.{rng.randrange(256)} {rng.randrange(1024, 65535)} 443 6 "
            f"{rng.randrange(1, 500)} {rng.randrange(60, 10**7)} {start} {start + 60} ACCEPT OK")


def zeek_line(rng: random.Random, i: int) -> str:
    ts = 1656028800 + i / 20
    return "\t".join([f"{ts:.6f}", f"C{rng.getrandbits(64):016x}", f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
                      str(rng.randrange(1024, 65535)), f"10.10.{rng.randrange(256)}.{rng.randrange(256)}", "443",
                      "tcp", "ssl", f"{rng.random() * 30:.6f}", str(rng.randrange(10**6)), str(rng.randrange(10**7)),
                      "SF", "F", "T", "0", "ShADadFf", str(rng.randrange(500)), str(rng.randrange(10**6)),
                      str(rng.randrange(500)), str(rng.randrange(10**7)), "(empty)"])


def write_file(path: Path, fmt: str, size_mb: int) -> int:
    if fmt == "vpc_flow":
        return write_lines(path, size_mb, vpc_line, VPC_HEADER + "\n")
    head = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
            f"#fields\t{chr(9).join(ZEEK_FIELDS)}\n#types\t{chr(9).join(ZEEK_TYPES)}\n")
    return write_lines(path, size_mb, zeek_line, head)


DUCKDB_RUN = """
import duckdb, sys, time, resource
con = duckdb.connect(sys.argv[2], config={"memory_limit": sys.argv[3]})
con.execute("SET enable_progress_bar = false")
delim, skip = (" ", 1) if sys.argv[4] == "vpc_flow" else ("\\t", 8)
t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, delim=?, skip=?, header=false, all_varchar=true)",
            [sys.argv[1], delim, skip])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(time.perf_counter() - t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="vpc_flow", choices=["vpc_flow", "zeek_conn"])
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        data = Path(tmp) / ("flows.log" if args.format == "vpc_flow" else "conn.log")
        t = time.perf_counter()
        records = write_file(data, args.format, args.size_mb)
        size_mb = data.stat().st_size / 2**20
        print(f"generated {records:,} {args.format} records, {size_mb:,.0f} MB in {time.perf_counter() - t:.1f}s")
        compare(data, args.format, args.memory_limit, "duckdb read_csv", DUCKDB_RUN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
