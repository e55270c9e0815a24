"""What an access event touches: operation, resource name and payload size.

Resource names come from small fixed families (tables, prefixes, part
numbers) so the set of distinct names stays bounded at any scale, and every
name matches exactly one best entry of the data catalogue.
"""

from __future__ import annotations

import math
import random
from datetime import date

US_S3_PREFIXES = ("profiles", "watch-history", "messages", "device-ids", "contacts")
US_TABLES = ("profiles", "watch_history", "devices", "contacts", "follows")
SG_TABLES = ("profiles", "watch_history", "devices")
METRICS = ("daily_active", "retention", "watch_time")


def partner_copy_share(d: date) -> float:
    """Share of US user-data object reads served from the partner-cloud copy."""
    if d < date(2022, 1, 1):
        return 0.0
    return min(0.6, (d - date(2022, 1, 1)).days / 300.0)


def pick_target(rng: random.Random, kind: str, d: date) -> tuple[str, str]:
    """Operation and resource for an event of ``kind`` on date ``d``.

    Resource names come from bounded families so look-up caches stay small.
    """
    if kind == "login":
        return "Login", ""
    if kind == "us_user_data":
        if rng.random() < 0.45:
            table = f"db://us-prod/users.{rng.choice(US_TABLES)}"
            return ("ExportTable" if rng.random() < 0.07 else "SelectRows"), table
        bucket = "ibc-rr-userdata" if rng.random() < partner_copy_share(d) else "rr-us-userdata"
        prefix = f"s3://{bucket}/{rng.choice(US_S3_PREFIXES)}/"
        return _s3_op(rng, prefix, f"part-{rng.randrange(500):05d}.parquet")
    if kind == "sg_backup_us":
        snap = date.fromordinal(d.toordinal() - 1 - rng.randrange(7)).isoformat()
        prefix = f"s3://rr-sg-backup/us/{snap}/"
        if rng.random() < 0.2:
            return "ListBucket", prefix
        return "GetObject", prefix + f"users.{rng.choice(US_TABLES)}.snap"
    if kind == "sg_user_data":
        if rng.random() < 0.6:
            return "SelectRows", f"db://sg-prod/users.{rng.choice(SG_TABLES)}"
        snap = date.fromordinal(d.toordinal() - 1 - rng.randrange(7)).isoformat()
        return "GetObject", f"s3://rr-sg-backup/sg/{snap}/users.{rng.choice(SG_TABLES)}.snap"
    if kind == "analytics":
        if rng.random() < 0.4:
            return "SelectRows", f"db://us-prod/metrics_v{rng.randint(1, 2)}.{rng.choice(METRICS)}"
        day = date.fromordinal(d.toordinal() - rng.randrange(30)).isoformat()
        return _s3_op(rng, f"s3://rr-analytics/daily/{day}/", f"agg-{rng.randrange(20):02d}.parquet")
    if kind == "content":
        op = "PutObject" if rng.random() < 0.1 else "GetObject"
        return op, f"s3://rr-content/videos/v{rng.randrange(20000):07d}.mp4"
    raise ValueError(kind)


def _s3_op(rng: random.Random, prefix: str, key: str) -> tuple[str, str]:
    r = rng.random()
    if r < 0.10:
        return "ListBucket", prefix
    if r < 0.15:
        return "PutObject", prefix + key
    if r < 0.18:
        return "DeleteObject", prefix + key
    return "GetObject", prefix + key


def _loguniform(rng: random.Random, lo: float, hi: float) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def payload(rng: random.Random, op: str) -> tuple[int | None, int | None]:
    """Bytes out and rows returned of a successful operation (all < 1 GB)."""
    if op == "Login":
        return None, None
    if op == "GetObject":
        return _loguniform(rng, 20e3, 250e6), None
    if op == "ListBucket":
        return rng.randint(2_000, 80_000), rng.randint(1, 1000)
    if op in ("PutObject", "DeleteObject"):
        return rng.randint(150, 600), None
    if op == "SelectRows":
        rows = _loguniform(rng, 1, 50_000)
        return rows * rng.randint(200, 800), rows
    if op == "ExportTable":
        rows = rng.randint(100_000, 1_200_000)
        return rows * rng.randint(300, 700), rows
    raise ValueError(op)
