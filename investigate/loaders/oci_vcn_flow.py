"""OCI VCN flow logs (format ``oci_vcn_flow``): see ``formats/oci_vcn_flow.yml``."""

from __future__ import annotations

import re

from .base import register
from .native import JsonSpecLoader

# The event type as a JSON member, not just the words (a README or a manifest may name them).
_TYPE = re.compile(r'"type"\s*:\s*"com\.oraclecloud\.vcn\.flowlogs\.')

# Flow logs cannot predate 2000 or postdate 2100: a value outside is a unit error (milliseconds
# for seconds) or a relative time, and loading it would put the flow in 1970 or in year 55000.
EPOCH_MIN, EPOCH_MAX = 946684800, 4102444800


def epoch_reasons(value: str, label: str) -> list[tuple[str, str]]:
    """Pre-reasons rejecting epoch-seconds text ``value`` (SQL) that is not a plausible date.

    ``label`` is a constant naming the field in the message (never text from a file).
    """
    shown = f"left({value}, 40)"
    return [
        (f"{value} IS NOT NULL AND TRY_CAST({value} AS DOUBLE) IS NULL",
         f"'{label} is not a number of seconds since 1970: ' || {shown}"),
        (f"TRY_CAST({value} AS DOUBLE) < {EPOCH_MIN}",
         f"'{label} ' || {shown} || ' is before 2000-01-01 in epoch seconds, so not a date of this "
         f"log (loading it would give 1970)'"),
        (f"TRY_CAST({value} AS DOUBLE) >= {EPOCH_MAX}",
         f"'{label} ' || {shown} || ' is after 2100 in epoch seconds (milliseconds?), so not a "
         f"date of this log'"),
    ]


@register
class OciVcnFlowLoader(JsonSpecLoader):
    name = "oci_vcn_flow"
    description = ("OCI VCN flow logs (com.oraclecloud.vcn.flowlogs.DataEvent): Service Connector "
                   "lines or arrays, console / Logging-search exports ({datetime, logContent})")
    extensions = (".json", ".jsonl", ".ndjson", ".log")

    def sniff(self, head: str) -> int:
        # oci_audit looks for "com.oraclecloud." too (a third of its score): the event type
        # decides, and only flow logs carry this one.
        return 100 if _TYPE.search(head) else 0

    def _select(self, from_sql, p, source, *, extra_sql, pre_reasons):
        # After "not valid JSON": times that cannot be a flow's, then a missing start.
        reasons = list(pre_reasons) + epoch_reasons("start_s", "data.startTime") \
            + epoch_reasons("end_s", "data.endTime") \
            + [("start_s IS NULL", "'no data.startTime: the flow has no start time'")]
        return super()._select(from_sql, p, source, extra_sql=extra_sql, pre_reasons=reasons)
