"""Look-ups that follow the toolkit's definitions, for counting ground truth.

The ground truth is counted from what is written, by these look-ups, not
from what the generator meant to plant; so a generator slip shows up as a
wrong number in a test rather than silently in the case.

* network: the most specific inventory prefix containing the address;
* person: the roster entry whose actor_id or alias equals the principal;
* asset: the catalogue entry whose glob matches the resource, the longest
  pattern winning; two best matches of equal length are an error.
"""

from __future__ import annotations

import ipaddress
import re

from .world import CATALOGUE, NETWORKS, ROSTER, Asset, Network, Person


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob with ``*`` (any run, ``/`` included) and ``?`` (one char)."""
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


class Resolver:
    """Cached look-ups of networks, people and assets.

    Caches are keyed by the exact text written; the generator draws
    addresses and resource names from bounded pools, so they stay small.
    """

    def __init__(self) -> None:
        self._nets = [(ipaddress.ip_network(n.cidr), n) for n in NETWORKS]
        self._people: dict[str, Person] = {}
        for p in ROSTER:
            for name in (p.actor_id, *p.aliases):
                if name in self._people:
                    raise ValueError(f"identity {name!r} appears twice in the roster")
                self._people[name] = p
        self._assets = [(glob_regex(a.pattern), a) for a in CATALOGUE]
        self._net_cache: dict[str, Network | None] = {}
        self._asset_cache: dict[str, Asset | None] = {}

    def network(self, ip: str) -> Network | None:
        """Most specific inventory row containing ``ip``, or None."""
        if ip in self._net_cache:
            return self._net_cache[ip]
        addr = ipaddress.ip_address(ip)
        best = None
        for net, row in self._nets:
            if addr.version == net.version and addr in net:
                if best is None or net.prefixlen > best[0].prefixlen:
                    best = (net, row)
        found = best[1] if best else None
        self._net_cache[ip] = found
        return found

    def person(self, principal: str) -> Person | None:
        """Roster entry for an actor id or alias, or None."""
        return self._people.get(principal)

    def asset(self, resource: str) -> Asset | None:
        """Catalogue entry of ``resource`` (longest matching pattern), or None."""
        if resource in self._asset_cache:
            return self._asset_cache[resource]
        hits = [a for rx, a in self._assets if resource and rx.fullmatch(resource)]
        found = None
        if hits:
            longest = max(len(a.pattern) for a in hits)
            best = [a for a in hits if len(a.pattern) == longest]
            if len(best) > 1:
                raise ValueError(f"{resource!r} matches {len(best)} patterns equally")
            found = best[0]
        self._asset_cache[resource] = found
        return found
