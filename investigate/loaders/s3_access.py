"""Amazon S3 server access logs (format ``s3_access``): see ``formats/s3_access.yml``.

S3 writes the log objects without an extension (``2019-02-06-00-00-38-5A0F1B2C3D4E5F6A`` under the
target prefix, or ``.../<account>/<region>/<bucket>/YYYY/MM/DD/<same name>`` with date-based
partitioning), so :meth:`accepts` knows those names too (and ``.log``).
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import register
from .native import LineSpecLoader
from .typed import Params

# The name S3 gives a log object: YYYY-mm-DD-HH-MM-SS-<unique string>, after the target prefix.
_S3_LOG_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-Za-z]{8,}$")
# The region of the endpoint in the host header (bucket.s3.eu-west-1.amazonaws.com,
# s3-us-west-2.amazonaws.com, s3.dualstack.us-gov-west-1.amazonaws.com, ...amazonaws.com.cn).
_REGION_SQL = r"([a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+)\.amazonaws\.com"


@register
class S3AccessLoader(LineSpecLoader):
    name = "s3_access"
    description = ("Amazon S3 server access logs: the space-separated text records S3 delivers to "
                   "a target bucket (24 to 27 fields, '-' for missing)")
    extensions = (".log",)

    def accepts(self, path: Path) -> bool:
        name = path.name.removesuffix(".gz").removesuffix(".zst")
        return super().accepts(path) or bool(_S3_LOG_NAME.search(name))

    def extra_sql(self, names: list[str], p: Params) -> str:
        # The endpoint's region, read from the host header, for cross-region questions; the
        # header itself stays in extra as logged.
        region = f"nullif(regexp_extract(host_header, {p.add(_REGION_SQL, 'VARCHAR')}, 1), '')"
        return f"json_merge_patch({super().extra_sql(names, p)}, json_object('region', {region}))"
