"""Create (or re-create) the SQL macros and enriched views in a workspace."""

from __future__ import annotations

from importlib import resources

from ..workspace import Workspace

_FILES = ("ip_macros.sql", "views.sql")


def _statements(text: str) -> list[str]:
    # The files hold plain statements separated by ';' at line ends, with no ';' inside strings.
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";")]


def refresh(ws: Workspace, lookups: bool = True) -> None:
    """Make ``ip_to_num``, ``access_enriched``, ``transfer_enriched`` and their helpers current,
    and (with ``lookups``) look up the addresses and resources of events that were not loaded
    through :func:`~investigate.ingest_file` (which does it for its own rows).

    The views are stored in the workspace, so they keep working when it is reopened.
    """
    from .locate import categorise_resources, locate_addresses

    for name in _FILES:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        for statement in _statements(text):
            ws.con.execute(statement)
    if lookups:
        locate_addresses(ws)
        categorise_resources(ws)
