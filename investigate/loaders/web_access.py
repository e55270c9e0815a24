"""Web server access logs, NCSA common/combined (format ``web_access``): see ``formats/web_access.yml``.

Rotated logs keep their numbers and dates in the name (``access.log.1``, ``access_log-20240101``,
``access.log.2.gz``), so :meth:`accepts` knows those names too.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import register
from .native import LineSpecLoader
from .typed import Params

_ROTATED_NAME = re.compile(r"(\.log|access_log)(\.[0-9]+|-[0-9]{6}|-[0-9]{8}|-[0-9]{10})?$")


@register
class WebAccessLoader(LineSpecLoader):
    name = "web_access"
    description = ("Web server access logs in the NCSA common/combined formats (Apache, nginx): "
                   "vhost prefixes, X-Forwarded-For chains and extra trailing fields allowed")
    extensions = (".log",)

    def accepts(self, path: Path) -> bool:
        name = path.name.lower().removesuffix(".gz").removesuffix(".zst")
        return super().accepts(path) or bool(_ROTATED_NAME.search(name))

    def extra_sql(self, names: list[str], p: Params) -> str:
        # A remote host field holding several addresses (an X-Forwarded-For chain, maybe followed
        # by the proxy's own address) is also given as a list, in the order logged.
        chain = "list_filter(string_split_regex(remote_host, '[\\s,\"]+'), lambda a: a <> '')"
        forwarded = f"CASE WHEN len({chain}) > 1 THEN to_json({chain}) END"
        # Trailing fields that are all '-' say nothing: dropped like any other missing value.
        empty = "regexp_full_match(trailing_fields, '(\"-\"|-)( (\"-\"|-))*')"
        patch = (f"json_object('forwarded_for', {forwarded}, "
                 f"'trailing_fields', CASE WHEN {empty} THEN NULL ELSE trailing_fields END)")
        return f"json_merge_patch({super().extra_sql(names, p)}, {patch})"
