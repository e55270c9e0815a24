"""investigate: who accessed which data from where, and which data crossed which border.

The public API; the ``investigate`` command mirrors it, one subcommand per function.

>>> import investigate
>>> ws = investigate.Workspace.open("case.duckdb")
>>> investigate.ingest_case(ws, "data_samples/case.yml")
>>> investigate.run_query(ws, "cross_border_access_summary", category="us_user_data")
>>> investigate.export(ws, "case-parquet")   # every table as Parquet, with a manifest
>>> investigate.run_checks(ws)    # data checks: one row per rule, with its violations
>>> investigate.run_query(ws, "cross_border_access", pseudonymise="case.key")  # keyed pseudonyms
>>> investigate.run_query("case-parquet", "cross_border_access_summary", engine="spark")  # on Spark
"""

from .case import CaseLoad, ingest_case, read_manifest
from .checks import list_checks, run_check, run_checks
from .custody import custody
from .enrich import load_reference, refresh as refresh_views
from .errors import (InvestigateError, MappingError, MemoryLimitError, PseudonymisationError,
                     PseudonymKeyError, QueryError, ReferenceFileError, RejectedRecordError,
                     SchemaVersionError, UnknownFormatError, UnreadableInputError, VerificationError)
from .export import export
from .findings import Finding, compute as compute_finding, provenance, run_findings, verify
from .findings import write as write_findings
from .loaders import LoadResult, detect_format, formats, ingest, ingest_file, load_mapping
from .pseudonymise import PseudonymKey, load_key as load_pseudonym_key, pseudonymise
from .queries import get_query, list_queries, run_query, write_query
from .workspace import Workspace


def run_notebook(path, **kwargs):
    """Execute a notebook headless with parameters (see :mod:`investigate.notebooks`)."""
    from .notebooks import run_notebook as _run

    return _run(path, **kwargs)


def write_report(ws, spec, out="reports", **kwargs):
    """Write ``report.html`` and ``report.pdf`` for a findings spec (see :mod:`investigate.report`)."""
    from .report import write_report as _write

    return _write(ws, spec, out, **kwargs)


def __getattr__(name):
    # charts pulls in matplotlib, spark pyspark: loaded on first use, so the CLI and loaders
    # start fast (and work without pyspark).
    if name in ("charts", "spark"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reproduce(out="reports", **kwargs):
    """Run the notebooks on the sample case and write ``out`` (see :mod:`investigate.reproduce`)."""
    from .reproduce import reproduce as _reproduce

    return _reproduce(out, **kwargs)


__all__ = [
    "CaseLoad", "Finding", "InvestigateError", "LoadResult", "MappingError", "MemoryLimitError",
    "PseudonymKey", "PseudonymKeyError", "PseudonymisationError", "QueryError",
    "ReferenceFileError", "RejectedRecordError", "SchemaVersionError", "UnknownFormatError",
    "UnreadableInputError", "VerificationError", "Workspace", "charts", "compute_finding", "custody", "detect_format",
    "export", "formats", "get_query", "ingest", "ingest_case", "ingest_file", "list_checks", "list_queries",
    "load_mapping", "load_pseudonym_key", "load_reference", "provenance", "pseudonymise",
    "read_manifest", "refresh_views", "reproduce",
    "run_check", "run_checks", "run_findings", "run_notebook", "run_query", "spark", "verify", "write_findings",
    "write_query",
    "write_report",
]
