"""Azure NSG flow logs (format ``azure_nsg_flow``) and Traffic Analytics CSV exports (format
``azure_nsg_analytics``).

An NSG flow log record holds many flows: ``properties.flows[].flows[].flowTuples[]`` are
comma-packed strings, one per flow and update. Each tuple becomes one row of
``transfer_events``; its record number is the record's position in the file and its index
within the record (1, 2, ... across all rules and MACs, in file order) is ``extra.tuple``. The
counts therefore work per row: ``rows_read`` = tuples + records that give no tuple (rejected
whole, or set apart when their lists are empty). A malformed tuple is a reject of its own, with
the record number and a reason that starts with ``tuple <n>:``; the other tuples of the record
still load.
"""

from __future__ import annotations

import json
import re

from .base import STAGED, register
from .generic import CsvLoader
from .mapping import load_mapping
from .native import SpecLoader, json_records
from .oci_vcn_flow import epoch_reasons
from .sources import SourceFile
from .typed import Params

# What json_transform keeps of a record: the path to the tuples and the labels on the way.
_SHAPE = json.dumps({"properties": {"flows": [{"rule": "VARCHAR", "flows": [
    {"mac": "VARCHAR", "flowTuples": ["VARCHAR"]}]}]}})
# Tuple parts, in order (version 2; version 1 stops after the decision).
_PARTS = ["t_time", "t_src", "t_dst", "t_sport", "t_dport", "t_proto", "t_direction", "t_decision",
          "t_state", "t_pkts_out", "t_bytes_out", "t_pkts_in", "t_bytes_in"]
_COUNTS = {"t_sport": "source port", "t_dport": "destination port", "t_pkts_out": "packets src->dst",
           "t_bytes_out": "bytes src->dst", "t_pkts_in": "packets dst->src", "t_bytes_in": "bytes dst->src"}
_SNIFF = re.compile(r'"category"\s*:\s*"NetworkSecurityGroupFlowEvent"|"flowTuples"\s*:\s*\[')
_IP = (r"\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*")


def _tuple_reasons() -> list[tuple[str, str]]:
    def t(msg: str) -> str:
        return f"'tuple ' || __ti || ': ' || {msg}"

    reasons = [("__t IS NULL", t("'null instead of a flow tuple string'")),
               ("len(__parts) NOT IN (8, 13)",
                t("'has ' || len(__parts) || ' comma-separated parts; an NSG flow tuple has 13 "
                  "(version 2) or 8 (version 1): ' || left(__t, 100)"))]
    reasons += [(c, t(m)) for c, m in epoch_reasons("t_time", "time")]
    reasons.append(("t_time IS NULL", t("'no time (first part empty)'")))
    for col, label in (("t_src", "source address"), ("t_dst", "destination address")):
        reasons.append((f"{col} IS NULL OR NOT regexp_full_match({col}, '{_IP}')",
                        t(f"'{label} is not an IP address: ' || coalesce(left({col}, 60), '(empty)')")))
    for col, label in _COUNTS.items():
        reasons.append((f"{col} IS NOT NULL AND NOT regexp_full_match({col}, '\\d{{1,18}}')",
                        t(f"'{label} is not a whole number: ' || left({col}, 40)")))
    for col, label in (("t_sport", "source port"), ("t_dport", "destination port")):
        reasons.append((f"TRY_CAST({col} AS BIGINT) > 65535", t(f"'{label} ' || {col} || ' is out of range 0-65535'")))
    return reasons


@register
class AzureNsgFlowLoader(SpecLoader):
    name = "azure_nsg_flow"
    description = ("Azure NSG flow logs v1/v2 ({\"records\": [...]} PT1H.json blobs or one record per "
                   "line): one row per flow tuple")
    extensions = (".json", ".jsonl", ".ndjson", ".log")

    def sniff(self, head: str) -> int:
        # azure_activity only claims its own categories; this one is the NSG flow category.
        return 100 if _SNIFF.search(head) else 0

    def stage(self, con, source: SourceFile, mapping=None) -> None:
        records, cleanup = json_records(con, source)
        p = Params()
        try:
            con.execute(f"CREATE TEMP TABLE {STAGED} AS {self._sql(records(p), source, p)}", p.values)
        finally:
            cleanup()

    def _sql(self, lines: str, source: SourceFile, p: Params) -> str:
        shape = p.add(_SHAPE, "VARCHAR")
        parsed = (f"SELECT __rec, __line, __j, CASE WHEN __j IS NOT NULL THEN json_type(__j) END AS __kind, "
                  f"CASE WHEN json_type(__j) = 'OBJECT' THEN json_type(__j, '$.properties.flows') END AS __flows_type "
                  f"FROM (SELECT __rec, __line, TRY_CAST(__line AS JSON) AS __j FROM {lines})")
        # Every tuple with its rule, MAC and index in the record. A rule group or MAC entry that
        # is not in the NSG shape (no list where one belongs) would lose its tuples unseen, so
        # the record is rejected whole instead.
        listed = (f"SELECT *, list_transform(flatten(list_transform(__s.properties.flows, lambda g: "
                  f"flatten(list_transform(g.flows, lambda f: list_transform(f.flowTuples, lambda t: "
                  f"{{'rule': g.rule, 'mac': f.mac, 't': t}}))))), lambda x, i: struct_insert(x, ti := i)) AS __tl, "
                  f"coalesce(list_bool_or(list_transform(__s.properties.flows, lambda g: g IS NULL OR g.flows IS NULL "
                  f"OR coalesce(list_bool_or(list_transform(g.flows, lambda f: f IS NULL OR f.flowTuples IS NULL)), false))), "
                  f"false) AS __bad_shape "
                  f"FROM (SELECT *, CASE WHEN __flows_type = 'ARRAY' THEN json_transform(__j, {shape}) END AS __s "
                  f"FROM ({parsed}))")
        one = (f"SELECT *, __ok AND coalesce(len(__tl), 0) = 0 AS __no_tuples, "
               f"CASE WHEN __ok AND len(__tl) > 0 THEN __tl ELSE [NULL] END AS __each "
               f"FROM (SELECT *, coalesce(__flows_type = 'ARRAY' AND NOT __bad_shape, false) AS __ok FROM ({listed}))")
        rows = f"SELECT * EXCLUDE (__tl, __each, __s), unnest(__each) AS __x FROM ({one})"
        parts = ", ".join(f"nullif(trim(__parts[{i}]), '') AS {name}" for i, name in enumerate(_PARTS, start=1))
        prefix = p.add(source.sha256[:12] + "-", "VARCHAR")
        tuples = (f"SELECT *, {parts}, "
                  f"CASE WHEN TRY_CAST(t_time_raw AS DOUBLE) BETWEEN 946684800 AND 4102444800 THEN "
                  f"strftime(make_timestamp(CAST(TRY_CAST(t_time_raw AS DOUBLE) * 1000000 AS BIGINT)), "
                  f"'%Y-%m-%dT%H:%M:%SZ') END AS t_ts "
                  f"FROM (SELECT *, __x.t AS __t, __x.ti AS __ti, __x.rule AS __rule, __x.mac AS __mac, "
                  f"CASE WHEN __x.t IS NOT NULL THEN string_split(__x.t, ',') END AS __parts, "
                  f"nullif(trim(split_part(__x.t, ',', 1)), '') AS t_time_raw, "
                  f"{prefix} || __rec || coalesce('-' || __x.ti, '') AS __eid FROM ({rows}))")
        # extra: the record without its flow lists, plus this tuple's own parts.
        drop = p.add(json.dumps({"properties": {"flows": None}}), "JSON")
        own = ("json_object('rule', __rule, 'mac', __mac, 'tuple', __ti, 'flow_tuple', __t, "
               "'direction', t_direction, 'decision', t_decision, 'flow_state', t_state, "
               "'packets_out', TRY_CAST(t_pkts_out AS BIGINT), 'bytes_out', TRY_CAST(t_bytes_out AS BIGINT), "
               "'packets_in', TRY_CAST(t_pkts_in AS BIGINT), 'bytes_in', TRY_CAST(t_bytes_in AS BIGINT))")
        extra = f"CASE WHEN __kind = 'OBJECT' THEN json_merge_patch(json_merge_patch(__j, {drop}), {own}) END"
        pre = [("__kind IS NULL", "'not valid JSON'"),
               ("__kind <> 'OBJECT'", "'not a JSON object (a JSON ' || lower(__kind) || ')'"),
               ("__flows_type IS NULL", "'no properties.flows: not an NSG flow log record'"),
               ("__flows_type <> 'ARRAY'", "'properties.flows is not a list: not an NSG flow log record'"),
               ("__bad_shape", "'properties.flows is not in the NSG shape (rule groups with flows[] of "
                               "{mac, flowTuples[]}): its tuples cannot be read with certainty'"),
               *_tuple_reasons()]
        # The tuple text identifies a rejected tuple; the whole record, a rejected record.
        return self._select(f"({tuples})", p, source, extra_sql=extra, pre_reasons=pre,
                            raw_sql="coalesce(__t, __line)")


@register
class AzureNsgAnalyticsLoader(CsvLoader):
    """Traffic Analytics rows (AzureNetworkAnalytics_CL) exported to CSV, through the csv loader
    with the mapping shipped in ``formats/azure_nsg_analytics.yml``."""

    name = "azure_nsg_analytics"
    description = ("Azure Traffic Analytics (AzureNetworkAnalytics_CL) exported to CSV: aggregated "
                   "NSG flows per hour, VM side and remote side, flow counts (no bytes)")
    needs_mapping = False
    table = "transfer_events"
    extensions = (".csv",)
    _needed = {"FlowStartTime", "FlowEndTime", "FlowDirection", "L4Protocol", "AllExtIPs", "VMIPAddress"}

    def sniff(self, head: str) -> int:
        first = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
        names = {f.strip().strip('"') for f in first.split(",")}
        return 95 if self._needed <= names else 0

    def stage(self, con, source: SourceFile, mapping=None) -> None:
        from importlib import resources

        path = resources.files(__package__).joinpath("formats", "azure_nsg_analytics.yml")
        with resources.as_file(path) as file:
            builtin = load_mapping(file)
        return super().stage(con, source, mapping or builtin)
