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
version, the time of the run, the CSV of the rows behind it, and whether it is pseudonymised
(``pseudonymised`` and the key's fingerprint, ``pseudonym_key``).

Pseudonymised (``pseudonymise=`` a key): the rows, values and CSV carry pseudonyms for actor ids,
display names and IP addresses (see :mod:`investigate.pseudonymise`). A ``where`` value on such
a column is written in clear in the spec, and recorded as its pseudonym. Parameters are recorded
as given, so a parameter that names an identity of the workspace is refused.
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

from . import engines
from .errors import InvestigateError, PseudonymisationError, VerificationError
from .pseudonymise import (IDENTIFYING_COLUMNS, PseudonymKey, describe, identity_in, mark,
                           pseudonymise_value, resolve_key)
from .queries import bind_params, get_query, jsonable_params

_AGG_RE = re.compile(r"^\s*(sum|min|max|count|first|last|mean|nunique)\(\s*([A-Za-z0-9_]*)\s*\)\s*$")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # a finding's id: also its table's file name


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
    pseudonymised: bool = False
    pseudonym_key: str | None = None   # the key's fingerprint, never the key
    engine: dict = field(default_factory=dict)  # where it ran: name, version (engines.describe)

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


def keep_rows(df: pd.DataFrame, where: dict | None, context: str,
              key: PseudonymKey | None = None) -> pd.DataFrame:
    """The rows whose columns equal the values of ``where`` (a spec's row filter). With ``key``,
    ``df`` is pseudonymised and the values of ``where`` are written in clear."""
    for col, want in (where or {}).items():
        if col not in df.columns:
            raise InvestigateError(f"{context}: the query returns no column {col!r}")
        if key is not None:
            want = pseudonymise_value(col, want, key)
        df = df[df[col] == want]
    return df


def _identifying(col: str) -> bool:
    return col in IDENTIFYING_COLUMNS


def _recorded_spec(spec: dict, key: PseudonymKey | None) -> dict:
    """The spec as findings.json records it: ``where`` values on identifying columns as their
    pseudonyms when pseudonymised (the spec itself names them in clear)."""
    spec = dict(spec)
    if key is not None and spec.get("where"):
        spec["where"] = {c: pseudonymise_value(c, v, key) for c, v in spec["where"].items()}
    return spec


def _refuse_identities_in_params(source, spec: dict, bound: dict) -> None:
    for name, value in bound.items():
        what = identity_in(source, value)
        if what:
            raise PseudonymisationError(
                f"finding {spec['id']}: parameter {name} is {what} of this workspace, and "
                f"findings.json records parameters as given, so a pseudonymised finding would publish "
                f"it; select the rows with where: (e.g. where: {{actor_id: ...}}), whose values are "
                f"recorded as pseudonyms, or leave this finding out of the pseudonymised findings")


def evaluate(source, spec: dict, query_dirs=None, *, key: PseudonymKey | None = None,
             where_pseudonymised: bool = False) -> tuple[dict, pd.DataFrame, str, dict]:
    """Run one finding's query on ``source`` (a workspace, or a Spark source: resolved by
    :func:`investigate.engines.source_for`) and reduce it to its named values.

    Returns the values (JSON-friendly), the rows kept, the query's sha256 and the bound params.
    With ``key``, the rows are pseudonymised before they are kept and reduced; the ``where``
    values are in clear, or already pseudonyms (``where_pseudonymised``: a recorded spec).
    """
    for name in ("id", "query", "sentence"):
        if name not in spec:
            raise InvestigateError(f"finding {spec.get('id', '?')}: '{name}' is required")
    if not isinstance(spec["id"], str) or not _ID.fullmatch(spec["id"]):
        # The id names the finding's table file (tables/<id>.csv): a path could write anywhere.
        raise InvestigateError(f"finding {spec['id']!r}: an id is letters, digits, '_', '-' and '.', "
                               "starting with a letter or digit")
    query = get_query(spec["query"], query_dirs)
    bound = bind_params(query, spec.get("params") or {})
    result = engines.execute(source, query.text, bound, key=key, name=spec["query"])
    sql_types = result.types
    df = keep_rows(mark(result.df, key), spec.get("where"), f"finding {spec['id']}: where",
                   None if where_pseudonymised else key)
    values = {}
    for name, expr in (spec.get("values") or {}).items():
        fn, col = _parse_aggregate(spec["id"], name, expr)
        kind = sql_types.get(col, "") if fn in ("min", "max", "first", "last") else ""
        values[name] = _plain(_aggregate(df, spec["id"], name, expr), kind)
    return values, df.reset_index(drop=True), query.sha256, bound


def compute(source, spec: dict, *, out: str | os.PathLike | None = None,
            query_dirs=None, pseudonymise=None, engine: str = "duckdb") -> Finding:
    """Compute one finding; with ``out``, also write the rows behind it as CSV.

    ``source`` and ``engine`` as for :func:`~investigate.run_query` (a workspace on DuckDB; an
    export, or a workspace, on Spark): the finding records the engine it ran on.
    ``pseudonymise``: ``True`` (the key from the environment), a key file or a
    :class:`~investigate.PseudonymKey`: identities in the values, sentence and rows are pseudonyms.
    """
    key = resolve_key(pseudonymise)
    source = engines.source_for(source, engine)
    if key is not None and "query" in spec and "id" in spec:
        _refuse_identities_in_params(source, spec, bind_params(get_query(spec["query"], query_dirs),
                                                               spec.get("params") or {}))
    values, rows, sha, bound = evaluate(source, spec, query_dirs, key=key)
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
        params=jsonable_params(bound), sql_sha256=sha, inputs=source.fingerprint(),
        toolkit_version=toolkit_version(),
        computed_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        rows_csv=rows_csv, spec=_recorded_spec(spec, key),
        pseudonymised=key is not None, pseudonym_key=key.fingerprint if key else None,
        engine=engines.describe(source, get_query(spec["query"], query_dirs).text, spec["query"]))


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
        "Pseudonymised": (f"yes, key fingerprint {finding.pseudonym_key}" if finding.pseudonymised
                          else "no"),
        "Engine": engines.label(finding.engine),
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


def run_findings(source, spec, *, out: str | os.PathLike | None = None,
                 query_dirs=None, pseudonymise=None, engine: str = "duckdb") -> list[Finding]:
    """Compute every finding of a spec (a path or a list); with ``out``, write them all.
    ``source``, ``engine`` and ``pseudonymise`` as for :func:`compute`."""
    specs = load_spec(spec) if isinstance(spec, (str, os.PathLike)) else list(spec)
    key = resolve_key(pseudonymise)
    source = engines.source_for(source, engine)
    findings = [compute(source, s, out=out, query_dirs=query_dirs, pseudonymise=key, engine=engine)
                for s in specs]
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
    keys = sorted({f.pseudonym_key for f in findings if f.pseudonymised})
    lines = ["# Findings", ""]
    if findings and len(keys) == 1 and all(f.pseudonymised for f in findings):
        lines += [describe(keys[0]), ""]
    elif not keys:
        lines += [describe(None), ""]
    for f in findings:
        lines += [f"## {f.id}", "", f.sentence, "",
                  f"- Query: `{f.query}` (SQL sha256 `{f.sql_sha256[:16]}…`)",
                  f"- Parameters: `{json.dumps(f.params)}`",
                  f"- Values: `{json.dumps(f.values)}`",
                  f"- Pseudonymised: " + (f"yes, key fingerprint `{f.pseudonym_key}`" if f.pseudonymised
                                          else "no"),
                  f"- Engine: {engines.label(f.engine)}"]
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


def verify(source, findings_json: str | os.PathLike, query_dirs=None, *,
           pseudonymise=None, engine: str = "duckdb") -> list[Check]:
    """Re-run every finding of a ``findings.json`` on the workspace and compare.

    ``source`` and ``engine`` as for :func:`compute`: a finding made on one engine can be checked
    on the other (the values are compared, whatever engine made them).

    ``cannot check`` when the workspace's inputs differ from the finding's (the files are
    named); ``changed`` when the values or the query's SQL text differ; ``same`` otherwise.

    A pseudonymised finding is checked in full with the same key (``pseudonymise``: ``True``, a
    key file or a :class:`~investigate.PseudonymKey`). Without it, its values that do not depend
    on the key (counts, sums, dates, numbers of distinct identities) are checked; one whose
    values or ``where`` are pseudonyms ``cannot check``, and says which key it needs.
    """
    try:
        data = json.loads(Path(findings_json).read_text(encoding="utf-8"))
        recorded = data["findings"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VerificationError(f"{findings_json}: not a findings file ({exc})") from None
    key = resolve_key(pseudonymise)
    source = engines.source_for(source, engine)
    current = {(i["kind"], i["sha256"]): i for i in source.fingerprint()}
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
        use, why = _verify_key(f, key)
        if why:
            checks.append(Check(f["id"], "cannot check", why))
            continue
        values, _, sha, _ = evaluate(source, f["spec"], query_dirs, key=use, where_pseudonymised=True)
        notes = []
        if values != f["values"]:
            notes.append("values differ")
        if sha != f["sql_sha256"]:
            notes.append(f"the SQL of query {f['query']} has changed since")
        checks.append(Check(f["id"], "changed" if notes else "same", "; ".join(notes),
                            f["values"] if notes else None, values if notes else None))
    return checks


_KEYED = ("min", "max", "first", "last")  # of pseudonyms: a pseudonym, or its order, depends on the key


def _verify_key(f: dict, key: PseudonymKey | None) -> tuple[PseudonymKey | None, str]:
    """The key to re-run a recorded finding with, or why it cannot be checked."""
    if not f.get("pseudonymised"):
        return None, ""
    fingerprint = f.get("pseudonym_key")
    if key is not None:
        if key.fingerprint != fingerprint:
            return None, (f"pseudonymised with the key of fingerprint {fingerprint}; the key given "
                          f"has fingerprint {key.fingerprint}")
        return key, ""
    spec = f["spec"]
    keyed = [f"where {c}" for c in (spec.get("where") or {}) if _identifying(c)]
    for name, expr in (spec.get("values") or {}).items():
        fn, col = _parse_aggregate(spec["id"], name, expr)
        if fn in _KEYED and _identifying(col):
            keyed.append(f"value {name}")
    if keyed:
        return None, (f"pseudonymised, and {', '.join(keyed)} depend(s) on the key: give the key of "
                      f"fingerprint {fingerprint} (--pseudonym-key-file FILE) to check it")
    return None, ""
