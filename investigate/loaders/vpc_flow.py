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
from .base import StageOutput, register
from .native import SpecLoader
from .records import RecordFile, batch_lines_sql
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

def ip_or_null(v: str) -> str:
    """SQL: ``v`` when it is an IPv4 or IPv6 address, else NULL (the loaders' ``ip_text``)."""
    return f"ip_text({v})"


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

    batch = True

    def stage(self, con, source: SourceFile, mapping, options=None) -> StageOutput:
        return self.stage_batch(con, [source], mapping, options)

    def stage_batch(self, con, sources: list[SourceFile], mapping, options=None) -> StageOutput:
        option = parse_fields_option(options["fields"]) if options and options.get("fields") else None
        files = [RecordFile(no, source) for no, source in enumerate(sources, start=1)]

        def text_sql(p: Params, exclude=None) -> str:
            return (f"(SELECT __file, __rec, __line, CASE WHEN starts_with(ltrim(__line), '{{') "
                    f"THEN try(json_extract_string(__line, '$.message')) ELSE __line END AS __text "
                    f"FROM {batch_lines_sql(files, p, exclude=exclude)})")

        # Pass 1: the lines that can be header lines (every token a field-like name) are few;
        # Python tells the headers among them and numbers their distinct layouts.
        q = Params()
        cands = con.execute(
            f"SELECT __file, __rec, string_split_regex(trim(__text), '\\s+') FROM {text_sql(q)} "
            f"WHERE regexp_full_match(trim(__text), '[a-z][a-z0-9-]*(\\s+[a-z][a-z0-9-]*)*') "
            f"ORDER BY __file, __rec", q.values).fetchall()
        layouts: list[list[str]] = []
        numbers: dict[tuple, int] = {}
        headers: list[tuple[int, int, int]] = []   # (file, line, layout number)
        for file_no, rec, tokens in cands:
            if _is_header(tokens):
                no = numbers.setdefault(tuple(tokens), len(numbers) + 1)
                if no > len(layouts):
                    layouts.append(list(tokens))
                headers.append((int(file_no), int(rec), no))
        n_hdr = len(layouts)
        layouts.extend([option] if option else DEFAULT_LAYOUTS.values())

        def pipeline(p: Params, exclude=None, count_only: bool = False) -> str:
            if count_only and not headers:
                return f"SELECT __file, __rec FROM {batch_lines_sql(files, p, parts=False)}"
            if count_only:  # header lines are not records
                return (f"SELECT l.__file, l.__rec FROM {batch_lines_sql(files, p, parts=False)} AS l ANTI JOIN "
                        f"(SELECT unnest({p.add([h[0] for h in headers], 'INTEGER[]')}) AS f, "
                        f"unnest({p.add([h[1] for h in headers], 'BIGINT[]')}) AS r) AS h "
                        f"ON l.__file = h.f AND l.__rec = h.r")
            return self._records_sql(p, text_sql(p, exclude), sources, layouts, n_hdr, option is not None,
                                     headers)

        return StageOutput(pipeline=pipeline)

    def _records_sql(self, p: Params, text: str, sources: list[SourceFile], layouts: list[list[str]],
                     n_hdr: int, from_option: bool, headers: list[tuple[int, int, int]]) -> str:
        """The typed records of the files, given their layouts: first those of their header
        lines (``n_hdr``; ``headers`` says which line of which file has which), then the
        option's or the defaults."""
        if from_option:
            fallback = str(n_hdr + 1)
            fallback_from = p.add("the fields option", "VARCHAR")
        else:
            fallback = ("CASE len(__parts) " + " ".join(f"WHEN {n} THEN {n_hdr + i}" for i, n in
                                                       enumerate(DEFAULT_LAYOUTS, start=1)) + " END")
            fallback_from = (f"{p.add('the default layout of ', 'VARCHAR')} || len(__parts) || "
                             f"{p.add(' fields', 'VARCHAR')}")
        # Split on single spaces; the regex split only for a line with other blanks (tested with
        # contains(), a third of the cost of a regex over every line).
        other_blanks = ("contains(__text, '  ') OR starts_with(__text, ' ') OR suffix(__text, ' ') "
                        "OR contains(__text, chr(9)) OR contains(__text, chr(12)) OR contains(__text, chr(13))")
        # (trim() only takes spaces off; the regex takes tabs too.)
        split = (f"CASE WHEN {other_blanks} THEN string_split_regex("
                 "regexp_replace(__text, '^\\s+|\\s+$', '', 'g'), '\\s+') "
                 "ELSE string_split(__text, ' ') END")
        base = f"SELECT __file, __rec, __line, __text, {split} AS __parts FROM {text}"
        per_file: dict[int, list[tuple[int, int]]] = {}
        for file_no, rec, no in headers:
            per_file.setdefault(file_no, []).append((rec, no))
        if not headers:
            staged = f"SELECT *, NULL::INTEGER AS __hdr_no, NULL::BIGINT AS __hdr_rec FROM ({base})"
        elif all(len(h) == 1 for h in per_file.values()):
            # One header line per file (S3 delivery writes one at the top of each object): the
            # file's header, looked up by its number.
            n = len(sources)
            recs = p.add([per_file.get(i, [(None, None)])[0][0] for i in range(1, n + 1)], "BIGINT[]")
            nos = p.add([per_file.get(i, [(None, None)])[0][1] for i in range(1, n + 1)], "INTEGER[]")
            staged = (f"SELECT *, CASE WHEN __rec > ({recs})[__file] THEN ({nos})[__file] END::INTEGER AS __hdr_no, "
                      f"CASE WHEN __rec > ({recs})[__file] THEN ({recs})[__file] END::BIGINT AS __hdr_rec "
                      f"FROM ({base}) WHERE __rec IS DISTINCT FROM ({recs})[__file]")
        elif len(headers) <= 64:
            pairs = headers[::-1]
            no_sql = "CASE " + " ".join(f"WHEN __file = {f} AND __rec > {r} THEN {n}" for f, r, n in pairs) + " END"
            rec_sql = "CASE " + " ".join(f"WHEN __file = {f} AND __rec > {r} THEN {r}" for f, r, _ in pairs) + " END"
            excluded = " OR ".join(f"(__file = {f} AND __rec = {r})" for f, r, _ in headers)
            staged = (f"SELECT *, {no_sql}::INTEGER AS __hdr_no, {rec_sql}::BIGINT AS __hdr_rec FROM ({base}) "
                      f"WHERE NOT ({excluded})")
        else:
            heads = (f"(SELECT unnest({p.add([h[0] for h in headers], 'INTEGER[]')}) AS __h_file, "
                     f"unnest({p.add([h[1] for h in headers], 'BIGINT[]')}) AS __h_rec, "
                     f"unnest({p.add([h[2] for h in headers], 'INTEGER[]')}) AS __h_no)")
            staged = (f"SELECT b.*, h.__h_no AS __hdr_no, h.__h_rec AS __hdr_rec FROM ({base}) AS b "
                      f"ASOF LEFT JOIN {heads} AS h ON b.__file = h.__h_file AND b.__rec >= h.__h_rec "
                      f"WHERE h.__h_rec IS DISTINCT FROM b.__rec")

        def per_layout(values: dict[int, str], default: str = "NULL") -> str:
            if not values:
                return default
            return "CASE __lno " + " ".join(f"WHEN {no} THEN {v}" for no, v in values.items()) + f" ELSE {default} END"

        lens = per_layout({no: str(len(lay)) for no, lay in enumerate(layouts, start=1)})
        numbered = (f"SELECT *, CASE WHEN __text IS NULL THEN NULL ELSE coalesce(__hdr_no, {fallback}) END AS __lno, "
                    f"CASE WHEN __hdr_no IS NOT NULL THEN {p.add('the header line ', 'VARCHAR')} || __hdr_rec "
                    f"ELSE {fallback_from} END AS __layout_from FROM ({staged})")
        checked = f"SELECT *, {lens} AS __llen, (__lno IS NOT NULL AND len(__parts) = {lens}) AS __ok FROM ({numbered})"
        names: dict[str, str] = {}

        def name_param(n: str) -> str:
            if n not in names:
                names[n] = p.add(n.replace("-", "_"), "VARCHAR")
            return names[n]

        # Every field at a fixed position per layout; __fno is the layout number of a line
        # whose number of fields agrees with it (NULL otherwise: no fields).
        cols = []
        for n in KNOWN:
            at = {no: f"nullif(__parts[{lay.index(n) + 1}], '-')" for no, lay in enumerate(layouts, start=1)
                  if n in lay}
            cols.append(f"{per_layout(at).replace('CASE __lno', 'CASE __fno')} AS {quote_ident(n.replace('-', '_'))}")
        objects = {}
        for no, lay in enumerate(layouts, start=1):
            kept = [(i, n) for i, n in enumerate(lay, start=1) if n not in IN_COLUMNS]
            objects[no] = ("json_object(" + ", ".join(f"{name_param(n)}, nullif(__parts[{i}], '-')" for i, n in kept)
                           + ")") if kept else "'{}'::JSON"
        base_extra = per_layout(objects).replace("CASE __lno", "CASE __fno")
        fields = (f"(SELECT *, {', '.join(cols)}, {base_extra} AS __extra0 FROM "
                  f"(SELECT *, CASE WHEN __ok THEN __lno END AS __fno FROM ({checked})))")
        parsed = (f"(SELECT *, {ip_or_null('srcaddr')} AS __src_ip, {ip_or_null('dstaddr')} AS __dst_ip, "
                  f"{protocol_sql('protocol', p)} AS __protocol FROM {fields})")
        extra = ("CASE WHEN NOT __ok THEN NULL "
                 "WHEN (__src_ip IS NULL AND srcaddr IS NOT NULL) OR (__dst_ip IS NULL AND dstaddr IS NOT NULL) "
                 "THEN json_merge_patch(__extra0, json_object("
                 "'srcaddr', CASE WHEN __src_ip IS NULL THEN srcaddr END, "
                 "'dstaddr', CASE WHEN __dst_ip IS NULL THEN dstaddr END)) ELSE __extra0 END")
        dup = [no for no, lay in enumerate(layouts, start=1) if len(set(lay)) != len(lay)]
        no_start = [no for no, lay in enumerate(layouts, start=1) if "start" not in lay]

        def among(nos: list[int]) -> str:
            return f"__lno IN ({', '.join(map(str, nos))})" if nos else "false"

        def msg(text: str) -> str:
            return p.add(text, "VARCHAR")

        def before_2000(field: str) -> tuple[str, str]:
            v = quote_ident(field)
            return (f"TRY_CAST({v} AS DOUBLE) < {EPOCH_2000}",
                    f"{msg(f'{field} ')} || {v} || {msg(' is ')} || "
                    f"strftime(to_timestamp(TRY_CAST({v} AS DOUBLE)), '%Y-%m-%d %H:%M:%S') || {msg(_BEFORE_2000)}")

        return self._select(parsed, p, sources, extra_sql=extra, pre_reasons=[
            ("__text IS NULL", msg('a JSON line without a "message" string holding a flow log record')),
            ("__lno IS NULL",
             f"len(__parts) || {msg(_NO_LAYOUT)} || left(__text, 80)"),
            ("NOT __ok", f"len(__parts) || {msg(' fields where ')} || __layout_from || {msg(' names ')} "
                         f"|| __llen || {msg(': ')} || left(__text, 80)"),
            (among(dup), f"__layout_from || {msg(' names a field twice')}"),
            (among(no_start), f"__layout_from || {msg(_NO_START)}"),
            before_2000("start"),
            before_2000("end"),
        ])

