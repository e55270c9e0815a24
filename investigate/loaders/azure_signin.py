"""Microsoft Entra ID sign-in logs (format ``azure_signin``): see ``formats/azure_signin.yml``.

Besides the spec, the loader names Azure's own geolocation of each sign-in in ``extra``: it is a
second location signal, next to the one the analyst's IP ranges give, and the enrichment
compares the two (a VPN or a proxy shows up as a disagreement).
"""

from __future__ import annotations

import re

from .base import StageOutput, register
from .native import JsonSpecLoader

_SIGNIN = re.compile(r'"category"\s*:\s*"(SignInLogs|NonInteractiveUserSignInLogs|'
                     r'ServicePrincipalSignInLogs|ManagedIdentitySignInLogs)"'
                     r'|"operationName"\s*:\s*"Sign-in activity"')

# extra key -> where in the record (properties.location is Entra's geolocation of the client
# address; the top-level 'location' is the same country as a code, used when it is missing).
PROVIDER_GEO = {
    "provider_geo_country": "nullif(coalesce(nullif(extra->>'$.properties.location.countryOrRegion', ''), "
                            "extra->>'$.location'), '')",
    "provider_geo_state": "nullif(extra->>'$.properties.location.state', '')",
    "provider_geo_city": "nullif(extra->>'$.properties.location.city', '')",
    "provider_geo_lat": "TRY_CAST(extra->>'$.properties.location.geoCoordinates.latitude' AS DOUBLE)",
    "provider_geo_lon": "TRY_CAST(extra->>'$.properties.location.geoCoordinates.longitude' AS DOUBLE)",
}


@register
class AzureSigninLoader(JsonSpecLoader):
    name = "azure_signin"
    description = ("Microsoft Entra ID (Azure AD) sign-in logs, diagnostic-settings schema: "
                   "{\"records\": [...]} blobs or one record per line")
    extensions = (".json", ".jsonl", ".ndjson", ".log")

    def sniff(self, head: str) -> int:
        return 100 if _SIGNIN.search(head) else 0

    def stage_batch(self, con, sources, mapping) -> StageOutput:
        out = super().stage_batch(con, sources, mapping)
        inner = out.pipeline
        # A missing value becomes a JSON null, which the merge patch leaves out: absent, not ''.
        pairs = ", ".join(f"'{key}', {expr}" for key, expr in PROVIDER_GEO.items())

        def pipeline(p, exclude=None, count_only=False):
            if count_only:
                return inner(p, count_only=True)
            return (f"SELECT * REPLACE (CASE WHEN extra IS NOT NULL THEN "
                    f"json_merge_patch(extra, json_object({pairs})) END AS extra) FROM ({inner(p, exclude)})")

        out.pipeline = pipeline
        return out
