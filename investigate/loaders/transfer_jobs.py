"""Backup and replication job logs (format ``transfer_jobs``): the generic route for
application-level transfers.

A job log is whatever the backup or replication tool exports (CSV or JSON Lines), so it loads
through a mapping as ``csv``/``jsonl`` do; this format only fixes the table (``transfer_events``),
tells CSV from JSON by the content, and knows the status words such tools write. Typical
mapping::

    columns:
      event_id: job_id
      dataset: dataset
      src_host: source_site        # site or host names; the IPs too where the log has them
      dst_host: destination_site
      bytes: bytes_copied
      ts_start: started_at
      ts_end: finished_at
      outcome: status
"""

from __future__ import annotations

from .base import Loader, register
from .generic import CsvLoader, JsonLinesLoader
from .mapping import Mapping
from .sources import SourceFile, head_bytes

# Status words of backup and replication tools (Veeam, Bacula, rsync wrappers, cloud
# replication reports), beyond the common ones every mapping knows.
JOB_OUTCOMES = {
    "completed": "success", "complete": "success", "done": "success", "finished": "success",
    "succeeded_with_warnings": "success", "warning": "success", "ok_with_warnings": "success",
    "aborted": "failure", "cancelled": "failure", "canceled": "failure", "timed_out": "failure",
    "timeout": "failure", "partial": "failure", "incomplete": "failure", "killed": "failure",
}


@register
class TransferJobsLoader(Loader):
    name = "transfer_jobs"
    description = ("Backup / replication job logs (CSV or JSON Lines) via a mapping: job, dataset, "
                   "source and destination site or host, bytes, start, end, status")
    table = "transfer_events"
    needs_mapping = True
    extensions = (".csv", ".jsonl", ".json", ".ndjson")

    def stage(self, con, source: SourceFile, mapping: Mapping) -> None:
        if mapping.table != "transfer_events":
            from ..errors import MappingError

            raise MappingError(f"{mapping.origin}: transfer_jobs fills transfer_events; the mapping says "
                               f"table: {mapping.table}")
        # The tool's status words are known without listing them; the mapping's own win.
        mapping = _with_outcomes(mapping, {**JOB_OUTCOMES, **mapping.outcomes})
        head = head_bytes(source, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        inner = JsonLinesLoader() if head[:1] in (b"{", b"[") else CsvLoader()
        return inner.stage(con, source, mapping)


def _with_outcomes(mapping: Mapping, outcomes: dict[str, str]) -> Mapping:
    from dataclasses import replace

    return replace(mapping, outcomes=outcomes)
