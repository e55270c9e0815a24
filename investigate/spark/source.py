"""A workspace exported as Parquet (``investigate export``), opened in a Spark session, with the
enriched views the query library reads.

Opening an export:

1. reads ``manifest.json`` (a local folder, or any URI Spark reads: ``s3a://``, ``hdfs://``,
   ``abfss://``...);
2. registers every table as a temporary view of the same name, from its Parquet files (the
   events without the ``event_date`` partition column, which is not a canonical column);
3. works out ``address_locations`` and ``resource_categories`` again, with Spark joins over the
   exported ``network_ranges`` and ``assets`` (``locate_addresses.sql``,
   ``categorise_resources.sql``), and the bundled registry for public addresses no range holds,
   as DuckDB does: the exported copies of these two tables are not read;
4. creates the enriched views from ``investigate/enrich/views.sql``, transpiled.

Temporary views are the session's: opening a second export in the same session registers its
own in their place, and each query first makes sure they are its source's.
"""

from __future__ import annotations

import ipaddress
import json
from functools import cached_property
from importlib import resources
from pathlib import Path

import pyarrow as pa

from .. import schema
from ..enrich import globs, locate
from ..enrich.views import _statements
from ..errors import InvestigateError, QueryError
from ..export import EXPORT_FORMAT_VERSION, MANIFEST, PARTITION_COLUMN, ip_to_hex
from .dialect import view_to_spark
from .session import get_session

# The tables worked out again on Spark, rather than read from the export.
DERIVED = ("address_locations", "resource_categories")
_HERE = resources.files(__package__)
_active: dict[int, "SparkSource"] = {}   # id(session) -> the source whose views are registered


def _is_uri(path: str) -> bool:
    return "://" in path


class SparkSource:
    """An export opened in a Spark session. ``SparkSource(path)`` or :func:`open_export`."""

    engine = "spark"

    def __init__(self, path, spark=None, *, cache: bool | None = None):
        self.path = str(path).rstrip("/") if _is_uri(str(path)) else str(Path(path).absolute())
        self.spark = get_session(spark)
        # In local mode the event tables are read once and kept (memory, then disk): every query
        # reads them several times. On a cluster they are read where they are, unless cache=True.
        self.cache = self.spark.sparkContext.master.startswith("local") if cache is None else cache
        self.manifest = self._read_manifest()
        self._check_files()
        self._tables: dict[str, object] = {}
        self._registry_used = False
        self._activate(force=True)

    def spark_alive(self) -> bool:
        """Whether its session still runs (a stopped one cannot run queries)."""
        try:
            return self.spark.sparkContext._jsc is not None
        except Exception:
            return False

    def __repr__(self) -> str:
        return f"SparkSource({self.path!r}, Spark {self.spark.version})"

    # -- the export -----------------------------------------------------------------------

    def _read_manifest(self) -> dict:
        where = f"{self.path}/{MANIFEST}"
        try:
            if _is_uri(self.path):
                text = self.spark.read.text(where, wholetext=True).first()[0]
            else:
                text = Path(where).read_text(encoding="utf-8")
            manifest = json.loads(text)
        except Exception as exc:  # missing file, unreadable URI, not JSON
            raise InvestigateError(f"{self.path}: not an export of investigate (cannot read "
                                   f"{MANIFEST}: {str(exc).splitlines()[0] if str(exc) else exc!r}); "
                                   "write one with: investigate export WORKSPACE OUT") from None
        version = manifest.get("export_format_version") if isinstance(manifest, dict) else None
        if version != EXPORT_FORMAT_VERSION:
            raise InvestigateError(f"{self.path}: export format version {version!r}; this version of "
                                   f"investigate reads version {EXPORT_FORMAT_VERSION}: "
                                   "export the workspace again")
        return manifest

    def _check_files(self) -> None:
        """Every file the manifest lists is there, with its size, and no other data file: an
        export cut short in a copy, or added to since, is refused before anything is read. (The
        files' sha256 are in the manifest too; hashing them all is left to whoever copies them.)"""
        expected = {f["path"]: f["bytes"] for t in self.manifest["tables"].values() for f in t["files"]}
        found = self._list_files()
        missing = sorted(set(expected) - set(found))
        resized = sorted(p for p in set(expected) & set(found) if expected[p] != found[p])
        # Spark skips names starting with '.' or '_' (its own markers and hidden files)
        extra = sorted(p for p in set(found) - set(expected)
                       if not any(part[:1] in "._" for part in p.split("/")) and p != MANIFEST)
        problems = ([f"missing: {', '.join(missing[:5])}"] if missing else []) + \
                   ([f"not the size the manifest gives: {', '.join(resized[:5])}"] if resized else []) + \
                   ([f"not in the manifest: {', '.join(extra[:5])}"] if extra else [])
        if problems:
            raise InvestigateError(f"{self.path}: the files are not the ones exported ({'; '.join(problems)}); "
                                   "copy the export again, or export the workspace again")

    def _list_files(self) -> dict[str, int]:
        """Every file under the export, by its path relative to it, with its size."""
        if not _is_uri(self.path):
            root = Path(self.path)
            return {f.relative_to(root).as_posix(): f.stat().st_size for f in root.rglob("*") if f.is_file()}
        jvm = self.spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(self.path)
        fs = root.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        prefix = fs.makeQualified(root).toString().rstrip("/") + "/"
        found, files = {}, fs.listFiles(root, True)
        while files.hasNext():
            status = files.next()
            found[status.getPath().toString().removeprefix(prefix)] = status.getLen()
        return found

    def fingerprint(self) -> list[dict]:
        """The inputs of the exported workspace (as ``Workspace.fingerprint``), with the bundled
        registry as this session used it."""
        inputs = [i for i in self.manifest["fingerprint"] if not _is_registry(i)]
        if self._registry_used:
            version, sha = locate._registry_identity()
            inputs.append({"kind": "reference:networks", "path": f"bundled:iptocc {version}", "sha256": sha})
        return sorted(inputs, key=lambda i: (i["sha256"], i["kind"]))

    # -- views ----------------------------------------------------------------------------

    def _activate(self, force: bool = False) -> None:
        """Make the session's temporary views this source's."""
        if not force and _active.get(id(self.spark)) is self:
            return
        if not self._tables:
            self._load_tables()  # registers them as it goes
        else:
            for name, frame in self._tables.items():
                frame.createOrReplaceTempView(name)
        for i, statement in enumerate(_statements(self._views_text)):
            self.spark.sql(view_to_spark(statement, f"views.sql statement {i + 1}"))
        _active[id(self.spark)] = self

    @cached_property
    def _views_text(self) -> str:
        return resources.files("investigate.enrich").joinpath("views.sql").read_text(encoding="utf-8")

    def _load_tables(self) -> None:
        for name, entry in self.manifest["tables"].items():
            if name in DERIVED:
                continue
            frame = self.spark.read.parquet(f"{self.path}/{entry['path']}")
            if PARTITION_COLUMN in entry.get("partition_columns", []):
                frame = frame.drop(PARTITION_COLUMN)
            if self.cache and name in schema.EVENT_TABLES:  # the large ones, read by every query
                frame = frame.localCheckpoint(eager=True)
            frame.createOrReplaceTempView(name)
            self._tables[name] = frame
        special = self.spark.createDataFrame(
            [(ip_to_hex(str(net.network_address)), ip_to_hex(str(net.broadcast_address)),
              net.prefixlen + (96 if net.version == 4 else 0), cls)
             for net, cls in ((ipaddress.ip_network(c), cls) for c, cls in locate.SPECIAL_RANGES)],
            "ip_start string, ip_end string, prefix_length int, ip_class string")
        special.createOrReplaceTempView("inv_special_ranges")
        for name, work_out in (("address_locations", self._locate_addresses),
                               ("resource_categories", self._categorise_resources)):
            self._tables[name] = work_out()
            self._tables[name].createOrReplaceTempView(name)

    def _sql_file(self, name: str, **params):
        return self.spark.sql(_HERE.joinpath(name).read_text(encoding="utf-8"), args=params or None)

    def _locate_addresses(self):
        # Worked out once and kept apart from the views it came from (localCheckpoint): a cache
        # would be dropped as soon as a view it reads is registered again.
        located = self._sql_file("locate_addresses.sql").localCheckpoint(eager=True)
        unplaced = [r[0] for r in located.where("country IS NULL AND ip_class = 'public'").select("ip").collect()]
        found = _registry_countries(unplaced) if unplaced else []
        if not found:
            return located
        self._registry_used = True
        registry = self.spark.createDataFrame(found, "ip string, registry_country string")
        located.createOrReplaceTempView("inv_located")
        registry.createOrReplaceTempView("inv_registry")
        return self._sql_file("place_by_registry.sql", label=locate.registry_source()).localCheckpoint(eager=True)

    def _categorise_resources(self):
        assets = self._tables["assets"].select("resource_pattern", "data_category", "jurisdiction",
                                               "site", "specificity").collect()
        rows = [(a[0], a[1], a[2], a[3], a[4], globs.literal_prefix(a[0]), globs.to_java_regex(a[0]))
                for a in assets]
        patterns = self.spark.createDataFrame(
            rows, "resource_pattern string, data_category string, jurisdiction string, site string, "
                  "specificity int, literal string, regex string")
        patterns.createOrReplaceTempView("inv_patterns")
        return self._sql_file("categorise_resources.sql").localCheckpoint(eager=True)

    # -- running SQL ------------------------------------------------------------------------

    def frame(self, spark_sql: str, params: dict):
        """A Spark DataFrame of Spark SQL with named parameters bound (``:name``)."""
        self._activate()
        return self.spark.sql(spark_sql, args=dict(params))

    def arrow(self, spark_sql: str, params: dict, name: str = "query") -> pa.Table:
        """The result of Spark SQL, collected to the driver as an Arrow table."""
        try:
            return self.frame(spark_sql, params).toArrow()
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
                raise QueryError(f"{name} on Spark: {_spark_message(exc)}") from None
            raise


def _is_registry(entry: dict) -> bool:
    return entry.get("kind") == "reference:networks" and str(entry.get("path", "")).startswith("bundled:iptocc")


def _registry_countries(addresses: list[str]) -> list[tuple[str, str]]:
    """``(ip, country)`` from the bundled registry, for the text DuckDB asks it (a mapped IPv4
    address as a dotted quad; brackets and a zone id dropped)."""
    import iptocc

    asked = []
    for ip in addresses:
        text = ip.strip().replace("[", "").replace("]", "").split("%")[0].lower()
        try:
            parsed = ipaddress.ip_address(text)
            if parsed.version == 6 and parsed.ipv4_mapped is not None:
                text = str(parsed.ipv4_mapped)
        except ValueError:
            pass
        asked.append(text)
    countries = iptocc.country_code(asked)
    return [(ip, c) for ip, c in zip(addresses, countries) if c is not None]


def _spark_message(exc: Exception) -> str:
    """The first line of what Spark said: for an error raised in the JVM, the Java exception's
    own message, not py4j's "An error occurred while calling ..."."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else repr(exc)


def open_export(path, spark=None, *, cache: bool | None = None) -> SparkSource:
    """Open an export (a folder or URI written by ``investigate export``) in a Spark session:
    ``spark`` when given, else the active one, else a local one. ``cache``: read every table once
    and keep it in the session (memory, spilling to disk); by default only in local mode."""
    return SparkSource(path, spark, cache=cache)
