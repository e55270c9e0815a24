"""The library's SQL (written for DuckDB) as Spark SQL, by ``sqlglot``: never a copy kept by hand.

A query file is transpiled as it is found (so a user's own query files run on Spark too), and
the result is kept per text. Parameters keep their names: DuckDB's ``$start`` becomes Spark's
named marker ``:start``, bound by ``spark.sql(text, args=...)``, never pasted into the text.
A construct sqlglot cannot carry over is an error naming the file (``unsupported_level``
RAISE), not a silently different query; the library's files are written in the portable
subset, and their headers say where that shaped them.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import QueryError

SOURCE_DIALECT = "duckdb"
TARGET_DIALECT = "spark"


def sqlglot_version() -> str:
    import sqlglot

    return sqlglot.__version__


# The units date_trunc takes; any other bare name there is a column sqlglot would take for a unit.
_UNITS = {"MICROSECOND", "MICROSECONDS", "MILLISECOND", "MILLISECONDS", "SECOND", "SECONDS", "MINUTE",
          "MINUTES", "HOUR", "HOURS", "DAY", "DAYS", "WEEK", "WEEKS", "MONTH", "MONTHS", "QUARTER",
          "QUARTERS", "YEAR", "YEARS", "DECADE", "CENTURY", "MILLENNIUM"}


@lru_cache(maxsize=256)
def to_spark(text: str, name: str = "SQL") -> str:
    """One statement of DuckDB SQL as Spark SQL."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        statements = [s for s in sqlglot.parse(text, read=SOURCE_DIALECT) if s is not None]
        if len(statements) != 1:
            raise QueryError(f"{name}: expected one statement, found {len(statements)}")
        tree = statements[0]
        for trunc in tree.find_all(exp.TimestampTrunc, exp.DateTrunc):
            unit = trunc.args.get("unit")
            if isinstance(unit, exp.Var) and unit.name.upper() not in _UNITS:
                # sqlglot 30 writes date_trunc(grain, ts) as DATE_TRUNC('GRAIN', ts): NULL on Spark
                raise QueryError(f"{name}: date_trunc({unit.name.lower()}, ...) would be read as the unit "
                                 f"'{unit.name}' on Spark; name the column with its table "
                                 f"(date_trunc(t.{unit.name.lower()}, ...)) or pass a parameter")
        return tree.sql(TARGET_DIALECT, unsupported_level=ErrorLevel.RAISE, pretty=True)
    except SqlglotError as exc:
        raise QueryError(f"{name}: cannot be written as Spark SQL ({str(exc).splitlines()[0]})") from None


@lru_cache(maxsize=64)
def view_to_spark(text: str, name: str = "view") -> str:
    """A ``CREATE OR REPLACE VIEW`` of DuckDB as a Spark temporary view (a session's own: a
    plain view would be written to the cluster's catalogue)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        tree = sqlglot.parse_one(text, read=SOURCE_DIALECT)
        if not isinstance(tree, exp.Create) or str(tree.args.get("kind", "")).upper() != "VIEW":
            raise QueryError(f"{name}: expected CREATE VIEW")
        properties = tree.args.get("properties") or exp.Properties(expressions=[])
        properties.append("expressions", exp.TemporaryProperty())
        tree.set("properties", properties)
        return tree.sql(TARGET_DIALECT, unsupported_level=ErrorLevel.RAISE, pretty=True)
    except SqlglotError as exc:
        raise QueryError(f"{name}: cannot be written as Spark SQL ({str(exc).splitlines()[0]})") from None
