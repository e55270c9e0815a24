"""Findings: a sentence with numbers, and everything needed to check it again.

A findings spec (YAML) lists findings::

    findings:
      - id: cn_staff_access
        query: cross_border_access_summary
        params: {category: us_user_data, grain: month}
        where: {access_country: CN}          # keep these rows of the result (equality)
        values:                              # name: aggregate(column) over the kept rows
          accesses: sum(accesses)
          first_ts: min(first_ts)
          months: count()
        sentence: "{accesses:,} accesses ... between {first_ts:%d %B %Y} and ..."

Aggregates: ``sum``, ``min``, ``max``, ``count``, ``first``, ``last``, ``mean``, ``nunique``.
Each finding records its values, the query name and the sha256 of its SQL text, the bound
parameters, the input fingerprint (sha256 of every ingested and reference file), the toolkit
version, the time of the run, and the CSV of the rows behind it.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from .errors import InvestigateError, VerificationError
from .queries import bind_params, get_query, jsonable_params
from .workspace import Workspace

_AGG_RE = re.compile(r"^\s*(sum|min|max|count|first|last|mean|nunique)\(\s*([A-Za-z0-9_]*)\s*\)\s*$")


def toolkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("investigate")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass
class Finding:
    id: str
    sentence: str
    values: dict
    query: str
    params: dict
    sql_sha256: str
    inputs: list[dict]
    toolkit_version: str
    computed_at: str
    rows_csv: str | None = None
    spec: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.sentence


def _plain(value, sql_type: str = ""):
    """A value as JSON can hold it: timestamps in ISO 8601 UTC with microseconds, dates (from a
    DATE column) as YYYY-MM-DD, numpy numbers as Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp) or isinstance(value, datetime):
        ts = pd.Timestamp(value)
        if sql_type == "DATE":
            return ts.strftime("%Y-%m-%d")
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if hasattr(value, "isoformat"):  # date
        return value.isoformat()
    return value


def _aggregate(df: pd.DataFrame, spec_id: str, name: str, expr: str):
    fn, col = _parse_aggregate(spec_id, name, expr)
    if fn == "count":
        return len(df)
    if col not in df.columns:
        raise InvestigateError(f"finding {spec_id}: value {name}: the query returns no column {col!r} "
                               f"(it returns {', '.join(df.columns)})")
    series = df[col]
    if series.empty:
        return 0 if fn == "sum" else None
    if fn == "first":
        return series.iloc[0]
    if fn == "last":
        return series.iloc[-1]
    if fn == "nunique":
        return int(series.nunique())
    return getattr(series, fn)()


def _parse_aggregate(spec_id: str, name: str, expr: str) -> tuple[str, str]:
    m = _AGG_RE.match(str(expr))
    if not m:
        raise InvestigateError(f"finding {spec_id}: value {name}: {expr!r} is not one of "
                               "sum(col), min(col), max(col), count(), first(col), last(col), mean(col), nunique(col)")
    return m.group(1), m.group(2)


def _format_value(value):
    """What a sentence template sees: timestamps as Timestamps (so ``%d %B %Y`` works)."""
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}(T|$)", value):
        return pd.Timestamp(value)
    return value


def keep_rows(df: pd.DataFrame, where: dict | None, context: str) -> pd.DataFrame:
    """The rows whose columns equal the values of ``where`` (a spec's row filter)."""
    for col, want in (where or {}).items():
        if col not in df.columns:
            raise InvestigateError(f"{context}: the query returns no column {col!r}")
        df = df[df[col] == want]
    return df


def evaluate(ws: Workspace, spec: dict, query_dirs=None) -> tuple[dict, pd.DataFrame, str, dict]:
    """Run one finding's query and reduce it to its named values.

    Returns the values (JSON-friendly), the rows kept, the query's sha256 and the bound params.
    """
    for key in ("id", "query", "sentence"):
        if key not in spec:
            raise InvestigateError(f"finding {spec.get('id', '?')}: '{key}' is required")
    query = get_query(spec["query"], query_dirs)
    bound = bind_params(query, spec.get("params") or {})
    cursor = ws.sql(query.text, bound)
    sql_types = {d[0]: str(d[1]) for d in cursor.description}
    df = keep_rows(cursor.df(), spec.get("where"), f"finding {spec['id']}: where")
    values = {}
    for name, expr in (spec.get("values") or {}).items():
        fn, col = _parse_aggregate(spec["id"], name, expr)
        kind = sql_types.get(col, "") if fn in ("min", "max", "first", "last") else ""
        values[name] = _plain(_aggregate(df, spec["id"], name, expr), kind)
    return values, df.reset_index(drop=True), query.sha256, bound


def compute(ws: Workspace, spec: dict, *, out: str | os.PathLike | None = None,
            query_dirs=None) -> Finding:
    """Compute one finding; with ``out``, also write the rows behind it as CSV."""
    values, rows, sha, bound = evaluate(ws, spec, query_dirs)
    try:
        sentence = spec["sentence"].format(**{k: _format_value(v) for k, v in values.items()})
    except (KeyError, ValueError, TypeError) as exc:
        raise InvestigateError(f"finding {spec['id']}: the sentence cannot be filled in ({exc}); "
                               f"values are: {values}") from None
    rows_csv = None
    if out is not None:
        Path(out, "tables").mkdir(parents=True, exist_ok=True)
        rows_csv = f"tables/{spec['id']}.csv"
        rows.to_csv(Path(out, rows_csv), index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    return Finding(
        id=spec["id"], sentence=sentence, values=values, query=spec["query"],
        params=jsonable_params(bound), sql_sha256=sha, inputs=ws.fingerprint(),
        toolkit_version=toolkit_version(),
        computed_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        rows_csv=rows_csv, spec=dict(spec))


def provenance(finding: Finding) -> dict[str, str]:
    """A finding's provenance as text fields, for a chart's file metadata.

    No run time is included, so the same inputs give byte-identical figures.
    """
    return {
        "Query": finding.query,
        "Parameters": json.dumps(finding.params, sort_keys=True),
        "SQL-sha256": finding.sql_sha256,
        "Inputs": "; ".join(f"{Path(i['path']).name}={i['sha256']}" for i in finding.inputs),
        "Toolkit": f"investigate {finding.toolkit_version}",
    }


def load_document(path: str | os.PathLike) -> dict:
    """The whole findings spec: its ``findings`` list, and the ``report`` table if any."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvestigateError(f"{path}: cannot read the findings spec ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise InvestigateError(f"{path}: expected a YAML table with a 'findings' list")
    return data


def load_spec(path: str | os.PathLike) -> list[dict]:
    return load_document(path)["findings"]


def run_findings(ws: Workspace, spec, *, out: str | os.PathLike | None = None,
                 query_dirs=None) -> list[Finding]:
    """Compute every finding of a spec (a path or a list); with ``out``, write them all."""
    specs = load_spec(spec) if isinstance(spec, (str, os.PathLike)) else list(spec)
    findings = [compute(ws, s, out=out, query_dirs=query_dirs) for s in specs]
    if out is not None:
        write(findings, out)
    return findings


def write(findings: list[Finding], out: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``findings.json`` and a readable ``findings.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "findings.json", out / "findings.md"
    json_path.write_text(json.dumps({"findings": [asdict(f) for f in findings]}, indent=2,
                                    ensure_ascii=False) + "\n", encoding="utf-8")
    lines = ["# Findings", ""]
    for f in findings:
        lines += [f"## {f.id}", "", f.sentence, "",
                  f"- Query: `{f.query}` (SQL sha256 `{f.sql_sha256[:16]}…`)",
                  f"- Parameters: `{json.dumps(f.params)}`",
                  f"- Values: `{json.dumps(f.values)}`"]
        if f.rows_csv:
            lines.append(f"- Rows behind it: [{f.rows_csv}]({f.rows_csv})")
        lines.append(f"- Computed {f.computed_at} with investigate {f.toolkit_version} from "
                     f"{len(f.inputs)} input files:")
        lines += [f"  - `{Path(i['path']).name}` ({i['kind']}) sha256 `{i['sha256']}`" for i in f.inputs]
        lines.append("")
    md_path.write_text("\n".join(lines), encoding="utf-8")
    return json_path, md_path


@dataclass
class Check:
    id: str
    status: str            # "same", "changed" or "cannot check"
    detail: str = ""
    old: dict | None = None
    new: dict | None = None


def verify(ws: Workspace, findings_json: str | os.PathLike, query_dirs=None) -> list[Check]:
    """Re-run every finding of a ``findings.json`` on the workspace and compare.

    ``cannot check`` when the workspace's inputs differ from the finding's (the files are
    named); ``changed`` when the values or the query's SQL text differ; ``same`` otherwise.
    """
    try:
        data = json.loads(Path(findings_json).read_text(encoding="utf-8"))
        recorded = data["findings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{findings_json}: not a findings file ({exc})") from None
    current = {(i["kind"], i["sha256"]): i for i in ws.fingerprint()}
    checks = []
    for f in recorded:
        then = {(i["kind"], i["sha256"]): i for i in f["inputs"]}
        if then.keys() != current.keys():
            missing = [Path(then[k]["path"]).name for k in then.keys() - current.keys()]
            extra = [Path(current[k]["path"]).name for k in current.keys() - then.keys()]
            parts = []
            if missing:
                parts.append("not in this workspace: " + ", ".join(sorted(missing)))
            if extra:
                parts.append("not in the finding's inputs: " + ", ".join(sorted(extra)))
            checks.append(Check(f["id"], "cannot check", "; ".join(parts)))
            continue
        values, _, sha, _ = evaluate(ws, f["spec"], query_dirs)
        notes = []
        if values != f["values"]:
            notes.append("values differ")
        if sha != f["sql_sha256"]:
            notes.append(f"the SQL of query {f['query']} has changed since")
        checks.append(Check(f["id"], "changed" if notes else "same", "; ".join(notes),
                            f["values"] if notes else None, values if notes else None))
    return checks
