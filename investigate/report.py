"""The reproducible report: every finding as a sentence with its chart, its numbers and a "how
this was found" box, then the data checks, the coverage and its gaps, and the limits of the
data. Written as one self-contained ``report.html`` (figures embedded, nothing fetched) and a
``report.pdf``, next to ``findings.json``/``findings.md`` and the figures' own files.

A finding's chart is declared in the findings spec, under the finding::

    chart:
      kind: monthly_bars                 # a chart of investigate.charts
      query: cross_border_access_summary # default: the finding's query
      params: {category: us_user_data}   # default: the finding's parameters
      where: {access_country: CN}        # rows kept, as for the finding (default: all)
      title: Accesses from China went on after the promise   # states the finding
      subtitle: Successful accesses per month
      options: {value: accesses, group: access_country, marker: "2022-06-17"}

and the report itself under ``report:`` at the top of the spec (``title``, ``source``: the
source line under every chart, ``limits``: sentences for the limits section).

Pseudonymised (``pseudonymise=`` a key): the findings, the rows under every chart (so its labels),
the CSV next to it and the data checks' rows show keyed pseudonyms for actor ids, display names
and IP addresses; the report says so at the top, with the key's fingerprint. The text of the
spec (sentences, titles, limits) is printed as written.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import charts
from .checks import check_results
from .errors import InvestigateError
from .findings import Finding, keep_rows, load_document, provenance, run_findings
from .pseudonymise import PseudonymKey, describe, pseudonymise as pseudonymise_frame, resolve_key
from .queries import run_query
from .workspace import Workspace

CHART_KINDS = ("monthly_bars", "share_over_time", "flow_matrix", "actor_timeline")
DEFAULT_SOURCE = "Source: the exports and reference files listed under each finding, analysed with investigate"
# What every report says about its data, whatever the case (METHODOLOGY.md has the reasons).
STANDARD_LIMITS = (
    "An access record shows an account, not a person at a keyboard: a shared or stolen account "
    "looks like its owner.",
    "A network's country is where the address is registered or where the company's own inventory "
    "places it, not a measured location.",
    "Events whose resource is in no catalogue entry, or whose actor and address are both unknown, "
    "are not classified and not counted as cross-border; the table below counts them.",
    "A day without records is missing evidence, not evidence that nothing happened.",
    "A policy breach flag is a lead to check, not a legal conclusion: approvals and safeguards are "
    "not in the logs.",
)


@dataclass
class Report:
    """What :func:`write_report` wrote."""

    html: Path
    pdf: Path
    findings: list[Finding]
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)


@dataclass
class _Figure:
    key: str
    title: str
    png: Path


def _chart_rows(ws: Workspace, finding: Finding, spec: dict, chart: dict, query_dirs,
                key: PseudonymKey | None = None) -> pd.DataFrame:
    name = chart.get("query", spec["query"])
    params = chart.get("params", spec.get("params") or {})
    df = run_query(ws, name, query_dirs, pseudonymise=key, **params)
    return keep_rows(df, chart.get("where"), f"finding {finding.id}: chart: where ({name})",
                     key).reset_index(drop=True)


def _draw(ws: Workspace, finding: Finding, spec: dict, source: str, out: Path, query_dirs,
          key: PseudonymKey | None = None):
    chart = spec.get("chart")
    if not isinstance(chart, dict):
        raise InvestigateError(f"finding {finding.id}: chart must be a table (kind, title, ...)")
    kind = chart.get("kind")
    if kind not in CHART_KINDS:
        raise InvestigateError(f"finding {finding.id}: chart kind {kind!r} is not one of {', '.join(CHART_KINDS)}")
    if not chart.get("title"):
        raise InvestigateError(f"finding {finding.id}: chart needs a title that states the finding")
    df = _chart_rows(ws, finding, spec, chart, query_dirs, key)
    try:
        fig = getattr(charts, kind)(df, title=chart["title"], subtitle=chart.get("subtitle"),
                                    source=source, **(chart.get("options") or {}))
    except (TypeError, ValueError) as exc:
        raise InvestigateError(f"finding {finding.id}: chart {kind}: {exc}") from None
    return charts.save(fig, finding.id, out / "figures", data=df, provenance=provenance(finding))


def _coverage(ws: Workspace, source: str, out: Path):
    coverage = run_query(ws, "coverage")
    gaps = run_query(ws, "coverage_gaps")
    if coverage.empty:
        return coverage, gaps, None
    title = ("The logs have no gap of a whole day" if gaps.empty else
             f"The logs are silent on {int(gaps.days.sum())} day(s) in {len(gaps)} gap(s)")
    fig = charts.coverage_chart(coverage, gaps=gaps, source_format="source_format", title=title,
                                subtitle="Events per day (UTC) by table and source format; gaps shaded",
                                source=source)
    paths = charts.save(fig, "coverage", out / "figures", data=coverage)
    return coverage, gaps, _Figure("coverage", title, paths["png"])


def write_report(ws: Workspace, spec: str | os.PathLike, out: str | os.PathLike = "reports", *,
                 query_dirs=None, pseudonymise=None) -> Report:
    """Compute the findings of ``spec`` and write ``report.html`` and ``report.pdf`` into ``out``
    (with ``findings.json``, ``findings.md``, ``tables/`` and ``figures/``).

    ``pseudonymise``: ``True`` (the key from the environment), a key file or a
    :class:`~investigate.PseudonymKey`: identities are shown as keyed pseudonyms throughout.

    Examples
    --------
    >>> write_report(ws, "data_samples/findings.yml", "reports").html
    PosixPath('reports/report.html')
    """
    out = Path(out)
    document = load_document(spec)
    meta = document.get("report") or {}
    if not isinstance(meta, dict):
        raise InvestigateError(f"{spec}: 'report' must be a table (title, source, limits)")
    source = meta.get("source") or DEFAULT_SOURCE
    specs = document["findings"]
    key = resolve_key(pseudonymise)
    found = run_findings(ws, specs, out=out, query_dirs=query_dirs, pseudonymise=key)
    figures, shown = {}, {}
    for finding, one in zip(found, specs):
        if one.get("chart"):
            figures[finding.id] = _draw(ws, finding, one, source, out, query_dirs, key)
            shown[finding.id] = _Figure(finding.id, one["chart"]["title"], figures[finding.id]["png"])
    checks = check_results(ws)
    if key is not None:
        checks = [(c, pseudonymise_frame(df, key)) for c, df in checks]
    coverage, gaps, coverage_fig = _coverage(ws, source, out)
    if coverage_fig:
        figures["coverage"] = {"png": coverage_fig.png}
    unknowns = run_query(ws, "enrichment_unknowns")
    limits = list(STANDARD_LIMITS) + [str(x) for x in meta.get("limits") or []]
    title = meta.get("title") or "Findings"
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = dict(title=title, made=made, findings=found, shown=shown, checks=checks, gaps=gaps,
                 coverage_fig=coverage_fig, unknowns=unknowns, limits=limits,
                 identities=describe(key.fingerprint if key else None))
    html_path = out / "report.html"
    html_path.write_text(_html(**parts), encoding="utf-8")
    pdf_path = out / "report.pdf"
    _pdf(pdf_path, **parts)
    return Report(html_path, pdf_path, found, figures)


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; }
.meta, figcaption, .how { color: #555; font-size: .9rem; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; border: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
td, th { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
.finding { border-top: 2px solid #0072B2; padding-top: .5rem; }
.sentence { font-size: 1.15rem; font-weight: bold; }
.how { background: #f5f5f5; border-left: 4px solid #999; padding: .5rem 1rem; }
code, .hash { font-family: "DejaVu Sans Mono", monospace; font-size: .8rem; word-break: break-all; }
.fail { color: #B00020; font-weight: bold; } .pass { color: #1B7F3B; }
"""

# Lets a headless browser (and the tests) confirm that every figure loaded and no script
# error happened: the result is written on <body> as data-images="loaded/all", data-errors="n".
_SELF_CHECK = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message || e.type)); }, true);
window.addEventListener('load', function () {
  var all = document.images.length, ok = 0;
  for (var i = 0; i < all; i++) { if (document.images[i].complete && document.images[i].naturalWidth > 0) ok++; }
  document.body.setAttribute('data-images', ok + '/' + all);
  document.body.setAttribute('data-errors', String(window.__errors.length));
});
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _img(fig: _Figure) -> str:
    data = base64.b64encode(fig.png.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(fig.title)}" width="800">'
            f"<figcaption>The chart as PNG, SVG and PDF, and the numbers behind it as CSV: "
            f"<code>figures/{_e(fig.key)}.*</code></figcaption></figure>")


def _table(df: pd.DataFrame, limit: int = 20) -> str:
    if df.empty:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in df.head(limit).itertuples(index=False))
    more = f"<p>{len(df) - limit:,} more rows not shown.</p>" if len(df) > limit else ""
    return f"<table><tr>{head}</tr>{rows}</table>{more}"


def _cell(v):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return "NULL"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


def _how(f: Finding) -> str:
    inputs = "".join(f"<tr><td>{_e(Path(i['path']).name)}</td><td>{_e(i['kind'])}</td>"
                     f"<td class='hash'>{_e(i['sha256'])}</td></tr>" for i in f.inputs)
    values = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in f.values.items())
    rows = f" The rows behind it: <code>{_e(f.rows_csv)}</code>." if f.rows_csv else ""
    return (f"<table class='values'><tr><th>value</th><th>as computed</th></tr>{values}</table>"
            f"<details open class='how'><summary>How this was found</summary>"
            f"<p>Query <code>{_e(f.query)}</code> (SQL sha256 <span class='hash'>{_e(f.sql_sha256)}</span>) with "
            f"parameters <code>{_e(json.dumps(f.params, sort_keys=True))}</code>, "
            f"run {_e(f.computed_at)} with investigate {_e(f.toolkit_version)}.{rows} "
            f"<code>investigate verify</code> re-runs it on the same files."
            + (f" Identities are pseudonyms (key fingerprint <span class='hash'>{_e(f.pseudonym_key)}"
               f"</span>); a full check needs the same key." if f.pseudonymised else "") + "</p>"
            f"<table><tr><th>input file</th><th>kind</th><th>sha256</th></tr>{inputs}</table></details>")


def _html(*, title, made, findings, shown, checks, gaps, coverage_fig, unknowns, limits, identities) -> str:
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>",
           f"<style>{_CSS}</style><script>{_SELF_CHECK}</script></head><body>",
           f"<h1>{_e(title)}</h1><p class='meta'>Written {_e(made)} by investigate from the files listed "
           f"under each finding. {len(findings)} findings; every number can be checked with "
           f"<code>investigate verify</code>.</p>",
           f"<p class='meta' id='identities'>{_e(identities)}</p>", "<ul>"]
    out += [f"<li><a href='#{_e(f.id)}'>{_e(f.sentence)}</a></li>" for f in findings]
    out.append("</ul>")
    for f in findings:
        out.append(f"<section class='finding' id='{_e(f.id)}'><p class='sentence'>{_e(f.sentence)}</p>")
        if f.id in shown:
            out.append(_img(shown[f.id]))
        out.append(_how(f) + "</section>")
    failed = sum(1 for _, df in checks if not df.empty)
    out.append(f"<section id='checks'><h2>Data checks</h2><p>{len(checks) - failed} of {len(checks)} rules hold. "
               "Each rule lists the rows that break it; a failure is something to explain before "
               "quoting a number.</p><table><tr><th>check</th><th>violations</th><th>result</th><th>rule</th></tr>")
    for c, df in checks:
        result = "<span class='pass'>pass</span>" if df.empty else "<span class='fail'>FAIL</span>"
        out.append(f"<tr><td>{_e(c.name)}</td><td>{len(df):,}</td><td>{result}</td><td>{_e(c.rule)}</td></tr>")
    out.append("</table>")
    for c, df in checks:
        if not df.empty:
            out.append(f"<h3>{_e(c.name)}</h3>{_table(df, 10)}")
    out.append("</section><section id='coverage'><h2>Coverage and gaps</h2>")
    if coverage_fig:
        out.append(_img(coverage_fig))
    out.append("<p>Whole UTC days without any record, per table and source format:</p>" + _table(gaps))
    out.append("</section><section id='limits'><h2>Limits of the data</h2><ul>")
    out += [f"<li>{_e(x)}</li>" for x in limits]
    out.append("</ul><p>What could not be placed (events per signal and reason):</p>" + _table(unknowns))
    out.append("</section></body></html>")
    return "\n".join(out) + "\n"


# --- PDF -------------------------------------------------------------------------------------

_A4 = (8.27, 11.69)


def _pdf(path: Path, *, title, made, findings, shown, checks, gaps, coverage_fig, unknowns, limits,
         identities) -> None:
    """The same report as pages drawn with matplotlib: no browser or LaTeX needed."""
    import textwrap

    import matplotlib.image as mpimg
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    def page() -> tuple[Figure, list]:
        fig = Figure(figsize=_A4)
        return fig, [0.95]  # the y of the next line, from the top

    def text(fig, y, s, size=10, weight="normal", family="sans-serif", gap=0.4):
        # characters per line that fit the page's 7.1 in at this size (DejaVu's mean widths)
        em = 0.6 if family == "monospace" else 0.66 if weight == "bold" else 0.56
        width = int(0.86 * _A4[0] * 72 / (size * em))
        for line in textwrap.wrap(str(s), width) or [""]:
            fig.text(0.07, y[0], line, fontsize=size, weight=weight, family=family, va="top")
            y[0] -= size / 72 / _A4[1] * 1.35
        y[0] -= gap * size / 72 / _A4[1]

    def image(fig, y, png: Path):
        img = mpimg.imread(png)
        height = 0.86 * _A4[0] * img.shape[0] / img.shape[1] / _A4[1]
        ax = fig.add_axes((0.07, y[0] - height, 0.86, height))
        ax.imshow(img)
        ax.set_axis_off()
        y[0] -= height + 0.02

    with PdfPages(path, metadata={"Title": title, "Creator": "investigate", "CreationDate": None}) as pdf:
        fig, y = page()
        text(fig, y, title, size=18, weight="bold")
        text(fig, y, f"Written {made} by investigate. {len(findings)} findings.", size=9)
        text(fig, y, identities, size=9)
        for f in findings:
            text(fig, y, "- " + f.sentence, size=10)
        pdf.savefig(fig)
        for f in findings:
            fig, y = page()
            text(fig, y, f.sentence, size=12, weight="bold")
            if f.id in shown:
                image(fig, y, shown[f.id].png)
            text(fig, y, "Values: " + ", ".join(f"{k} = {v}" for k, v in f.values.items()), size=9)
            text(fig, y, "How this was found", size=10, weight="bold", gap=0.2)
            text(fig, y, f"Query {f.query} with parameters {json.dumps(f.params, sort_keys=True)}; "
                         f"SQL sha256 {f.sql_sha256}; run {f.computed_at} with investigate {f.toolkit_version}.",
                 size=8)
            for i in f.inputs:
                text(fig, y, f"{Path(i['path']).name} ({i['kind']}) sha256 {i['sha256']}", size=7,
                     family="monospace", gap=0)
            pdf.savefig(fig)
        fig, y = page()
        text(fig, y, "Data checks", size=14, weight="bold")
        for c, df in checks:
            text(fig, y, f"{'pass' if df.empty else 'FAIL'}  {c.name}: {len(df):,} violations. {c.rule}", size=9)
        text(fig, y, "Coverage and gaps", size=14, weight="bold")
        if coverage_fig:
            image(fig, y, coverage_fig.png)
        for g in gaps.itertuples(index=False):
            text(fig, y, f"{g.table_name} / {g.source_format}: no record from {g.gap_start:%Y-%m-%d} to "
                         f"{g.gap_end:%Y-%m-%d} ({g.days} days)", size=9, gap=0)
        pdf.savefig(fig)
        fig, y = page()
        text(fig, y, "Limits of the data", size=14, weight="bold")
        for x in limits:
            text(fig, y, "- " + x, size=10)
        text(fig, y, "What could not be placed:", size=10, weight="bold")
        for u in unknowns.itertuples(index=False):
            text(fig, y, " / ".join(str(_cell(v)) for v in u), size=9, gap=0)
        pdf.savefig(fig)
