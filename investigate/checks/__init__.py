"""Data checks: one rule per ``.sql`` file, each returning the rows that break it.

A check is written like a query of :mod:`investigate.queries` (same header, same binding),
with ``rule:`` where a query states its question::

    -- rule: No transfer reports negative bytes, or ...
    -- param max_gbps DOUBLE = 100: fastest plausible rate of one transfer, in Gbit/s
    -- returns: event_id, ts_start, ts_end, bytes, reason
    -- caveats: how the rule is drawn, and what a violation can and cannot mean

Zero rows means the rule holds. Every parameter is bound by DuckDB, never pasted into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from .. import progress
from ..errors import QueryError
from ..queries import Query, _parse_header, bind_params
from ..workspace import Workspace

CHECKS_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Check(Query):
    """One check file: a :class:`~investigate.queries.Query` whose header states a rule."""

    kind = "check"  # error messages say "check NAME: ..."

    @property
    def rule(self) -> str:
        return self.question


def _read(path: Path) -> Check:
    query = _parse_header(path.stem, path, path.read_text(encoding="utf-8"), lead="rule")
    return Check(**vars(query))


def list_checks() -> list[Check]:
    """Every check, by name: each with ``name``, ``rule``, ``params``, ``returns``, ``caveats``."""
    return [_read(path) for path in sorted(CHECKS_DIR.glob("*.sql"))]


def get_check(name: str) -> Check:
    """One check by name; :class:`~investigate.QueryError` naming the known ones if none."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name or ""):
        raise QueryError(f"{name!r} is not a check name (letters, digits and _ only)")
    path = CHECKS_DIR / f"{name}.sql"
    if not path.is_file():
        known = ", ".join(c.name for c in list_checks())
        raise QueryError(f"no check named {name!r}; known checks: {known}")
    return _read(path)


def _run(ws: Workspace, check: Check, params: dict) -> pd.DataFrame:
    bound = bind_params(check, params)
    try:
        with progress.track(ws.con, f"Check {check.name}"):
            return ws.sql(check.text, bound).df()
    except duckdb.OutOfMemoryException as exc:
        raise ws.memory_error(exc, f"check {check.name}") from None
    except duckdb.Error as exc:
        raise QueryError(f"check {check.name}: {str(exc).splitlines()[0]}") from None


def run_check(ws: Workspace, name: str, **params) -> pd.DataFrame:
    """The rows that break one check's rule (none: it passes).

    Examples
    --------
    >>> run_check(ws, "absurd_transfer_bytes", max_gbps=10)
    """
    return _run(ws, get_check(name), params)


def check_results(ws: Workspace) -> list[tuple[Check, pd.DataFrame]]:
    """Every check with its violating rows, at the default parameters (for the CLI)."""
    return [(check, _run(ws, check, {})) for check in list_checks()]


def run_checks(ws: Workspace) -> pd.DataFrame:
    """Every check at its default parameters: one row per check with ``check``, ``rule``,
    ``violations`` (rows returned) and ``passed`` (no violation)."""
    rows = [(check.name, check.rule, len(df), df.empty) for check, df in check_results(ws)]
    return pd.DataFrame(rows, columns=["check", "rule", "violations", "passed"]).astype(
        {"violations": "int64", "passed": "bool"})
