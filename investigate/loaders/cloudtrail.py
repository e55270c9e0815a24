"""AWS CloudTrail (format ``cloudtrail``): see ``formats/cloudtrail.yml`` for the mapping."""

from __future__ import annotations

from .base import register
from .native import JsonSpecLoader
from .sources import SourceFile, head_bytes


@register
class CloudTrailLoader(JsonSpecLoader):
    name = "cloudtrail"
    description = ("AWS CloudTrail: {\"Records\": [...]} files as delivered to S3 (.json.gz, one line "
                   "or pretty), JSON Lines from CloudTrail Lake / Athena / Logstash, AWSLogs/ trees")
    extensions = (".json", ".jsonl", ".ndjson")

    def sniff(self, head: str) -> int:
        if '"digestStartTime"' in head and '"logFiles"' in head:
            return 100  # chosen, then skipped with a note
        return super().sniff(head)

    def skip_reason(self, source: SourceFile) -> str | None:
        # Digest files sit next to the logs (AWSLogs/<acct>/CloudTrail-Digest/...): they hold
        # hashes of log files, not events.
        if "CloudTrail-Digest" in source.path.parts or b'"digestStartTime"' in head_bytes(source, 4096):
            return "a CloudTrail digest file (hashes of the log files, not events)"
        return None
