"""Google Cloud VPC Flow Logs (format ``gcp_vpc_flow``): see ``formats/gcp_vpc_flow.yml``."""

from __future__ import annotations

import re

from .base import register
from .native import JsonSpecLoader


_CONNECTION = re.compile(r'"connection"\s*:\s*\{')
_LOG_NAME = re.compile(r'"logName"\s*:\s*"[^"]*vpc_flows"')


@register
class GcpVpcFlowLoader(JsonSpecLoader):
    name = "gcp_vpc_flow"
    description = ("Google Cloud VPC Flow Logs (LogEntry, jsonPayload.connection): JSON Lines from a "
                   "Pub/Sub or Storage sink, Logs Explorer arrays; SRC and DEST reports both kept")
    extensions = (".json", ".jsonl", ".ndjson", ".log")

    def sniff(self, head: str) -> int:
        # The log name says it (compute.googleapis.com%2Fvpc_flows, or networkmanagement's);
        # without it, the payload's own keys do. No audit entry has jsonPayload.connection.
        if not _CONNECTION.search(head):
            return 0
        if _LOG_NAME.search(head):
            return 100
        return 90 if '"jsonPayload"' in head and '"reporter"' in head else 0
        return 0
