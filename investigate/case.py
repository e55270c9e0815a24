"""A case file: one YAML manifest naming every export and reference file of an investigation.

::

    name: ...
    inputs:
      - {path: exports/access.csv, format: csv, mapping: mappings/access.yml}
      - {path: exports/AWSLogs, format: cloudtrail}     # a folder: every file of the format
      - {path: exports/export.zip, format: auto}        # an archive: member by member
      - {path: exports/flows.log, format: vpc_flow, options: {fields: "version account-id ..."}}
    reference:
      networks: reference/network_inventory.csv     # a path, or a list of paths
      actors: reference/staff_roster.csv
      assets: reference/data_catalogue.csv
      policy: reference/policy.yml

Paths are relative to the manifest. Ingesting a case twice adds nothing (files are known by
their sha256), so a notebook can always start with :func:`ingest_case`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .enrich import KINDS, load_reference, refresh
from .errors import InvestigateError
from .loaders import LoadResult, ingest
from .workspace import Workspace


@dataclass
class CaseLoad:
    """What ingesting a case did: one result per export, rows added per reference kind."""

    manifest: dict
    results: list[LoadResult] = field(default_factory=list)
    reference_rows: dict[str, int] = field(default_factory=dict)

    def summary(self, max_files: int = 20) -> str:
        """One line per file; past ``max_files`` files, one line per format, plus a line for
        each file with rejects (those need reading)."""
        if len(self.results) <= max_files:
            lines = [r.summary() for r in self.results]
        else:
            lines = []
            for fmt in dict.fromkeys(r.format for r in self.results):
                group = [r for r in self.results if r.format == fmt]
                loaded = [r for r in group if not r.skipped]
                apart = sum(r.rows_set_apart for r in loaded)
                lines.append(f"{fmt}: {len(loaded):,} files, read {sum(r.rows_read for r in loaded):,}, "
                             f"loaded {sum(r.rows_loaded for r in loaded):,}, rejected "
                             f"{sum(r.rows_rejected for r in loaded):,}"
                             + (f", set apart {apart:,}" if apart else "")
                             + (f"; {len(group) - len(loaded)} skipped" if len(group) > len(loaded) else ""))
                lines += [f"  {r.summary()}" for r in loaded if r.rows_rejected]
        lines += [f"{kind}: {n} rows" for kind, n in self.reference_rows.items()]
        return "\n".join(lines)


def read_manifest(path: str | os.PathLike) -> dict:
    p = Path(path)
    if p.is_dir():
        p = p / "case.yml"
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvestigateError(f"{p}: cannot read the case manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("inputs", []), list):
        raise InvestigateError(f"{p}: expected a YAML table with an 'inputs' list")
    data["_dir"] = str(p.parent.absolute())
    return data


def ingest_case(ws: Workspace, manifest: str | os.PathLike, *, strict: bool = False) -> CaseLoad:
    """Load every reference file, then every export, of a case manifest (a file or its folder)."""
    case = read_manifest(manifest)
    base = Path(case["_dir"])
    load = CaseLoad(manifest=case)
    for kind, paths in (case.get("reference") or {}).items():
        if kind not in KINDS:
            raise InvestigateError(f"{base}/case.yml: unknown reference kind {kind!r}")
        for rel in [paths] if isinstance(paths, str) else paths:
            load.reference_rows[kind] = load.reference_rows.get(kind, 0) + load_reference(ws, kind, base / rel)
    for i, item in enumerate(case.get("inputs") or [], start=1):
        if not isinstance(item, dict) or "path" not in item or "format" not in item:
            raise InvestigateError(f"{base}/case.yml: input {i} needs 'path' and 'format'")
        mapping = base / item["mapping"] if item.get("mapping") else None
        # A folder (an AWSLogs/ tree, a log directory) loads every file of the format below it.
        load.results.extend(ingest(ws, base / item["path"], item["format"], mapping=mapping,
                                   strict=strict, options=item.get("options")))
    refresh(ws)
    return load
