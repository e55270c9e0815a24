"""Google Cloud Audit Logs (format ``gcp_audit``): see ``formats/gcp_audit.yml``."""

from __future__ import annotations

from .base import register
from .native import JsonSpecLoader


@register
class GcpAuditLoader(JsonSpecLoader):
    name = "gcp_audit"
    description = ("Google Cloud Audit Logs (LogEntry with an AuditLog protoPayload): JSON Lines "
                   "from a Pub/Sub or Storage sink, Logs Explorer arrays, pretty single entries")
    extensions = (".json", ".jsonl", ".ndjson", ".log")
