"""The peer baseline: a case's cross-border and transfer questions answered with plain pandas.

    python benchmarks/pandas_baseline.py path/to/case.yml

The same work done the way analysts do it today: ``read_csv`` and ``json.loads`` per line into
``json_normalize``, a per-row geo lookup with ``ipaddress`` (``Series.apply``), the roster and
catalogue mapped in Python, then ``groupby``. It is what the toolkit is timed against, so it does
the equivalent work as a competent analyst's script would: nothing deliberately slow (the
inventory dict is built once, only the prefix lengths it holds are tried), nothing exotic (no
caching of lookups across rows, no vectorised address arithmetic).

Each input's kind comes from its mapping file's name (``mappings/access_platform_audit.yml``
...); the column names per kind are hard-coded, as an analyst would. Case parameters and the
reference files come from the manifest. Prints one JSON line last: the results' sizes and
totals, ``seconds`` (``run`` only, not the imports) and ``peak_rss_kb``.
"""

from __future__ import annotations

import fnmatch
import gzip
import ipaddress
import json
import re
import resource
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import yaml

ACCESS_COLUMNS = ["ts", "actor", "src_ip", "action", "resource", "outcome", "bytes"]
NO_NETWORK = (None, None, None, None)  # country, org, site, kind of an address in no prefix


def read_csv_counting(path, **kwargs) -> tuple[pd.DataFrame, int]:
    """``pd.read_csv`` that skips lines with too many fields and says how many it skipped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = pd.read_csv(path, on_bad_lines="warn", **kwargs)
    return df, sum(str(w.message).count("Skipping line") for w in caught)


def finish(df: pd.DataFrame, raw_bytes: pd.Series, skipped: int) -> tuple[pd.DataFrame, int]:
    """Drop what the coercions could not read: no time, bytes that are not a number, or no
    outcome (a line cut short: the fields after the break are missing)."""
    bad = df["ts"].isna() | df["outcome"].isna() | (raw_bytes.notna() & df["bytes"].isna())
    return df.loc[~bad, ACCESS_COLUMNS], skipped + int(bad.sum())


def read_platform_audit(path: Path) -> tuple[pd.DataFrame, int]:
    """US platform audit: comma-delimited, ISO 8601 UTC times ending in Z."""
    # No usecols: with it the parser no longer notices a line with a field too many.
    raw, skipped = read_csv_counting(path, keep_default_na=False, na_values=[""])
    df = pd.DataFrame({
        "ts": pd.to_datetime(raw["event_time"], format="ISO8601", utc=True, errors="coerce"),
        "actor": raw["principal"], "src_ip": raw["client_ip"], "action": raw["operation"],
        "resource": raw["object"],
        "outcome": raw["result"].map({"OK": "success", "DENIED": "failure"}),
        "bytes": pd.to_numeric(raw["bytes_out"], errors="coerce"),
    })
    return finish(df, raw["bytes_out"], skipped)


def read_apac_gateway(path: Path) -> tuple[pd.DataFrame, int]:
    """APAC gateway: ';'-delimited, German headers, '-' for null, naive Singapore wall time."""
    # keep_default_na=False: pandas would otherwise read a bytes value 'n/a' as null and keep
    # a row the export garbled; only '' and '-' mean null here.
    raw, skipped = read_csv_counting(path, sep=";", keep_default_na=False, na_values=["", "-"])
    local = pd.to_datetime(raw["Zeit"], format="%d.%m.%Y %H:%M:%S", errors="coerce")
    ts = local.dt.tz_localize("Asia/Singapore").dt.tz_convert("UTC")
    # About 2% of rows carry ISO 8601 with an offset (Z or +08:00) instead: parse those as such.
    iso = pd.to_datetime(raw["Zeit"].where(ts.isna()), format="ISO8601", utc=True, errors="coerce")
    df = pd.DataFrame({
        "ts": ts.fillna(iso),
        "actor": raw["Benutzer"], "src_ip": raw["Quell-IP"], "action": raw["Aktion"],
        "resource": raw["Ressource"],
        "outcome": raw["Status"].map({"ALLOW": "success", "DENY": "failure"}),
        "bytes": pd.to_numeric(raw["Bytes"], errors="coerce"),
    })
    return finish(df, raw["Bytes"], skipped)


def read_edge_flows(path: Path) -> tuple[pd.DataFrame, int]:
    """Edge flows: gzip JSON Lines, one object per line; broken lines are skipped and counted."""
    records, bad = [], 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                bad += 1
    raw = pd.json_normalize(records)
    df = pd.DataFrame({
        "ts": pd.to_datetime(raw["start"], format="ISO8601", utc=True, errors="coerce"),
        "src_ip": raw["src_addr"], "dst_ip": raw["dst_addr"],
        "bytes": pd.to_numeric(raw["bytes"], errors="coerce"),
        "outcome": None,  # a flow summary has no outcome: it counts as traffic
    })
    return df.dropna(subset=["ts"]), bad + int(df["ts"].isna().sum())


def read_backup_jobs(path: Path) -> tuple[pd.DataFrame, int]:
    """Backup jobs: comma-delimited, ISO 8601 times with +00:00."""
    raw, skipped = read_csv_counting(path)
    df = pd.DataFrame({
        "ts": pd.to_datetime(raw["started_at"], format="ISO8601", utc=True, errors="coerce"),
        "src_ip": raw["src_ip"], "dst_ip": raw["dst_ip"],
        "bytes": pd.to_numeric(raw["bytes_copied"], errors="coerce"),
        "outcome": raw["status"].map({"success": "success", "failed": "failure"}),
    })
    return df.dropna(subset=["ts"]), skipped + int(df["ts"].isna().sum())


READERS = {  # mapping file name -> (table, reader)
    "access_platform_audit": ("access", read_platform_audit),
    "access_apac_gateway": ("access", read_apac_gateway),
    "edge_flows": ("transfer", read_edge_flows),
    "backup_jobs": ("transfer", read_backup_jobs),
}


def make_geo_lookup(inventory_csv: Path):
    """A per-address longest-prefix lookup over the inventory, built once: a dict keyed by
    network, tried from the longest prefix length the inventory holds to the shortest."""
    inv = pd.read_csv(inventory_csv, keep_default_na=False, na_values=[""])
    networks = {}
    for row in inv.itertuples(index=False):
        networks[ipaddress.ip_network(row.cidr, strict=False)] = (row.country, row.org, row.site, row.kind)
    lengths = {v: sorted({n.prefixlen for n in networks if n.version == v}, reverse=True) for v in (4, 6)}

    def lookup(ip):
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:  # empty (NaN) or not an address
            return NO_NETWORK
        for plen in lengths[addr.version]:
            hit = networks.get(ipaddress.ip_network((addr, plen), strict=False))
            if hit is not None:
                return hit
        return NO_NETWORK

    return lookup


def locate(df: pd.DataFrame, column: str, lookup, prefix: str) -> None:
    """Add ``<prefix>_country/_org/_site/_kind`` from one lookup per row."""
    hits = df[column].apply(lookup)
    cols = [f"{prefix}_{c}" for c in ("country", "org", "site", "kind")]
    df[cols] = pd.DataFrame(hits.tolist(), index=df.index, columns=cols)


def answer(manifest_path: str | Path) -> dict:
    """Read, enrich and answer: the frames (``access``, ``transfers``, ``summary``, ``routes``,
    ``share``) and the row counts (``rows_by_kind``, ``dropped``)."""
    manifest_path = Path(manifest_path)
    case = yaml.safe_load(manifest_path.read_text())
    base = manifest_path.parent
    jurisdiction, category = case["jurisdiction"], case["protected_category"]
    partner = case["partner_org"]
    start, end = (pd.Timestamp(case["period"][k]) for k in ("start", "end"))

    # 1. Read every input by kind; several files of one kind are concatenated.
    frames = {"access": [], "transfer": []}
    dropped = {"access": 0, "transfer": 0}
    rows_by_kind = {}
    for item in case["inputs"]:
        kind = Path(item["mapping"]).stem
        if kind not in READERS:
            raise SystemExit(f"no reader for inputs of mapping {item['mapping']}")
        table, reader = READERS[kind]
        where = base / item["path"]
        # An input may be a folder of monthly exports: every file in it, in name order.
        for path in sorted(p for p in where.iterdir() if p.is_file()) if where.is_dir() else [where]:
            df, bad = reader(path)
            frames[table].append(df)
            dropped[table] += bad
            rows_by_kind[kind] = rows_by_kind.get(kind, 0) + len(df)
    acc = pd.concat(frames["access"], ignore_index=True)
    tr = pd.concat(frames["transfer"], ignore_index=True)
    n_read = len(acc) + len(tr)
    acc = acc[(acc["ts"] >= start) & (acc["ts"] < end)].copy()  # the case period, end exclusive
    tr = tr[(tr["ts"] >= start) & (tr["ts"] < end)].copy()
    outside_period = n_read - len(acc) - len(tr)

    # 2. Geo: one lookup per row (src for accesses, both ends for transfers).
    ref = {k: base / v for k, v in case["reference"].items()}
    lookup = make_geo_lookup(ref["networks"])
    locate(acc, "src_ip", lookup, "src")
    locate(tr, "src_ip", lookup, "src")
    locate(tr, "dst_ip", lookup, "dst")

    # 3. Roster: every identity (actor_id or alias) -> the person, and the person's home country
    # (the sample separates aliases with ';', other rosters with ',' or '|': accept all three).
    roster = pd.read_csv(ref["actors"], keep_default_na=False, dtype=str)
    person = {}
    for row in roster.itertuples(index=False):
        person[row.actor_id] = row.actor_id
        for alias in re.split(r"[;,|]", row.aliases):
            if alias.strip():
                person[alias.strip()] = row.actor_id
    home = dict(zip(roster["actor_id"], roster["home_country"].replace("", None)))
    acc["person"] = acc["actor"].map(person).fillna(acc["actor"])  # unknown identities as they are
    acc["home_country"] = acc["person"].map(home)  # joined as analysts do; 4a goes by network

    # Catalogue: the most specific pattern wins, taken here as the longest (e.g.
    # s3://rr-sg-backup/us/* before s3://rr-sg-backup/*); fnmatchcase, as resources are
    # case-sensitive. One match per row, like the geo lookup.
    catalogue = pd.read_csv(ref["assets"], keep_default_na=False, na_values=[""])
    patterns = sorted(zip(catalogue["resource_pattern"], catalogue["data_category"],
                          catalogue["jurisdiction"]), key=lambda p: len(p[0]), reverse=True)

    def categorise(res):
        if isinstance(res, str):
            for pattern, cat, juris in patterns:
                if fnmatch.fnmatchcase(res, pattern):
                    return cat, juris
        return None, None

    acc[["data_category", "data_jurisdiction"]] = pd.DataFrame(
        acc["resource"].apply(categorise).tolist(), index=acc.index)

    # 4a. Cross-border access summary: successful accesses to the protected category from a
    # network outside the jurisdiction, per UTC month and country. An unknown network is not
    # counted (NaN != 'US' would be True in pandas, hence notna).
    acc["month"] = acc["ts"].dt.tz_convert(None).dt.to_period("M")
    scope = acc[(acc["data_category"] == category) & (acc["outcome"] == "success")
                & acc["src_country"].notna() & (acc["src_country"] != jurisdiction)]
    summary = (scope.groupby(["month", "src_country"])
               .agg(accesses=("ts", "size"), actors=("person", "nunique"), bytes=("bytes", "sum"))
               .reset_index())

    # 4b. Transfer routes: what moved (failed jobs moved nothing) per (src, dst) country, unknown
    # ends kept as NaN; and the partner's share of user traffic (flows from a 'users' network)
    # per month: bytes to a network of the partner's org over all such bytes.
    moved = tr[tr["outcome"] != "failure"].copy()
    routes = (moved.groupby(["src_country", "dst_country"], dropna=False)
              .agg(flows=("ts", "size"), bytes=("bytes", "sum")).reset_index())
    user = moved[moved["src_kind"] == "users"].copy()
    user["month"] = user["ts"].dt.tz_convert(None).dt.to_period("M")
    user["partner_bytes"] = user["bytes"].where(user["dst_org"] == partner, 0)
    share = user.groupby("month").agg(total_bytes=("bytes", "sum"), partner_bytes=("partner_bytes", "sum"))
    share["share"] = share["partner_bytes"] / share["total_bytes"]
    return {"access": acc, "transfers": tr, "summary": summary, "routes": routes, "share": share,
            "rows_by_kind": rows_by_kind, "dropped": dropped, "outside_period": outside_period}


def run(manifest_path: str | Path) -> dict:
    """The whole analysis; a small dict of what it found (sizes and totals), JSON-ready."""
    a = answer(manifest_path)
    summary, routes, share = a["summary"], a["routes"], a["share"]
    return {
        "access_rows": len(a["access"]), "access_rows_dropped": a["dropped"]["access"],
        "transfer_rows": len(a["transfers"]), "transfer_rows_dropped": a["dropped"]["transfer"],
        "rows_by_kind": a["rows_by_kind"], "outside_period": a["outside_period"],
        "summary_rows": len(summary), "summary_accesses": int(summary["accesses"].sum()),
        "summary_bytes": int(summary["bytes"].sum()),
        "routes_rows": len(routes), "routes_flows": int(routes["flows"].sum()),
        "routes_bytes": int(routes["bytes"].sum()),
        "partner_share_rows": len(share), "partner_bytes": int(share["partner_bytes"].sum()),
        "user_traffic_bytes": int(share["total_bytes"].sum()),
    }


if __name__ == "__main__":
    t0 = time.perf_counter()
    result = run(sys.argv[1])
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))
