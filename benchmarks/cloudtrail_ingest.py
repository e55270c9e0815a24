"""Throughput of the cloudtrail loader against DuckDB's own read_json, in the same run.

    python benchmarks/cloudtrail_ingest.py [--size-mb 1100] [--memory-limit 1GB] [--dir DIR]

Writes a CloudTrail JSON Lines file of the given size (CloudTrail Lake / Athena export shape:
management and S3 data events, several identity types), then times, each in a fresh process:

1. ``duckdb``: ``CREATE TABLE t AS SELECT * FROM read_json(file)`` into a DuckDB file: the
   fastest this machine can turn the file into a table (the limit);
2. ``investigate``: ``ingest_file(ws, file, "cloudtrail")`` into a workspace file, with the
   workspace's memory limit set below the file's size.

Prints MB/s and records/s for both, the ratio, and each process's peak resident memory. The
target (issue 3): the loader reaches at least half DuckDB's rate, and its peak memory stays
under the memory limit although the file is larger than that limit.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from common import compare, write_lines

IDENTITIES = [
    {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice",
     "accountId": "111122223333", "principalId": "AIDAEXAMPLE1"},
    {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Analyst/wei.zhang@example.com",
     "accountId": "111122223333", "principalId": "AROAEXAMPLE:wei.zhang@example.com",
     "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "Analyst"},
                        "attributes": {"mfaAuthenticated": "true", "creationDate": "2022-01-05T07:00:00Z"}}},
    {"type": "AWSService", "invokedBy": "backup.amazonaws.com"},
    {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"},
]


def make_record(rng: random.Random, i: int) -> dict:
    t = 1641369600 + i // 10
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{i % 1000:03d}Z"
    kind = rng.random()
    record = {"eventVersion": "1.08", "userIdentity": rng.choice(IDENTITIES), "eventTime": ts,
              "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1",
              "sourceIPAddress": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}" if kind > 0.05
              else "s3.amazonaws.com", "userAgent": "[aws-cli/2.9.1 Python/3.9.11 Linux/5.15 botocore/2.0.0]",
              "eventID": f"{rng.getrandbits(128):032x}", "readOnly": True, "eventType": "AwsApiEvent",
              "managementEvent": False, "recipientAccountId": "111122223333", "eventCategory": "Data",
              "requestID": f"{rng.getrandbits(64):016X}"}
    if kind < 0.7:
        key = f"profiles/part-{rng.randrange(100000):05d}.parquet"
        record.update(eventName="GetObject",
                      requestParameters={"bucketName": "rr-us-userdata", "key": key, "Host": "rr-us-userdata.s3.amazonaws.com"},
                      additionalEventData={"bytesTransferredOut": float(rng.randrange(10**7)), "bytesTransferredIn": 0.0,
                                           "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "x-amz-id-2": "a" * 60},
                      resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::rr-us-userdata/{key}"},
                                 {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::rr-us-userdata"}])
    elif kind < 0.9:
        record.update(eventName="DescribeInstances", eventSource="ec2.amazonaws.com", managementEvent=True,
                      eventCategory="Management",
                      requestParameters={"instancesSet": {}, "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "data"}]}}]}},
                      responseElements=None)
    else:
        record.update(eventName="ConsoleLogin", eventSource="signin.amazonaws.com",
                      responseElements={"ConsoleLogin": "Success" if kind < 0.98 else "Failure"},
                      additionalEventData={"MFAUsed": "Yes", "LoginTo": "https://console.aws.amazon.com/"})
    return record


def write_file(path: Path, size_mb: int) -> int:
    return write_lines(path, size_mb, lambda rng, n: json.dumps(make_record(rng, n), separators=(",", ":")))


DUCKDB_RUN = """
import duckdb, sys, time, resource
con = duckdb.connect(sys.argv[2], config={"memory_limit": sys.argv[3]})
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')", [sys.argv[1]])
n = con.execute("SELECT count(*) FROM t").fetchone()[0]
print(time.perf_counter() - t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1100)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--dir", default=None, help="where the generated file goes (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        data = Path(tmp) / "cloudtrail.jsonl"
        t = time.perf_counter()
        records = write_file(data, args.size_mb)
        size_mb = data.stat().st_size / 2**20
        print(f"generated {records:,} records, {size_mb:,.0f} MB in {time.perf_counter() - t:.1f}s")
        compare(data, "cloudtrail", args.memory_limit, "duckdb read_json", DUCKDB_RUN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
