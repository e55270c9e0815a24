"""Azure Monitor activity log (format ``azure_activity``): see ``formats/azure_activity.yml``."""

from __future__ import annotations

import re

from .base import register
from .native import JsonSpecLoader

# The activity log's own categories. Resource logs of single services share its top-level keys
# (time, resourceId, operationName, resultType, ...) but have categories of their own
# (AuditEvent, StorageRead, SignInLogs...), so the category is what tells them apart.
_CATEGORY = re.compile(r'"category"\s*:\s*"(Administrative|Action|Write|Delete|Security|ServiceHealth|'
                       r'Alert|Recommendation|Policy|Autoscale|ResourceHealth)"')


@register
class AzureActivityLoader(JsonSpecLoader):
    name = "azure_activity"
    description = ("Azure Monitor activity log, diagnostic-settings schema: {\"records\": [...]} "
                   "blobs from a storage account (PT1H.json), or one record per line (event hub)")
    extensions = (".json", ".jsonl", ".ndjson", ".log")

    def sniff(self, head: str) -> int:
        if _CATEGORY.search(head) and '"operationName"' in head and '"resultType"' in head:
            return 100
        return 0
