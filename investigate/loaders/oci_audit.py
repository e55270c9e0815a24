"""Oracle Cloud Infrastructure Audit (format ``oci_audit``): see ``formats/oci_audit.yml``."""

from __future__ import annotations

from .base import register
from .native import JsonSpecLoader


@register
class OciAuditLoader(JsonSpecLoader):
    name = "oci_audit"
    description = ("OCI Audit events (CloudEvents JSON): Service Connector Hub arrays or lines, "
                   "and Logging-search exports ({datetime, logContent})")
    extensions = (".json", ".jsonl", ".ndjson", ".log")
