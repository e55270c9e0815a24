"""What the benchmarks share: run a timed load in a fresh process, and compare two of them.

Each timed run is a fresh Python process (so one run's memory does not count in the other's
peak) that prints ``seconds rows peak_rss_kb`` on its last line.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Callable

# argv: file, workspace path, memory limit, format
INVESTIGATE_RUN = """
import sys, time, resource
import investigate as inv
ws = inv.Workspace.open(sys.argv[2], memory_limit=sys.argv[3])
t = time.perf_counter()
r = inv.ingest_file(ws, sys.argv[1], sys.argv[4])
print(time.perf_counter() - t, r.rows_loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
assert r.rows_rejected == 0, r.rejects[:3]
"""


def run(code: str, *args: str) -> tuple[float, int, int]:
    """Run ``code`` in a fresh interpreter with ``args``; its seconds, rows and peak RSS (KiB)."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    seconds, rows, peak_kb = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(rows), int(peak_kb)


def compare(data: Path, fmt: str, memory_limit: str, baseline_label: str, baseline_code: str) -> float:
    """Time DuckDB's own reader and the loader on ``data``, print both and the ratio."""
    size_mb = data.stat().st_size / 2**20
    results = {}
    for label, code in ((baseline_label, baseline_code), (f"investigate {fmt}", INVESTIGATE_RUN)):
        db = data.with_name(f"{label.split()[0]}.duckdb")
        seconds, rows, peak_kb = run(code, str(data), str(db), memory_limit, fmt)
        results[label] = seconds
        print(f"{label:<24} {seconds:7.1f}s {size_mb / seconds:8.1f} MB/s {rows / seconds:11,.0f} records/s "
              f"peak RSS {peak_kb / 1024:,.0f} MB (memory limit {memory_limit})")
        db.unlink(missing_ok=True)
    ratio = results[baseline_label] / results[f"investigate {fmt}"]
    print(f"ratio (investigate rate / duckdb rate): {ratio:.2f}  (target >= 0.50)")
    return ratio


def write_lines(path: Path, size_mb: int, make_line: Callable[[random.Random, int], str],
                head: str = "") -> int:
    """Write ``head`` then seeded lines until the file reaches ``size_mb``; return the line count."""
    rng = random.Random(20221)
    target = size_mb * 1024 * 1024
    n, written, batch = 0, len(head), []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(head)
        while written < target:
            line = make_line(rng, n) + "\n"
            batch.append(line)
            written += len(line)
            n += 1
            if len(batch) == 20000:
                fh.write("".join(batch))
                batch = []
        fh.write("".join(batch))
    return n
