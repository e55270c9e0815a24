"""The access events once more, in the formats real systems write (``exports_native/``).

The CSV exports (:mod:`.writers`) are what a helpful client hands over; these are the logs
themselves. Every access event the CSV writers write is written here too, once, to the log of
the system that would have recorded it:

* platform events on S3 objects and console logins: **AWS CloudTrail**, one gzip file per UTC
  day as CloudTrail delivers it to S3 (``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``),
  plus a few digest files (``CloudTrail-Digest/``) that hold hashes, not events;
* platform events on database tables: **PostgreSQL server logs with pgaudit** entries, one
  plain-text file per database and UTC month; a refused read leaves no AUDIT entry, only an
  ``ERROR: permission denied`` with its ``STATEMENT``; connection, checkpoint and other error
  messages sit between the entries as they do in a real log;
* APAC gateway events: **nginx access logs** (combined format) in Singapore local time, one
  gzip file per local month.

Each writer gets one UTC day's events at a time (with the CSV event id), numbers records as
the loaders do, plants its malformed records (:mod:`.malformed`) and reports records to
:class:`~.truth.Truth` (``native_rows``, ``native_rejects``). The facts themselves are counted
from the CSV side only; the native files carry the same events, so loading them must give the
same facts. Bytes depend on the seed only: separate random streams (the CSV bytes do not change
when a native writer does), LF line ends, gzip with ``mtime=0`` and no name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

from . import malformed
from .activity import AccessEvent
from .resolve import Resolver
from .timefmt import DAY_MS, SGT, day_start_ms, iso_ms, to_datetime, utc_date
from .truth import Truth
from .world import AddressPools

NATIVE_DIR = "exports_native"
ACCOUNT = "111122223333"
REGION = "us-east-1"
TRAIL = "rr-org-trail"
TRAIL_BUCKET = "rr-cloudtrail-logs"
CLOUDTRAIL_DIR = f"{NATIVE_DIR}/AWSLogs/{ACCOUNT}/CloudTrail/{REGION}"
DIGEST_DIR = f"{NATIVE_DIR}/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}"
PGAUDIT_DIR = f"{NATIVE_DIR}/postgresql"
GATEWAY_DIR = f"{NATIVE_DIR}/gateway"
GATEWAY_AGENT = "rr-gw/1.4"
BENIGN_CONTENT = "s3://rr-content/videos/v0001234.mp4"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _gzip_bytes(data: bytes) -> bytes:
    """Reproducible gzip: no file name, mtime 0, level 9."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def _write_bytes(out: Path, rel: str, data: bytes) -> None:
    path = out / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _split_s3(resource: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    bucket, _, key = resource.removeprefix("s3://").partition("/")
    return bucket, key


def _split_db(resource: str) -> tuple[str, str]:
    """``db://database/schema.table`` -> (database, schema.table)."""
    database, _, obj = resource.removeprefix("db://").partition("/")
    return database, obj


def _same_category(resolver: Resolver, native: str, csv_resource: str) -> None:
    """Refuse to write a native resource the catalogue places elsewhere than its CSV twin."""
    a, b = resolver.asset(native), resolver.asset(csv_resource)
    got = (a.category, a.jurisdiction) if a else None
    want = (b.category, b.jurisdiction) if b else None
    assert got == want, (native, got, csv_resource, want)


# -- CloudTrail ---------------------------------------------------------------------------------

S3_EVENT_NAMES = {"GetObject": "GetObject", "ListBucket": "ListObjects", "PutObject": "PutObject",
                  "DeleteObject": "DeleteObject"}


class CloudTrailWriter:
    """Daily ``{"Records": [...]}`` files (one line, gzip) and three digest files."""

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        self.out = out
        self.truth = truth
        self.rng = random.Random(f"{seed}/cloudtrail")
        self.seed = seed
        self.pending = list(malformed.CLOUDTRAIL_BAD)
        self.day: date | None = None
        self.records: list[tuple[dict, str | None]] = []  # (event, problem of a bad one)
        self.written: list[tuple[date, str, str, str, str]] = []  # day, rel, sha256, oldest, newest
        self.benign_ip = pools.v4["us-mtv-office"][1]
        self.principal_ids: dict[str, str] = {}

    # one event
    def _principal_id(self, principal: str) -> str:
        if principal not in self.principal_ids:
            digest = hashlib.sha256(f"{self.seed}/iam/{principal}".encode()).digest()
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            self.principal_ids[principal] = "AIDA" + "".join(alphabet[b % 32] for b in digest[:17])
        return self.principal_ids[principal]

    def _identity(self, principal: str) -> dict:
        return {"type": "IAMUser", "principalId": self._principal_id(principal),
                "arn": f"arn:aws:iam::{ACCOUNT}:user/{principal}", "accountId": ACCOUNT,
                "userName": principal}

    def _request_id(self) -> str:
        return f"{self.rng.getrandbits(64):016X}"

    def record(self, ev: AccessEvent, event_id: str) -> dict:
        """The CloudTrail event of one platform event (an S3 call or a console login)."""
        head = {"eventVersion": "1.08", "userIdentity": self._identity(ev.principal),
                "eventTime": iso_ms(ev.ms)}
        if ev.op == "Login":
            rec = {**head, "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                   "awsRegion": REGION, "sourceIPAddress": ev.ip, "userAgent": ev.agent}
            if not ev.ok:
                rec["errorMessage"] = "Failed authentication"
            rec.update({
                "requestParameters": None,
                "responseElements": {"ConsoleLogin": "Success" if ev.ok else "Failure"},
                "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                        "MobileVersion": "No", "MFAUsed": "Yes" if ev.ok else "No"},
                "eventID": event_id, "readOnly": False, "eventType": "AwsConsoleSignIn",
                "managementEvent": True, "recipientAccountId": ACCOUNT,
                "eventCategory": "Management"})
            return rec
        bucket, key = _split_s3(ev.resource)
        name = S3_EVENT_NAMES[ev.op]
        rec = {**head, "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": REGION,
               "sourceIPAddress": ev.ip, "userAgent": ev.agent}
        if not ev.ok:
            rec["errorCode"] = "AccessDenied"
            rec["errorMessage"] = "Access Denied"
        host = f"{bucket}.s3.{REGION}.amazonaws.com"
        if name == "ListObjects":
            params = {"list-type": "2", "bucketName": bucket, "prefix": key, "encoding-type": "url",
                      "Host": host}
            resources = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
        else:
            params = {"bucketName": bucket, "key": key, "Host": host}
            resources = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                         {"accountId": ACCOUNT, "type": "AWS::S3::Bucket",
                          "ARN": f"arn:aws:s3:::{bucket}"}]
        extra = {"SignatureVersion": "SigV4", "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                 "bytesTransferredIn": 0.0, "AuthenticationMethod": "AuthHeader"}
        if ev.nbytes is not None:
            extra["bytesTransferredOut"] = float(ev.nbytes)  # AWS writes 1234.0
        rec.update({"requestParameters": params, "responseElements": None,
                    "additionalEventData": extra, "requestID": self._request_id(),
                    "eventID": event_id, "readOnly": name in ("GetObject", "ListObjects"),
                    "resources": resources, "eventType": "AwsApiCall", "managementEvent": False,
                    "recipientAccountId": ACCOUNT, "eventCategory": "Data"})
        return rec

    @staticmethod
    def resource(ev: AccessEvent) -> str:
        """What the cloudtrail loader gives as resource (for checking the catalogue)."""
        if ev.op == "Login":
            return "signin.amazonaws.com"
        bucket, key = _split_s3(ev.resource)
        return f"arn:aws:s3:::{bucket}" if ev.op == "ListBucket" else f"arn:aws:s3:::{bucket}/{key}"

    # one day
    def write_day(self, d: date, events: list[tuple[AccessEvent, str]]) -> None:
        """Buffer day ``d``'s events (a file is written when the next one begins)."""
        if not events:
            return
        self._flush()
        self.day = d
        self.records = [(self.record(ev, event_id), None) for ev, event_id in events]
        self.day_ms = [ev.ms for ev, _ in events]
        while self.pending and self.pending[0].on <= d:
            self._plant(self.pending.pop(0))

    def _plant(self, bad: malformed.NativeBad) -> None:
        """Insert a bad event at a seeded place of the buffered day."""
        pos = self.rng.randrange(len(self.records) + 1)
        ms = self.day_ms[min(pos, len(self.day_ms) - 1)]
        benign = AccessEvent(ms, "mhayes", self.benign_ip, "us-mtv-office", "GetObject",
                             BENIGN_CONTENT, True, 734_512, None, "rr-cli/2.4.1 (linux; amd64)")
        event_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.records.insert(pos, (bad.make(self.record(benign, event_id)), bad.problem))

    def _flush(self) -> None:
        if self.day is None:
            return
        d = self.day
        stamp = d.strftime("%Y%m%d")
        rel = (f"{CLOUDTRAIL_DIR}/{d:%Y/%m/%d}/"
               f"{ACCOUNT}_CloudTrail_{REGION}_{stamp}T0000Z_{self.rng.getrandbits(32):08x}.json.gz")
        text = json.dumps({"Records": [r for r, _ in self.records]}, separators=(",", ":"),
                          ensure_ascii=False)
        data = _gzip_bytes(text.encode("utf-8"))
        _write_bytes(self.out, rel, data)
        for n, (_, problem) in enumerate(self.records, 1):
            self.truth.native_record(rel, n, problem)
        times = [r["eventTime"] for r, p in self.records if p is None]
        self.written.append((d, rel, hashlib.sha256(data).hexdigest(),
                             min(times)[:19] + "Z", max(times)[:19] + "Z"))
        self.day, self.records = None, []

    def close(self) -> None:
        """Write the last day (with any bad events still due) and the digest files."""
        if self.pending and self.day is None:
            raise ValueError("no CloudTrail events to plant the malformed ones among")
        while self.pending:  # due after the last day with events: in the last file
            self._plant(self.pending.pop(0))
        self._flush()
        self._digests()

    def _digests(self) -> None:
        """Three digest files (for the first, the middle and the last day file): hashes, not
        events. Each names its log file by sha256 and chains to the digest before it."""
        if not self.written:
            return
        picks = [self.written[0], self.written[len(self.written) // 2], self.written[-1]]
        previous: tuple[str, str] | None = None  # (object, sha256 of its JSON)
        for d, rel, sha, oldest, newest in dict.fromkeys(picks):
            end = d + timedelta(days=1)
            obj = (f"{DIGEST_DIR}/{end:%Y/%m/%d}/{ACCOUNT}_CloudTrail-Digest_{REGION}_{TRAIL}_"
                   f"{REGION}_{end:%Y%m%d}T000000Z.json.gz")
            doc = {
                "awsAccountId": ACCOUNT,
                "digestStartTime": f"{d.isoformat()}T00:00:00Z",
                "digestEndTime": f"{end.isoformat()}T00:00:00Z",
                "digestS3Bucket": TRAIL_BUCKET,
                "digestS3Object": obj.removeprefix(f"{NATIVE_DIR}/"),
                "digestPublicKeyFingerprint": f"{self.rng.getrandbits(128):032x}",
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": newest, "oldestEventTime": oldest,
                "previousDigestS3Bucket": TRAIL_BUCKET if previous else None,
                "previousDigestS3Object": previous[0] if previous else None,
                "previousDigestHashValue": previous[1] if previous else None,
                "previousDigestHashAlgorithm": "SHA-256" if previous else None,
                "previousDigestSignature": f"{self.rng.getrandbits(512):0128x}" if previous else None,
                "logFiles": [{"s3Bucket": TRAIL_BUCKET, "s3Object": rel.removeprefix(f"{NATIVE_DIR}/"),
                              "hashValue": sha, "hashAlgorithm": "SHA-256",
                              "newestEventTime": newest, "oldestEventTime": oldest}],
            }
            text = json.dumps(doc, separators=(",", ":")).encode("utf-8")
            _write_bytes(self.out, obj, _gzip_bytes(text))
            self.truth.native_skip(obj)
            previous = (doc["digestS3Object"], hashlib.sha256(text).hexdigest())


# -- PostgreSQL server logs with pgaudit -----------------------------------------------------------

# Platform operation -> pgaudit class and command (the case has no writes to tables).
PG_COMMANDS = {"SelectRows": ("READ", "SELECT"), "ExportTable": ("READ", "COPY")}
PG_DATABASES = ("us-prod", "sg-prod")
PG_PARAMETER = "<not logged>"


def _csv_field(text: str) -> str:
    """A pgaudit CSV field: quoted (quotes doubled) when it holds a comma, quote or line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _pg_time(ms: int) -> str:
    """``%m`` with log_timezone UTC: ``2021-09-14 03:12:45.123 UTC``."""
    return to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S") + f".{ms % 1000:03d} UTC"


def _statement(rng: random.Random, op: str, obj: str) -> str:
    """The SQL text of a read or export of ``obj`` (may span lines)."""
    if op == "ExportTable":
        return f"COPY {obj} TO STDOUT"
    if ".metrics" in f".{obj}":
        cols = "day, value" if rng.random() < 0.5 else "*"
        return f"SELECT {cols} FROM {obj} WHERE day >= $1"
    r = rng.random()
    if r < 0.06:  # a formatted query from a SQL editor: several lines
        return (f"SELECT t.user_id, t.updated_at, t.*\nFROM {obj} t\nWHERE t.updated_at >= $1\n"
                "ORDER BY t.updated_at")
    if r < 0.5:
        return f"SELECT * FROM {obj} WHERE user_id = ANY($1)"
    return f"SELECT * FROM {obj} WHERE updated_at >= $1"


class _PgLog:
    """One open ``postgresql-YYYY-MM.log.gz`` (rotated logs are kept compressed): its line
    count and the time of its last line."""

    def __init__(self, out: Path, database: str, month: date) -> None:
        self.rel = f"{PGAUDIT_DIR}/{database}/postgresql-{month:%Y-%m}.log.gz"
        self.path = out / self.rel
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.parts: list[str] = []
        self.month = month  # its first day
        nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        self.end_ms = day_start_ms(nxt)
        self.lines = 0
        self.last_ms = 0

    def entry(self, ms: int, text: str) -> int:
        """Write one entry (lines joined by newlines) at ``ms``; return its first line number."""
        assert ms >= self.last_ms, "log lines out of time order"
        self.parts.append(text + "\n")
        first = self.lines + 1
        self.lines += text.count("\n") + 1
        self.last_ms = ms
        return first

    def close(self) -> None:
        self.path.write_bytes(_gzip_bytes("".join(self.parts).encode("utf-8")))


class PgauditWriter:
    """Server logs of the two databases: pgaudit AUDIT entries among the server's messages.

    ``log_line_prefix = '%m [%p]: user=%u,db=%d,client=%h '``, ``log_timezone = UTC``,
    ``pgaudit.log = 'read, write'``, ``pgaudit.log_rows = on``, ``log_connections = on``,
    ``log_checkpoints = on``. A session is one principal at one address on one database for
    a UTC day: one pid, a ``connection authorized`` line, then its statements.
    """

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        self.out = out
        self.truth = truth
        self.rng = random.Random(f"{seed}/pgaudit")
        self.logs: dict[str, _PgLog] = {}
        self.pid = {db: 20_000 + self.rng.randrange(10_000) for db in PG_DATABASES}
        self.checkpointer = {db: 40 + self.rng.randrange(40) for db in PG_DATABASES}
        self.sessions: dict[tuple[str, str, str], list[int]] = {}  # (db, principal, ip) -> [pid, n]
        self.session_day: date | None = None
        self.pending = [b for b in malformed.PGAUDIT_BAD if b not in malformed.PGAUDIT_AT_END]
        self.pending_end = [b for b in malformed.PGAUDIT_BAD if b in malformed.PGAUDIT_AT_END]
        self.benign_ip = pools.v4["us-mtv-office"][1]

    @staticmethod
    def _prefix(ms: int, pid: int, user: str, db: str, client: str) -> str:
        """log_line_prefix = '%m [%p]: user=%u,db=%d,client=%h '."""
        return f"{_pg_time(ms)} [{pid}]: user={user},db={db},client={client} "

    @staticmethod
    def _continued(text: str) -> str:
        """PostgreSQL starts every continuation line of a message with a tab."""
        return text.replace("\n", "\n\t")

    def _new_pid(self, db: str) -> int:
        self.pid[db] = (self.pid[db] + self.rng.randint(1, 400)) % 4_194_304 or 300
        return self.pid[db]

    def _log(self, db: str, month: date) -> _PgLog:
        log = self.logs.get(db)
        if log is not None and log.month != month:
            self._close_log(db)
            log = None
        if log is None:
            log = self.logs[db] = _PgLog(self.out, db, month)
        return log

    def _close_log(self, db: str, last: bool = False) -> None:
        log = self.logs.pop(db)
        # The cut-off entry ends the first us-prod file of its month or later (or the last one).
        if db == "us-prod":
            while self.pending_end and (last or self.pending_end[0].on < utc_date(log.end_ms)):
                ms = min(log.end_ms - 1, log.last_ms + 1000 * self.rng.randint(5, 50))
                self._bad(log, self.pending_end.pop(0), ms)
        log.close()

    def _bad(self, log: _PgLog, bad: malformed.NativeBad, ms: int) -> None:
        pid = self._new_pid("us-prod")
        stmt = "SELECT day, value, note\nFROM metrics_v1.daily_active\nWHERE day >= $1"
        benign = (self._prefix(ms, pid, "mhayes", "us-prod", self.benign_ip)
                  + "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,metrics_v1.daily_active,"
                  + self._continued(_csv_field(stmt)) + f",{PG_PARAMETER},31")
        n = log.entry(ms, bad.make(benign))
        self.truth.native_record(log.rel, n, bad.problem)

    def resource(self, ev: AccessEvent) -> str:
        """What the pgaudit loader gives as resource for an AUDIT entry of ``ev``."""
        db, obj = _split_db(ev.resource)
        return f"db://{db}/{obj}"

    def write_day(self, d: date, events: list[AccessEvent]) -> None:
        """Write day ``d``'s database events, with the server's other messages between them."""
        if d != self.session_day:
            self.sessions, self.session_day = {}, d
        by_db: dict[str, list[AccessEvent]] = {}
        for ev in events:
            by_db.setdefault(_split_db(ev.resource)[0], []).append(ev)
        for db in PG_DATABASES:
            if by_db.get(db):
                self._write_db_day(d, db, by_db[db])

    def _write_db_day(self, d: date, db: str, events: list[AccessEvent]) -> None:
        rng = self.rng
        log = self._log(db, d.replace(day=1))
        # A checkpoint on some days with activity (log_checkpoints = on; reads dirty few pages,
        # idle servers skip checkpoints): its start and completion are entries at their own
        # times among the events.
        timed = []
        if rng.random() < 0.4:
            start = day_start_ms(d) + rng.randrange(0, DAY_MS - 600_000)
            buffers = rng.randint(20, 4000)
            write_s = round(min(269.9, buffers * 0.06 + rng.random()), 3)
            done = start + int(write_s * 1000) + rng.randint(5, 60)
            timed = [(start, 0, None), (done, 1, (buffers, write_s))]
        bad_due = [b for b in self.pending if b.on <= d] if db == "us-prod" else []
        bad_at = rng.randrange(len(events)) if bad_due else -1
        for i, ev in enumerate(events):
            if i == bad_at:
                timed.extend((max(ev.ms - 1, 0), 2, bad) for bad in bad_due)
            timed.append((ev.ms, 3, ev))
        for ms, kind, item in sorted(timed, key=lambda t: (t[0], t[1])):
            ms = max(ms, log.last_ms)
            if kind == 0:
                log.entry(ms, self._prefix(ms, self.checkpointer[db], "", "", "")
                          + "LOG:  checkpoint starting: time")
            elif kind == 1:
                log.entry(ms, self._checkpoint_done(ms, db, *item))
            elif kind == 2:
                self.pending.remove(item)
                self._bad(log, item, ms)
            else:
                self._event(log, db, item)

    def _checkpoint_done(self, ms: int, db: str, buffers: int, write_s: float) -> str:
        rng = self.rng
        return (self._prefix(ms, self.checkpointer[db], "", "", "")
                + f"LOG:  checkpoint complete: wrote {buffers} buffers ({buffers * 100 / 16384:.1f}%); "
                  f"0 WAL file(s) added, 0 removed, {rng.randint(0, 3)} recycled; "
                  f"write={write_s:.3f} s, sync=0.0{rng.randint(10, 99)} s, total={write_s + 0.05:.3f} s; "
                  f"sync files={rng.randint(5, 80)}, longest=0.00{rng.randint(1, 9)} s, "
                  f"average=0.001 s; distance={buffers * 8} kB, estimate={buffers * 9} kB")

    def _event(self, log: _PgLog, db: str, ev: AccessEvent) -> None:
        rng = self.rng
        _, obj = _split_db(ev.resource)
        key = (db, ev.principal, ev.ip)
        session = self.sessions.get(key)
        # Lines before the event are squeezed in after the log's previous line.
        if session is None:
            session = self.sessions[key] = [self._new_pid(db), 0]
            at = max(log.last_ms, ev.ms - rng.randint(40, 900))
            log.entry(at, self._prefix(at, session[0], ev.principal, db, ev.ip)
                      + f"LOG:  connection authorized: user={ev.principal} database={db}")
        pid = session[0]
        stmt = _statement(rng, ev.op, obj)
        if ev.ok and ev.op == "SelectRows" and rng.random() < 0.006:
            # A statement that fails before pgaudit sees it: an error, not a record.
            at = max(log.last_ms, ev.ms - rng.randint(20, 400))
            if rng.random() < 0.5:
                error = 'ERROR:  column "updatedat" does not exist at character 8'
                wrong = f"SELECT updatedat FROM {obj}\nWHERE user_id = ANY($1)"
            else:
                error = 'ERROR:  syntax error at or near "FORM" at character 10'
                wrong = f"SELECT * FORM {obj} WHERE user_id = ANY($1)"
            prefix = self._prefix(at, pid, ev.principal, db, ev.ip)
            log.entry(at, prefix + error + "\n" + prefix + "STATEMENT:  " + self._continued(wrong))
        prefix = self._prefix(ev.ms, pid, ev.principal, db, ev.ip)
        if ev.ok:
            assert ev.rows is not None, ev
            session[1] += 1
            klass, command = PG_COMMANDS[ev.op]
            fields = ["SESSION", str(session[1]), "1", klass, command, "TABLE", obj,
                      _csv_field(stmt), PG_PARAMETER, str(ev.rows)]
            n = log.entry(ev.ms, prefix + "LOG:  AUDIT: " + self._continued(",".join(fields)))
        else:
            # Refused before pgaudit logs: the error names the table without its schema.
            table = obj.rsplit(".", 1)[-1]
            n = log.entry(ev.ms, prefix + f"ERROR:  permission denied for table {table}\n"
                          + prefix + "STATEMENT:  " + self._continued(stmt))
        self.truth.native_record(log.rel, n)

    def close(self) -> None:
        log = self.logs.get("us-prod")
        if (self.pending or self.pending_end) and log is None:
            raise ValueError("no us-prod log to plant the malformed pgaudit entries in")
        for bad in self.pending:  # due after the last us-prod event: at the end
            self._bad(log, bad, log.last_ms)
        self.pending = []
        for db in list(self.logs):
            self._close_log(db, last=True)


# -- nginx access log of the APAC gateway ------------------------------------------------------------

WEB_METHOD = {"GetObject": "GET", "SelectRows": "GET", "ListBucket": "GET", "PutObject": "PUT",
              "DeleteObject": "DELETE", "ExportTable": "POST", "Login": "POST"}


def _web_time(ms: int) -> str:
    """``[01/Jul/2021:09:04:01 +0800]``: Singapore local time (month names in English)."""
    t = to_datetime(ms, SGT)
    return f"[{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0800]"


def web_path(ev: AccessEvent) -> str:
    """The request target naming the event's resource behind the gateway."""
    if ev.op == "Login":
        return "/login"
    if ev.resource.startswith("s3://"):
        path = "/s3/" + ev.resource.removeprefix("s3://")
        return path + "?list-type=2" if ev.op == "ListBucket" else path
    path = "/db/" + ev.resource.removeprefix("db://")
    return "/export" + path if ev.op == "ExportTable" else path


class NginxWriter:
    """``gateway/access.log-YYYYMMDD.gz``: one gzip file per Singapore month, combined format.

    Named as logrotate names a monthly rotation with ``dateext`` and ``dateyesterday``: the
    date is the last day of the month the file holds.
    """

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        self.out = out
        self.truth = truth
        self.pending = list(malformed.WEB_BAD)
        self.month: tuple[int, int] | None = None
        self.chunk: list[str] = []
        self.rel = ""
        self.lines = 0
        self.gz = None
        self.raw = None
        self.benign_ip = pools.v4["sg-office"][1]

    def _open(self, year: int, month: int) -> None:
        self._close_file()
        nxt = date(year + month // 12, month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        self.rel = f"{GATEWAY_DIR}/access.log-{last:%Y%m%d}.gz"
        path = self.out / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.raw = open(path, "wb")
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, mtime=0, compresslevel=9)
        self.month, self.lines = (year, month), 0

    def _close_file(self) -> None:
        if self.gz is not None:
            self._flush()
            self.gz.close()
            self.raw.close()
            self.gz = self.raw = None

    def _flush(self) -> None:
        if self.chunk:
            self.gz.write("".join(self.chunk).encode("utf-8"))
            self.chunk = []

    def line(self, ev: AccessEvent) -> str:
        """The combined-format line of one gateway event."""
        request = f"{WEB_METHOD[ev.op]} {web_path(ev)} HTTP/1.1"
        status = 200 if ev.ok else 403
        size = "-" if ev.nbytes is None else str(ev.nbytes)
        return (f'{ev.ip} - {ev.principal} {_web_time(ev.ms)} "{request}" {status} {size} '
                f'"-" "{GATEWAY_AGENT}"')

    def _write(self, text: str, problem: str | None = None) -> None:
        self.chunk.append(text + "\n")
        self.lines += 1
        self.truth.native_record(self.rel, self.lines, problem)

    def _bad(self, bad: malformed.NativeBad, next_ms: int | None) -> None:
        # Dated on the bad record's own UTC day (08:00-10:00 in Singapore), just before the
        # next good line when that is on the same day.
        ms = day_start_ms(bad.on) + 2 * 3_600_000
        ms = ms if next_ms is None else min(ms, next_ms - next_ms % 1000)
        benign = AccessEvent(ms, "dtan", self.benign_ip, "sg-office", "GetObject", BENIGN_CONTENT,
                             True, 734_512, None, GATEWAY_AGENT)
        self._write(bad.make(self.line(benign)), bad.problem)

    def write_day(self, d: date, events: list[AccessEvent]) -> None:
        for ev in events:
            local = to_datetime(ev.ms, SGT)
            if self.month != (local.year, local.month):
                self._open(local.year, local.month)
            while self.pending and self.pending[0].on <= utc_date(ev.ms):
                self._bad(self.pending.pop(0), ev.ms)
            self._write(self.line(ev))
        if self.gz is not None:
            self._flush()

    def close(self) -> None:
        if self.gz is None and self.pending:
            local = to_datetime(day_start_ms(self.pending[0].on), SGT)
            self._open(local.year, local.month)
        while self.pending:
            self._bad(self.pending.pop(0), None)
        self._close_file()


# -- routing ----------------------------------------------------------------------------------------

class NativeWriters:
    """Routes each access event to the native log that would have recorded it."""

    def __init__(self, out: Path, seed: int, truth: Truth, pools: AddressPools) -> None:
        self.resolver = Resolver()
        self.cloudtrail = CloudTrailWriter(out, seed, truth, pools)
        self.pgaudit = PgauditWriter(out, seed, truth, pools)
        self.web = NginxWriter(out, seed, truth, pools)

    def write_day(self, d: date, events: list[tuple[AccessEvent, str]]) -> None:
        """One UTC day's events, each with the id its CSV row carries."""
        trail, db, web = [], [], []
        for ev, event_id in events:
            if ev.via_gateway:
                web.append(ev)
                _same_category(self.resolver, web_path(ev), ev.resource)
            elif ev.op == "Login" or ev.resource.startswith("s3://"):
                trail.append((ev, event_id))
                _same_category(self.resolver, self.cloudtrail.resource(ev), ev.resource)
            elif ev.resource.startswith("db://"):
                db.append(ev)
                if ev.ok:  # a refused read names the bare table: no category, as intended
                    _same_category(self.resolver, self.pgaudit.resource(ev), ev.resource)
            else:
                raise ValueError(f"no native log for {ev.op} {ev.resource!r}")
        self.cloudtrail.write_day(d, trail)
        self.pgaudit.write_day(d, db)
        self.web.write_day(d, web)

    def close(self) -> None:
        self.cloudtrail.close()
        self.pgaudit.close()
        self.web.close()
