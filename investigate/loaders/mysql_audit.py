"""MySQL Enterprise Audit, JSON format (format ``mysql_audit``): see ``formats/mysql_audit.yml``."""

from __future__ import annotations

import re

from .base import register
from .native import JsonSpecLoader

# Every record starts with these keys, the timestamp zone-less with a space.
_SNIFF = (re.compile(r'"timestamp"\s*:\s*"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"'),
          re.compile(r'"class"\s*:\s*"(?:audit|connection|general|table_access|query|command|message)"'),
          re.compile(r'"connection_id"\s*:\s*\d'))


@register
class MysqlAuditLoader(JsonSpecLoader):
    name = "mysql_audit"
    description = ("MySQL Enterprise Audit JSON log (audit_log_format=JSON): a JSON array written "
                   "without its brackets, one record per line or pretty-printed")
    extensions = (".json", ".log")

    def sniff(self, head: str) -> int:
        return 100 if all(rx.search(head) for rx in _SNIFF) else 0
