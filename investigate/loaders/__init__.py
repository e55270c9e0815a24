"""Loaders: one module per source format, all behind one contract (see ``base``).

Importing this package registers every format; ``formats()`` lists them.
"""

# Importing a format's module registers it.
from . import (azure_activity, azure_nsg_flow, azure_signin, cloudtrail, gcp_audit,  # noqa: F401
               gcp_vpc_flow, generic, mysql_audit, netflow_csv, oci_audit, oci_vcn_flow,
               pgaudit, s3_access, vpc_flow, web_access, zeek_conn)
from . import transfer_jobs  # noqa: F401,E402  (after generic: it builds on csv and jsonl)
from .base import (LoadResult, Loader, Reject, detect_format, formats, get_loader, ingest, ingest_file,
                   register)
from .mapping import Mapping, load_mapping, parse_mapping

__all__ = ["LoadResult", "Loader", "Mapping", "Reject", "detect_format", "formats", "get_loader", "ingest",
           "ingest_file", "load_mapping", "parse_mapping", "register"]
