"""``docs/queries.md``: the query library and the data checks as their headers state them.

Generated, so the reference cannot drift from the SQL: ``make docs`` rewrites it and a test
fails when it is out of date.
"""

from __future__ import annotations

from .checks import list_checks
from .queries import PACKAGE_DIR, Query, list_queries

INTRO = """# The query library and the data checks

Generated from the headers of `investigate/queries/*.sql` and `investigate/checks/*.sql` by
`make docs`; do not edit by hand. Run a query with `investigate query WORKSPACE NAME -p name
value` or `investigate.run_query(ws, NAME, name=value)`; run the checks with `investigate check
WORKSPACE` or `investigate.run_checks(ws)`. A parameter left out is bound as its default, or as
NULL, which the query reads as "all"; every value is bound by DuckDB, never pasted into SQL.
Times are UTC; `start` is inclusive and `end` exclusive.
"""


def _section(q: Query, lead: str) -> list[str]:
    out = [f"### `{q.name}`", "", f"**{lead}** {q.question}", ""]
    if q.params:
        out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for p in q.params.values():
            default = "required" if p.required else (f"`{p.default}`" if p.default else "none (see meaning)")
            choices = f" (one of {', '.join(f'`{c}`' for c in p.choices)})" if p.choices else ""
            out.append(f"| `{p.name}` | {p.type} | {default} | {p.doc.replace('|', '/')}{choices} |")
        out.append("")
    out += [f"**Columns:** {', '.join(f'`{c}`' for c in q.returns)}", ""]
    if q.caveats:
        out += [f"**Caveats:** {q.caveats}", ""]
    return out


def library_markdown() -> str:
    """The text of ``docs/queries.md``."""
    lines = [INTRO, "## Queries", ""]
    for q in list_queries():
        if q.path.parent == PACKAGE_DIR:  # the package's own, not a user's query folder
            lines += _section(q, "Question:")
    lines += ["## Data checks", "", "Each returns the rows that break its rule; none means it passes.", ""]
    for c in list_checks():
        lines += _section(c, "Rule:")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(library_markdown(), end="")
