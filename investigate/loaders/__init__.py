"""Loaders: one module per source format, all behind one contract (see ``base``).

Importing this package registers every format; ``formats()`` lists them.
"""

from . import cloudtrail, generic  # noqa: F401  (importing registers the formats)
from .base import (LoadResult, Loader, Reject, detect_format, formats, get_loader, ingest, ingest_file,
                   register)
from .mapping import Mapping, load_mapping, parse_mapping

__all__ = ["LoadResult", "Loader", "Mapping", "Reject", "detect_format", "formats", "get_loader", "ingest",
           "ingest_file", "load_mapping", "parse_mapping", "register"]
