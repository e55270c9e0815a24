"""Published IP range files -> one network table (cidr, country, org, site, kind).

Analysts receive IP ranges in the providers' own formats. Each reader here turns one of them into
rows with the columns of the analyst's network inventory, plus the file's own version and notes
on anything the analyst should know (prefixes without a country, merged duplicates, ...).

Formats (detected from the content, never from the file name):

``aws``      ``ip-ranges.json``: ``prefixes`` (``ip_prefix``) and ``ipv6_prefixes``
             (``ipv6_prefix``), each with ``region``, ``service``, ``network_border_group``.
             site = region; kind = ``aws:<service>``. A prefix is listed once per service
             (AMAZON, the catch-all, plus EC2, S3, ...): one row per cidr, whose kind is the most
             specific service: anything but AMAZON, and a named service (S3, ROUTE53_HEALTHCHECKS,
             ...) before EC2; ties keep the first listed. ``GLOBAL`` has no country. A Local Zone
             abroad (``network_border_group`` ``us-east-1-bue-1``) takes its own country when the
             region table lists it.
``google``   ``cloud.json`` (``ipv4Prefix``/``ipv6Prefix`` with ``service`` and ``scope``):
             org "Google Cloud", site = scope, kind ``gcp``; ``goog.json`` (same shape, no scope):
             org "Google", kind ``google``, no country.
``azure``    Service Tags (``ServiceTags_Public_YYYYMMDD.json``): ``values[].properties``
             ``addressPrefixes`` with ``region`` and ``systemService``. A prefix is listed under many
             tags (``AzureCloud``, ``AzureCloud.eastus``, ``Storage.EastUS``, ...): one row per
             cidr, preferring a tag with a region, then one with a systemService; ties keep the
             first listed. kind = ``azure:<systemService>`` or ``azure``; an empty region has no
             country.
``oracle``   ``public_ip_ranges.json``: ``regions[].cidrs[]`` with ``tags``; site = region,
             kind = ``oci:<first tag>``.
``mmdb``     MaxMind DB files (GeoLite2/GeoIP2 Country, City, ASN; DB-IP Lite; IPinfo Lite):
             country from ``country.iso_code`` (GeoIP2, DB-IP) or ``country_code`` (IPinfo), org
             from ``autonomous_system_organization`` (ASN databases) or ``as_name`` (IPinfo);
             kind ``mmdb``. IPv4 space stored in an IPv6 tree comes out as IPv4 CIDRs and the
             IPv4 alias subtrees (``::ffff:0:0/96``, ``2001::/32``, ``2002::/16``) are skipped, so
             no range appears twice. The converted rows are cached by the file's sha256.
``inventory`` the analyst's own CSV (a header with a ``cidr`` column); read by ``reference.py``.

Region -> country comes from ``data/cloud_regions.csv`` (provenance in ``cloud_regions.md``).
Every prefix is checked with :func:`ipaddress.ip_network`; host bits set are normalised (and
noted), an invalid prefix is an error naming the file and the entry.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import ReferenceFileError, UnreadableInputError
from ..loaders.sources import sha256_of

NETWORK_FORMATS = ("inventory", "aws", "google", "azure", "oracle", "mmdb")
COLUMNS = ("cidr", "country", "org", "site", "kind")

_FORMAT_HELP = ("inventory (CSV with a cidr column), aws (ip-ranges.json), google (cloud.json or "
                "goog.json), azure (Service Tags JSON), oracle (public_ip_ranges.json), "
                "mmdb (MaxMind DB: GeoLite2/GeoIP2, DB-IP, IPinfo)")
_MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"
_MMDB_METADATA_MAX = 128 * 1024  # the spec caps the metadata section at 128 KiB
_HEAD_BYTES = 64 * 1024
_MMDB_CACHE_VERSION = "1"  # bump when the conversion changes, so old cache files are not used
_LISTED_AT_MOST = 10


@dataclass
class NetworkSource:
    """One IP range file as rows of the network table, with the file's own version and notes."""

    format: str
    name: str
    version: str | None
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- region -> country

@lru_cache(maxsize=1)
def cloud_regions() -> dict[str, dict[str, str]]:
    """``{provider: {region (lower case): country}}`` from the packaged ``cloud_regions.csv``."""
    text = resources.files("investigate.enrich").joinpath("data", "cloud_regions.csv").read_text("utf-8")
    table: dict[str, dict[str, str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        table.setdefault(row["provider"], {})[row["region"].strip().lower()] = row["country"].strip().upper()
    return table


# --------------------------------------------------------------------------- detection

def detect_network_format(path: str | os.PathLike) -> str:
    """Which of :data:`NETWORK_FORMATS` a file is, from its content (never its name)."""
    return _sniff(Path(path))[0]


def _sniff(path: Path) -> tuple[str, object]:
    """The format, and the parsed JSON when the file is JSON (so it is parsed once)."""
    head, tail = _head_and_tail(path)
    if _MMDB_MARKER in tail:
        return "mmdb", None
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        data = _load_json(path)
        fmt = _json_format(data)
        if fmt is None:
            keys = ", ".join(sorted(data)[:8]) if isinstance(data, dict) else "a JSON list"
            raise ReferenceFileError(f"{path}: JSON, but not an IP range file this toolkit reads "
                                     f"(top-level keys: {keys or 'none'}); use one of: {_FORMAT_HELP}")
        return fmt, data
    if _has_cidr_header(head):
        return "inventory", None
    what = "is empty" if not head else "is not a network file this toolkit reads"
    raise ReferenceFileError(f"{path}: {what}; use one of: {_FORMAT_HELP}")


def _head_and_tail(path: Path) -> tuple[bytes, bytes]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - _MMDB_METADATA_MAX))
            tail = fh.read()
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return head, tail


def _has_cidr_header(head: bytes) -> bool:
    first_line = head.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    header = next(csv.reader([text]), [])
    return any(col.strip().lower() == "cidr" for col in header)


def _load_json(path: Path):
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ReferenceFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                 "expected a provider's JSON file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        cut_short = exc.pos >= len(text.rstrip()) or (
            exc.msg.startswith("Unterminated string") and '"' not in text[exc.pos + 1:])
        ending = " (the file ends early: it is truncated; download it again)" if cut_short else ""
        raise ReferenceFileError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} "
                                 f"column {exc.colno}{ending}") from None


def _first_item_has(items, *keys: str) -> bool:
    first = items[0] if isinstance(items, list) and items else None
    return isinstance(first, dict) and any(k in first for k in keys)


def _json_format(data) -> str | None:
    """A JSON document's format from its keys (each provider's top-level keys are distinctive)."""
    if not isinstance(data, dict):
        return None
    prefixes = data.get("prefixes")
    if "ipv6_prefixes" in data or "createDate" in data or _first_item_has(prefixes, "ip_prefix"):
        return "aws"
    if "creationTime" in data or _first_item_has(prefixes, "ipv4Prefix", "ipv6Prefix"):
        return "google"
    if isinstance(data.get("values"), list) and ("changeNumber" in data or "cloud" in data):
        return "azure"
    if isinstance(data.get("regions"), list) and (
            "last_updated_timestamp" in data or _first_item_has(data["regions"], "cidrs")):
        return "oracle"
    return None


# --------------------------------------------------------------------------- entry point

def read_network_source(path: str | os.PathLike, format: str | None = None,
                        cache_dir: str | os.PathLike | None = None) -> NetworkSource:
    """Read one IP range file into a :class:`NetworkSource`.

    ``format`` None detects it from the content. ``cache_dir`` (mmdb only) holds converted
    databases as ``<sha256>.parquet``; default ``$INVESTIGATE_CACHE``, else
    ``~/.cache/investigate/mmdb``.
    """
    p = Path(path)
    if format is not None and format not in NETWORK_FORMATS:
        raise ReferenceFileError(f"{p}: unknown network format {format!r}; use one of: {_FORMAT_HELP}")
    if format == "inventory":
        raise ValueError("inventory is read by reference.py")
    if not p.is_file():
        raise ReferenceFileError(f"{p}: no such file")
    data = None
    if format is None:
        format, data = _sniff(p)
        if format == "inventory":
            raise ValueError("inventory is read by reference.py")
    elif format != "mmdb":
        data = _load_json(p)
    if format == "mmdb":
        return _read_mmdb(p, cache_dir)
    return _JSON_READERS[format](p, data)


# --------------------------------------------------------------------------- shared row building

@dataclass
class _Entry:
    cidr: str
    country: str | None
    site: str | None           # the region as the provider writes it
    kind: str | None
    rank: tuple
    region_known: bool | None  # True: in the table; False: not in it; None: no region at all


class _RowCollector:
    """Validates prefixes, keeps one entry per cidr (the best ranked) and writes the notes."""

    def __init__(self, path: Path, provider: str, org: str, *, no_region_label: str, merge_rule: str):
        self.path, self.provider, self.org = path, provider, org
        self.no_region_label, self.merge_rule = no_region_label, merge_rule
        self.regions = cloud_regions().get(provider, {})
        self.best: dict[str, _Entry] = {}
        self.listed: Counter[str] = Counter()
        self.conflicts: dict[str, str] = {}  # cidr -> the first two countries it was listed in
        self.normalised: list[tuple[str, str]] = []

    def add(self, where: str, key: str, raw, *, region: str | None, kind: str | None,
            rank: tuple = (), zone: str | None = None) -> None:
        """One listed prefix; ``where`` names the entry (``prefixes[12]``) for error messages."""
        cidr = self._cidr(where, key, raw)
        country, known = self._country(region, zone)
        entry = _Entry(cidr, country, region or None, kind, rank, known)
        self.listed[cidr] += 1
        previous = self.best.get(cidr)
        if previous is None:
            self.best[cidr] = entry
            return
        if previous.country and country and previous.country != country and cidr not in self.conflicts:
            self.conflicts[cidr] = f"{cidr}: {previous.site} ({previous.country}) / {region} ({country})"
        if entry.rank > previous.rank:  # strictly better only: ties keep the first listed
            self.best[cidr] = entry

    def _cidr(self, where: str, key: str, raw) -> str:
        if not isinstance(raw, str):
            raise ReferenceFileError(f"{self.path}: {where}: {key!r} {raw!r} is not an IP network "
                                     "(expected a string such as 52.95.0.0/16)")
        try:
            return str(ipaddress.ip_network(raw.strip()))
        except ValueError:
            pass
        try:  # host bits set (52.95.0.1/16): the network is still clear, so normalise and note it
            cidr = str(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise ReferenceFileError(f"{self.path}: {where}: {key!r} {raw!r} is not an IP network") from None
        self.normalised.append((raw, cidr))
        return cidr

    def _country(self, region: str | None, zone: str | None) -> tuple[str | None, bool | None]:
        if not region or region.upper() == "GLOBAL":
            return None, None
        for name in (zone, region):  # a Local Zone abroad is more precise than its parent region
            if name and name.lower() in self.regions:
                return self.regions[name.lower()], True
        return None, False

    def source(self, fmt: str, name: str, version: str | None) -> NetworkSource:
        entries = list(self.best.values())
        rows = _frame({
            "cidr": [e.cidr for e in entries],
            "country": [e.country for e in entries],
            "org": [self.org] * len(entries),
            "site": [e.site for e in entries],
            "kind": [e.kind for e in entries],
        })
        return NetworkSource(fmt, name, version, rows, self._notes(entries))

    def _notes(self, entries: list[_Entry]) -> list[str]:
        notes = []
        no_region = [e for e in entries if e.region_known is None]
        if no_region:
            labels = sorted({e.site or self.no_region_label for e in no_region})
            notes.append(f"{_count(len(no_region), 'prefix')} in regions with no known country "
                         f"({', '.join(labels)})")
        unknown = Counter(e.site for e in entries if e.region_known is False)
        if unknown:
            notes.append(f"{_count(sum(unknown.values()), 'prefix')} in {_count(len(unknown), 'region')} "
                         f"not in the region table, country left empty: {_listing(sorted(unknown))}")
        repeated = {c: n for c, n in self.listed.items() if n > 1}
        if repeated:
            notes.append(f"duplicates merged: {_count(len(repeated), 'prefix')} listed "
                         f"{sum(repeated.values())} times in all; one row each, {self.merge_rule}")
        if self.conflicts:
            examples = _listing(list(self.conflicts.values()))
            notes.append(f"{_count(len(self.conflicts), 'prefix')} listed in regions of different "
                         f"countries; each row keeps the chosen entry's region: {examples}")
        if self.normalised:
            examples = [f"{raw!r} -> {cidr}" for raw, cidr in self.normalised]
            notes.append(f"{_count(len(self.normalised), 'prefix')} with host bits set, normalised: "
                         f"{_listing(examples)}")
        return notes


def _count(n: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("x") else "s")
    return f"{n} {noun if n == 1 else plural}"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_AT_MOST])
    more = len(names) - _LISTED_AT_MOST
    return f"{shown} (+{more} more)" if more > 0 else shown


def _frame(columns: dict[str, list]) -> pd.DataFrame:
    # object columns keep None as None (pandas' default str dtype would turn it into NaN)
    return pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in COLUMNS})


def _require_list(path: Path, data, key: str, fmt: str, *, where: str = "") -> list:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        detected = _json_format(data)
        hint = f" (it looks like {detected})" if detected and detected != fmt else ""
        raise ReferenceFileError(f"{path}: {where}no {key!r} list; this is not a {fmt!r} IP range file{hint}")
    return value


def _require_object(path: Path, item, where: str) -> dict:
    if not isinstance(item, dict):
        raise ReferenceFileError(f"{path}: {where}: expected an object, found {type(item).__name__}")
    return item


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _version(*pairs: tuple[str, object]) -> str | None:
    parts = [f"{key} {value}" for key, value in pairs if value not in (None, "")]
    return ", ".join(parts) or None


# --------------------------------------------------------------------------- providers

def _aws_service_rank(service: str | None) -> tuple:
    # AMAZON lists every Amazon range; EC2 is the general compute pool; a named service is the
    # most specific thing the file says about a prefix.
    service = (service or "").upper()
    return (0,) if service in ("", "AMAZON") else (1,) if service == "EC2" else (2,)


def _read_aws(path: Path, data) -> NetworkSource:
    rows = _RowCollector(path, "aws", "Amazon Web Services", no_region_label="no region",
                         merge_rule="kind is the most specific service "
                                    "(a named service, then EC2, then AMAZON)")
    ipv4 = _require_list(path, data, "prefixes", "aws")
    ipv6 = _require_list(path, data, "ipv6_prefixes", "aws") if "ipv6_prefixes" in data else []
    listed = (("prefixes", "ip_prefix", ipv4), ("ipv6_prefixes", "ipv6_prefix", ipv6))
    for list_key, prefix_key, items in listed:
        for i, item in enumerate(items):
            where = f"{list_key}[{i}]"
            item = _require_object(path, item, where)
            if prefix_key not in item:
                raise ReferenceFileError(f"{path}: {where}: no {prefix_key!r}")
            service = _text(item.get("service"))
            rows.add(where, prefix_key, item[prefix_key], region=_text(item.get("region")),
                     zone=_text(item.get("network_border_group")),
                     kind=f"aws:{(service or 'amazon').lower()}", rank=_aws_service_rank(service))
    version = _version(("syncToken", data.get("syncToken")), ("createDate", data.get("createDate")))
    return rows.source("aws", "AWS ip-ranges.json", version)


def _read_google(path: Path, data) -> NetworkSource:
    items = _require_list(path, data, "prefixes", "google")
    cloud = any(isinstance(i, dict) and ("scope" in i or "service" in i) for i in items)
    org, kind, name = (("Google Cloud", "gcp", "Google Cloud cloud.json") if cloud
                       else ("Google", "google", "Google goog.json"))
    rows = _RowCollector(path, "google", org, no_region_label="no scope",
                         merge_rule="the first listed entry is kept")
    for i, item in enumerate(items):
        where = f"prefixes[{i}]"
        item = _require_object(path, item, where)
        key = "ipv4Prefix" if "ipv4Prefix" in item else "ipv6Prefix" if "ipv6Prefix" in item else None
        if key is None:
            raise ReferenceFileError(f"{path}: {where}: no 'ipv4Prefix' or 'ipv6Prefix'")
        rows.add(where, key, item[key], region=_text(item.get("scope")), kind=kind)
    version = _version(("syncToken", data.get("syncToken")), ("creationTime", data.get("creationTime")))
    return rows.source("google", name, version)


def _read_azure(path: Path, data) -> NetworkSource:
    rows = _RowCollector(path, "azure", "Microsoft Azure", no_region_label="tags with an empty region",
                         merge_rule="from a tag with a region, then one with a systemService")
    for i, tag in enumerate(_require_list(path, data, "values", "azure")):
        tag = _require_object(path, tag, f"values[{i}]")
        where = f"values[{i}] ({tag.get('name')})" if tag.get("name") else f"values[{i}]"
        props = _require_object(path, tag.get("properties"), f"{where}: properties")
        prefixes = props.get("addressPrefixes")
        if not isinstance(prefixes, list):
            raise ReferenceFileError(f"{path}: {where}: properties.addressPrefixes is not a list")
        region = (_text(props.get("region")) or "").lower() or None
        service = _text(props.get("systemService"))
        kind = f"azure:{service.lower()}" if service else "azure"
        for j, prefix in enumerate(prefixes):
            rows.add(f"{where}: properties.addressPrefixes[{j}]", "addressPrefixes", prefix,
                     region=region, kind=kind, rank=(region is not None, service is not None))
    version = _version(("changeNumber", data.get("changeNumber")), ("cloud", data.get("cloud")))
    cloud = _text(data.get("cloud"))
    return rows.source("azure", f"Azure Service Tags ({cloud})" if cloud else "Azure Service Tags", version)


def _read_oracle(path: Path, data) -> NetworkSource:
    rows = _RowCollector(path, "oracle", "Oracle Cloud Infrastructure", no_region_label="no region",
                         merge_rule="the first listed entry is kept")
    for i, region_item in enumerate(_require_list(path, data, "regions", "oracle")):
        region_item = _require_object(path, region_item, f"regions[{i}]")
        region = _text(region_item.get("region"))
        where = f"regions[{i}] ({region})" if region else f"regions[{i}]"
        cidrs = _require_list(path, region_item, "cidrs", "oracle", where=f"{where}: ")
        for j, item in enumerate(cidrs):
            item_where = f"{where}: cidrs[{j}]"
            item = _require_object(path, item, item_where)
            if "cidr" not in item:
                raise ReferenceFileError(f"{path}: {item_where}: no 'cidr'")
            tags = item.get("tags") if isinstance(item.get("tags"), list) else []
            first_tag = _text(tags[0]) if tags else None
            rows.add(item_where, "cidr", item["cidr"], region=region,
                     kind=f"oci:{first_tag.lower()}" if first_tag else "oci")
    version = _version(("last_updated_timestamp", data.get("last_updated_timestamp")))
    return rows.source("oracle", "Oracle Cloud public_ip_ranges.json", version)


_JSON_READERS = {"aws": _read_aws, "google": _read_google, "azure": _read_azure, "oracle": _read_oracle}


# --------------------------------------------------------------------------- mmdb

# IPv6 ranges that MaxMind IPv6 trees alias to the IPv4 subtree (::/96): reading them would list
# every IPv4 range again under another name.
_IPV4_ALIASES = tuple((int(n.network_address), n.prefixlen) for n in map(
    ipaddress.IPv6Network, ("::ffff:0:0/96", "2001::/32", "2002::/16")))


def _read_mmdb(path: Path, cache_dir) -> NetworkSource:
    try:
        sha = sha256_of(path)
    except UnreadableInputError as exc:
        raise ReferenceFileError(str(exc)) from None
    cache = _usable_cache_dir(cache_dir)
    if cache is not None:
        cached = _load_cached(cache / f"{sha}.parquet")
        if cached is not None:
            return cached
    source = _convert_mmdb(path)
    if cache is not None:
        _store_cached(cache / f"{sha}.parquet", source)
    return source


def _convert_mmdb(path: Path) -> NetworkSource:
    import maxminddb  # only mmdb files need it

    try:
        reader = maxminddb.open_database(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure of the decoder means "not a usable mmdb"
        raise ReferenceFileError(f"{path}: not a readable MaxMind DB ({type(exc).__name__}: {exc})") from None
    with reader:
        meta = reader.metadata()
        try:
            columns = _mmdb_columns(reader)
        except Exception as exc:  # noqa: BLE001 - a corrupt tree or data section
            raise ReferenceFileError(f"{path}: the MaxMind DB is corrupt or cut short "
                                     f"({type(exc).__name__}: {exc}); download it again") from None
    database_type = str(meta.database_type)
    built = datetime.fromtimestamp(int(meta.build_epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    vendor = _mmdb_vendor(database_type)
    name = f"{database_type} ({vendor})" if vendor else database_type
    return NetworkSource("mmdb", name, f"{database_type}, built {built}", _frame(columns),
                         _mmdb_notes(columns))


def _mmdb_columns(reader) -> dict[str, list]:
    cidrs, countries, orgs = [], [], []
    for network, record in reader:
        cidr = _mmdb_cidr(network)
        if cidr is None:
            continue
        cidrs.append(cidr)
        countries.append(_mmdb_country(record))
        orgs.append(_mmdb_org(record))
    n = len(cidrs)
    return {"cidr": cidrs, "country": countries, "org": orgs, "site": [None] * n, "kind": ["mmdb"] * n}


def _mmdb_cidr(network) -> str | None:
    """The network as a canonical CIDR; IPv4 for IPv4-in-IPv6 space; None for alias subtrees."""
    if network.version == 4:
        return str(network)
    address, prefix_len = int(network.network_address), network.prefixlen
    if prefix_len >= 96 and address >> 32 == 0:  # ::a.b.c.d/120 is a.b.c.d/24
        return f"{ipaddress.IPv4Address(address)}/{prefix_len - 96}"
    for alias_address, alias_len in _IPV4_ALIASES:
        if prefix_len >= alias_len and address >> (128 - alias_len) == alias_address >> (128 - alias_len):
            return None
    return str(network)


def _mmdb_country(record) -> str | None:
    if not isinstance(record, dict):
        return None
    country = record.get("country")
    code = None
    if isinstance(country, dict):       # GeoIP2 / GeoLite2 / DB-IP
        code = country.get("iso_code")
    elif isinstance(country, str) and len(country) == 2:  # IPinfo country databases
        code = country
    if not code:
        code = record.get("country_code")  # IPinfo Lite ("country" is the name there)
    return code.upper() if isinstance(code, str) and code else None


def _mmdb_org(record) -> str | None:
    if not isinstance(record, dict):
        return None
    org = record.get("autonomous_system_organization") or record.get("as_name")
    return org if isinstance(org, str) and org else None


def _mmdb_vendor(database_type: str) -> str | None:
    lower = database_type.lower()
    if lower.startswith(("geolite", "geoip")):
        return "MaxMind"
    if lower.startswith(("dbip", "db-ip")):
        return "DB-IP"
    if "ipinfo" in lower:
        return "IPinfo"
    return None


def _mmdb_notes(columns: dict[str, list]) -> list[str]:
    total = len(columns["cidr"])
    without = sum(1 for c in columns["country"] if c is None)
    if total and without == total:
        return [f"no country in this database (e.g. an ASN database): {_count(total, 'network')}, org only"]
    if without:
        return [f"{without} of {_count(total, 'network')} without a country (e.g. only a registered "
                "country, or anycast); country left empty"]
    return []


# --------------------------------------------------------------------------- mmdb cache

def _usable_cache_dir(cache_dir) -> Path | None:
    """The cache directory, or None when it cannot be created or written (then no caching)."""
    if cache_dir is None:
        cache_dir = os.environ.get("INVESTIGATE_CACHE") or Path.home() / ".cache" / "investigate" / "mmdb"
    directory = Path(cache_dir).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory if os.access(directory, os.W_OK) else None


def _load_cached(path: Path) -> NetworkSource | None:
    """A cached conversion, or None when absent, unreadable or written by another version."""
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {}).get(b"investigate", b"{}"))
        if meta.get("cache_version") != _MMDB_CACHE_VERSION or table.column_names != list(COLUMNS):
            return None
        columns = {c: table.column(c).to_pylist() for c in COLUMNS}
        return NetworkSource("mmdb", meta["name"], meta["version"], _frame(columns), list(meta["notes"]))
    except Exception:  # noqa: BLE001 - a damaged cache file is ignored and rewritten
        return None


def _store_cached(path: Path, source: NetworkSource) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = {"cache_version": _MMDB_CACHE_VERSION, "name": source.name, "version": source.version,
            "notes": source.notes}
    table = pa.table({c: pa.array(source.rows[c].tolist(), type=pa.string()) for c in COLUMNS})
    table = table.replace_schema_metadata({"investigate": json.dumps(meta)})
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        pq.write_table(table, partial)
        os.replace(partial, path)  # readers never see a half-written file
    except (OSError, pa.ArrowException):
        partial.unlink(missing_ok=True)
