"""Offline enrichment: where each address, person and dataset belongs.

Reference tables come from the analyst's own files (:func:`load_reference`); the enriched views
``access_enriched`` and ``transfer_enriched`` join them to the events inside DuckDB.
"""

from .reference import KINDS, load_reference, pattern_specificity
from .views import refresh

__all__ = ["KINDS", "load_reference", "pattern_specificity", "refresh"]
