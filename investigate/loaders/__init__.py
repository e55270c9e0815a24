"""Loaders: one module per source format, all behind one contract (see ``base``).

Importing this package registers every format; ``formats()`` lists them.
"""

# Importing a format's module registers it.
from . import (azure_activity, azure_signin, cloudtrail, gcp_audit, generic,  # noqa: F401
               mysql_audit, oci_audit, pgaudit, s3_access, web_access)
from . import transfer_jobs  # noqa: F401,E402  (after generic: it builds on csv and jsonl)
from .base import (LoadResult, Loader, Reject, detect_format, formats, get_loader, ingest, ingest_file,
                   register)
from .mapping import Mapping, load_mapping, parse_mapping

__all__ = ["LoadResult", "Loader", "Mapping", "Reject", "detect_format", "formats", "get_loader", "ingest",
           "ingest_file", "load_mapping", "parse_mapping", "register"]
