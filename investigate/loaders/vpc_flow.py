"""AWS VPC Flow Logs, versions 2 to 8, and Transit Gateway flow logs (format ``vpc_flow``).

A record is one line of space-separated fields; which field is which depends on the layout the
flow log was created with. The layout in force for a line is, in this order:

1. the most recent header line before it (S3 delivery writes one at the top of every object,
   so concatenated objects repeat it mid-file; header lines are not records);
2. the ``fields`` option (AWS's format string, with or without ``${...}``), for files without a
   header (CloudWatch Logs, Firehose, or a custom layout exported without one);
3. a default layout told by the number of fields: 14 (the v2 default), 29 (every v2-v5 field in
   AWS's order), 36 (the Transit Gateway default), 40 (every v2-v8 field in AWS's order).

A line may be wrapped as CloudWatch Logs / Firehose deliver it: ``{"message": "<flow line>"}``.
Fields are named in SQL with ``-`` written as ``_`` (``log-status`` -> ``log_status``); the
spec ``formats/vpc_flow.yml`` maps them to canonical columns.
"""

from __future__ import annotations

import json
import re

from ..errors import InvestigateError
from .base import STAGED, register
from .native import SpecLoader
from .records import lines_sql
from .sources import SourceFile
from .typed import Params, quote_ident

V2 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
      "start end action log-status").split()
V3 = "vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr".split()
V4 = "region az-id sublocation-type sublocation-id".split()
V5 = "pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path".split()
V7 = ("ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id "
      "ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn "
      "ecs-task-arn ecs-task-id").split()
V8 = ["reject-reason"]
TGW = ("version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id "
       "tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id "
       "tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr "
       "srcport dstport protocol packets bytes start end log-status type packets-lost-no-route "
       "packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region "
       "flow-direction pkt-src-aws-service pkt-dst-aws-service").split()
# Layouts of header-less files, by their number of fields.
DEFAULT_LAYOUTS = {14: V2, 29: V2 + V3 + V4 + V5, 36: TGW, 40: V2 + V3 + V4 + V5 + V7 + V8}
KNOWN = list(dict.fromkeys(V2 + V3 + V4 + V5 + V7 + V8 + TGW))
# Fields a canonical column holds in full (left out of extra); srcaddr/dstaddr stay in extra
# when they are not an IP address.
IN_COLUMNS = ["srcaddr", "dstaddr", "srcport", "dstport", "protocol", "bytes", "packets", "start",
              "end", "action"]
# IANA protocol numbers -> names; an unknown number stays as the number.
PROTOCOLS = {"0": "hopopt", "1": "icmp", "2": "igmp", "4": "ipv4", "6": "tcp", "8": "egp",
             "17": "udp", "41": "ipv6", "47": "gre", "50": "esp", "51": "ah", "58": "icmpv6",
             "88": "eigrp", "89": "ospf", "103": "pim", "112": "vrrp", "132": "sctp"}
# 2000-01-01T00:00:00Z: no flow log is older; a smaller start is a cut or corrupted value.
EPOCH_2000 = 946684800
_NAME = re.compile(r"[a-z][a-z0-9-]*")
_NO_LAYOUT = (" fields, and no header line or fields option says which they are (header-less default "
              "layouts have 14, 29, 36 or 40 fields; give the layout with the option fields): ")
_NO_START = (" has no start field: a flow without a time cannot be loaded (add ${start} ${end} to "
             "the flow log format)")
_BEFORE_2000 = (" UTC, before 2000: not a real flow time (epoch seconds have 10 digits; this value is "
                "cut or corrupted), so it is not loaded as that date")

IPV4_RE = (r"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
           r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def ip_or_null(v: str) -> str:
    """SQL: ``v`` when it is an IPv4 or IPv6 address, else NULL."""
    return (f"CASE WHEN regexp_full_match({v}, '{IPV4_RE}') OR (regexp_full_match({v}, '[0-9A-Fa-f:.]+') "
            f"AND length({v}) - length(replace({v}, ':', '')) >= 2) THEN {v} END")


def protocol_sql(v: str, p: Params) -> str:
    """SQL: an IANA protocol number as its lower-case name; a name lower-cased; else as written."""
    names = f"MAP({p.add(list(PROTOCOLS), 'VARCHAR[]')}, {p.add(list(PROTOCOLS.values()), 'VARCHAR[]')})"
    return f"CASE WHEN regexp_full_match({v}, '[0-9]+') THEN coalesce({names}[{v}], {v}) ELSE lower({v}) END"


def extra_json(names: str, values: str, excluded: str, null_values: str) -> str:
    """SQL building a JSON object from two lists (field names, values), leaving out the names in
    ``excluded``; names get ``_`` for ``-``; a value in ``null_values`` is null."""
    pairs = f"list_filter(list_zip({names}, {values}), lambda x: NOT list_contains({excluded}, x[1]))"
    member = (f"lambda x: to_json(replace(x[1], '-', '_')) || ':' || "
              f"CASE WHEN list_contains({null_values}, x[2]) THEN 'null' ELSE to_json(x[2]) END")
    return f"('{{' || array_to_string(list_transform({pairs}, {member}), ',') || '}}')"


def parse_fields_option(text: str) -> list[str]:
    """The ``fields`` option as a list of field names (``${a} ${b}`` or ``a b``)."""
    names = [n.removeprefix("${").removesuffix("}") for n in str(text).split()]
    bad = [n for n in names if not _NAME.fullmatch(n)]
    if not names or bad:
        raise InvestigateError(f"option fields: expected AWS flow log field names separated by spaces "
                               f"(e.g. 'version account-id interface-id ...'); got {text!r}")
    if len(set(names)) != len(names):
        raise InvestigateError(f"option fields: a field is named twice in {text!r}")
    return names


def _is_header(tokens: list[str]) -> bool:
    known = sum(t in KNOWN for t in tokens)
    return all(_NAME.fullmatch(t) for t in tokens) and known * 2 > len(tokens)


@register
class VpcFlowLoader(SpecLoader):
    name = "vpc_flow"
    description = ("AWS VPC Flow Logs v2-v8 and Transit Gateway flow logs: space-separated records, "
                   "with or without a header line, plain or {\"message\": ...} wrapped")
    extensions = (".log", ".txt")
    options = {"fields": "the flow log's format string (e.g. '${version} ${account-id} ...' or "
                         "'version account-id ...') for a file without a header line"}

    def sniff(self, head: str) -> int:
        """95 for a header line of flow log field names, or lines that look like records of a
        default layout (14, 29, 36 or 40 fields starting with a version 2 to 8)."""
        lines = head.lstrip("\ufeff").split("\n")
        lines = [ln.strip() for ln in (lines[:-1] if len(lines) > 1 else lines) if ln.strip()][:20]
        if not lines:
            return 0
        hits = 0
        for ln in lines:
            if ln.startswith("{"):
                try:
                    ln = json.loads(ln).get("message", "")
                except (ValueError, AttributeError):
                    return 0
                if not isinstance(ln, str):
                    return 0
            tokens = ln.split(" ")
            if _is_header(tokens) or (len(tokens) in DEFAULT_LAYOUTS and tokens[0] in "2345678"
                                      and len(tokens[0]) == 1):
                hits += 1
        return 95 if hits * 5 >= len(lines) * 4 else 0

    def stage(self, con, source: SourceFile, mapping, options=None) -> None:
        p = Params()
        option = parse_fields_option(options["fields"]) if options and options.get("fields") else None
        known, counts = p.add(KNOWN, "VARCHAR[]"), p.add(list(DEFAULT_LAYOUTS), "INTEGER[]")
        layouts = f"MAP({counts}, {p.add(list(DEFAULT_LAYOUTS.values()), 'VARCHAR[][]')})"
        opt = p.add(option, "VARCHAR[]") if option else "NULL::VARCHAR[]"
        window = "OVER (ORDER BY __rec ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        split = f"""
            SELECT *, (__parts IS NOT NULL
                       AND list_bool_and(list_transform(__parts, lambda x: regexp_full_match(x, '[a-z][a-z0-9-]*')))
                       AND len(list_filter(__parts, lambda x: list_contains({known}, x))) * 2 > len(__parts)) AS __is_header
            FROM (SELECT __rec, __line, __text, string_split_regex(trim(__text), '\\s+') AS __parts FROM (
                SELECT __rec, __line, CASE WHEN starts_with(ltrim(__line), '{{')
                    THEN try(json_extract_string(__line, '$.message')) ELSE __line END AS __text
                FROM {lines_sql(source, p)}))"""
        headed = f"""
            SELECT *, coalesce(__hdr, {opt}, {layouts}[len(__parts)]) AS __layout,
                   CASE WHEN __hdr IS NOT NULL THEN 'the header line ' || __hdr_rec
                        WHEN {opt} IS NOT NULL THEN 'the fields option'
                        ELSE 'the default layout of ' || len(__parts) || ' fields' END AS __layout_from
            FROM (SELECT *, last_value(CASE WHEN __is_header THEN __parts END IGNORE NULLS) {window} AS __hdr,
                         last_value(CASE WHEN __is_header THEN __rec END IGNORE NULLS) {window} AS __hdr_rec
                  FROM ({split}))
            WHERE NOT coalesce(__is_header, false)"""
        ok = "(__layout IS NOT NULL AND len(__layout) = len(__parts))"
        cols = ", ".join(f"CASE WHEN {ok} THEN nullif(__parts[list_position(__layout, {p.add(n, 'VARCHAR')})], '-') END "
                         f"AS {quote_ident(n.replace('-', '_'))}" for n in KNOWN)
        fields = f"(SELECT *, {ok} AS __ok, {cols} FROM ({headed}))"
        parsed = (f"(SELECT *, {ip_or_null('srcaddr')} AS __src_ip, {ip_or_null('dstaddr')} AS __dst_ip, "
                  f"{protocol_sql('protocol', p)} AS __protocol FROM {fields})")
        extra = extra_json("__layout", "__parts", p.add(IN_COLUMNS, "VARCHAR[]"), p.add(["-"], "VARCHAR[]"))
        extra = (f"CASE WHEN __ok THEN json_merge_patch({extra}, json_object("
                 f"'srcaddr', CASE WHEN __src_ip IS NULL THEN srcaddr END, "
                 f"'dstaddr', CASE WHEN __dst_ip IS NULL THEN dstaddr END)) END")

        def msg(text: str) -> str:
            return p.add(text, "VARCHAR")

        def before_2000(field: str) -> tuple[str, str]:
            v = quote_ident(field)
            return (f"TRY_CAST({v} AS DOUBLE) < {EPOCH_2000}",
                    f"{msg(f'{field} ')} || {v} || {msg(' is ')} || "
                    f"strftime(to_timestamp(TRY_CAST({v} AS DOUBLE)), '%Y-%m-%d %H:%M:%S') || {msg(_BEFORE_2000)}")

        sql = self._select(parsed, p, source, extra_sql=extra, pre_reasons=[
            ("__text IS NULL", msg('a JSON line without a "message" string holding a flow log record')),
            ("__layout IS NULL",
             f"len(__parts) || {msg(_NO_LAYOUT)} || left(__text, 80)"),
            (f"NOT {ok}", f"len(__parts) || {msg(' fields where ')} || __layout_from || {msg(' names ')} "
                          f"|| len(__layout) || {msg(': ')} || left(__text, 80)"),
            ("len(list_distinct(__layout)) <> len(__layout)", f"__layout_from || {msg(' names a field twice')}"),
            (f"NOT list_contains(__layout, 'start')",
             f"__layout_from || {msg(_NO_START)}"),
            before_2000("start"),
            before_2000("end"),
        ])
        con.execute(f"CREATE TEMP TABLE {STAGED} AS {sql}", p.values)
