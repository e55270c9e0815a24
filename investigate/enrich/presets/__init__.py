"""Policy presets: ready-made policy files for common arrangements, built from a few parameters.

``preset_policy(name, **params)`` returns the same YAML-shaped dict a policy file holds
(``name``, ``source``, ``rules: [...]``), so it can be written out with ``yaml.safe_dump`` and
loaded like any analyst-written policy. A rule's null list means: no restriction.

The GDPR preset is computed from two tables shipped here, ``gdpr_adequacy.csv`` and ``eea.csv``
(provenance and caveats in README.md): a breach of it means "outside the adequacy list", a lead to
check, not a legal conclusion.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Callable

import pandas as pd

from ...errors import ReferenceFileError

_REQUIRED = object()  # the default of a parameter that must be given


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str          # "text", "country" or "date": how the value is checked and normalised
    default: object
    help: str

    def describe(self) -> str:
        if self.default is _REQUIRED:
            return f"{self.name} (required): {self.help}"
        if self.default is None:
            return f"{self.name} (optional): {self.help}"
        return f"{self.name} (default {self.default}): {self.help}"


@dataclass(frozen=True)
class _Preset:
    description: str
    params: tuple[_Param, ...]
    build: Callable[..., dict]


# --- parameter checks -------------------------------------------------------------------------

def _iso_utc(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_timestamp(preset: str, key: str, value) -> pd.Timestamp:
    """A date parameter as a UTC timestamp (a bare date is midnight UTC). Text must be ISO 8601:
    a lenient parser would read "June" as a date of the current year."""
    problem = f"preset {preset}: {key} {value!r} is not a date (expected ISO, e.g. 2022-06-17)"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ReferenceFileError(problem) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):  # pd.Timestamp is a datetime
        raise ReferenceFileError(problem)
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _checked(preset: str, param: _Param, value):
    if param.kind == "date":
        return _as_timestamp(preset, param.name, value)
    if not isinstance(value, str) or not value.strip():
        raise ReferenceFileError(f"preset {preset}: {param.name} must be non-empty text, not {value!r}")
    value = value.strip()
    if param.kind == "country":
        if len(value) != 2 or not value.isalpha():
            raise ReferenceFileError(f"preset {preset}: {param.name} {value!r} is not an ISO 3166-1 "
                                     "alpha-2 code (e.g. US, SG)")
        return value.upper()
    return value


def _resolve_params(name: str, preset: _Preset, given: dict) -> dict:
    """The preset's parameters: given values checked, defaults filled in; errors list them all."""
    known = {p.name for p in preset.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ReferenceFileError(f"preset {name}: unknown parameter(s) {', '.join(unknown)}; "
                                 f"{_param_list(preset)}")
    out = {}
    for param in preset.params:
        value = given.get(param.name)
        if value is None:
            if param.default is _REQUIRED:
                raise ReferenceFileError(f"preset {name}: parameter {param.name} is required; "
                                         f"{_param_list(preset)}")
            value = param.default
        out[param.name] = None if value is None else _checked(name, param, value)
    return out


def _param_list(preset: _Preset) -> str:
    return "parameters: " + "; ".join(p.describe() for p in preset.params)


# --- trusted_partner --------------------------------------------------------------------------

def _trusted_partner(category: str, country: str, partner_org: str, effective_from: pd.Timestamp,
                     effective_to: pd.Timestamp | None) -> dict:
    if effective_to is not None and effective_to <= effective_from:
        raise ReferenceFileError(f"preset trusted_partner: effective_to {_iso_utc(effective_to)} is not "
                                 f"after effective_from {_iso_utc(effective_from)}")
    since = effective_from.date().isoformat()
    rule = {
        "id": f"{category}_partner_only",
        "description": (f"From {since}, {category} is accessed only from {country} and stored only "
                        f"in {country}, user traffic goes only through {partner_org}, and access "
                        "needs approval."),
        "data_category": category,
        "effective_from": _iso_utc(effective_from),
        "effective_to": None if effective_to is None else _iso_utc(effective_to),
        "access_countries": [country],
        "storage_countries": [country],
        "traffic_orgs": [partner_org],
        "approval_required": True,
    }
    return {"name": f"{country} data stays in {country} with {partner_org} (preset trusted_partner)",
            "source": "investigate policy preset trusted_partner", "rules": [rule]}


# --- gdpr_chapter_v ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Listing:
    """One row of gdpr_adequacy.csv or eea.csv: a country allowed from..to (to exclusive)."""

    country: str
    name: str
    decision: str
    start: date
    end: date | None

    def in_force(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def _listings(filename: str) -> list[_Listing]:
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    return [_Listing(r["country"], r["name"], r["decision"], date.fromisoformat(r["in_force_from"]),
                     date.fromisoformat(r["in_force_to"]) if r["in_force_to"] else None)
            for r in csv.DictReader(io.StringIO(text))]


def gdpr_listings() -> list[_Listing]:
    """The EEA members and adequacy decisions the gdpr_chapter_v preset is computed from."""
    return _listings("eea.csv") + _listings("gdpr_adequacy.csv")


def _allowed(listings: list[_Listing], day: date) -> frozenset[str]:
    return frozenset(x.country for x in listings if x.in_force(day))


def _change_text(listings: list[_Listing], day: date, before: frozenset, after: frozenset) -> str:
    """What changed on ``day``: countries joining or leaving, with the listing that made it so."""
    parts = []
    for country in sorted(after - before):
        why = next(x for x in listings if x.country == country and x.start == day)
        parts.append(f"{country} ({why.name}) joins: {why.decision}")
    for country in sorted(before - after):
        why = next(x for x in listings if x.country == country and x.end == day)
        parts.append(f"{country} ({why.name}) leaves: end of {why.decision}")
    return "; ".join(parts)


_GDPR_NOTE = ("Outside these countries a transfer needs Art. 46 safeguards (e.g. SCCs) or an Art. 49 "
              "derogation, which logs do not show; partial adequacy (CA, JP, KR, US) covers some "
              "recipients only. A breach is a lead to check, not a legal conclusion.")


def _gdpr_chapter_v(category: str, start: pd.Timestamp) -> dict:
    listings = gdpr_listings()
    first = start.date()
    days = sorted({first} | {d for x in listings for d in (x.start, x.end) if d is not None and d > first})
    periods: list[tuple[date, frozenset, str]] = []  # (from, allowed countries, what changed)
    for day in days:
        allowed = _allowed(listings, day)
        if not periods:
            periods.append((day, allowed, "EEA members and countries with a Commission adequacy "
                                          "decision in force at the start"))
        elif allowed != periods[-1][1]:  # a change of legal basis alone (GB in 2021) is no new rule
            periods.append((day, allowed, _change_text(listings, day, periods[-1][1], allowed)))
    rules = []
    for k, (day, allowed, change) in enumerate(periods):
        until = periods[k + 1][0] if k + 1 < len(periods) else None
        countries = sorted(allowed)
        rules.append({
            "id": f"gdpr_ch5_{day.isoformat()}",
            "description": (f"GDPR Chapter V transfers of {category} from {day.isoformat()}: {change}. "
                            f"{_GDPR_NOTE}"),
            "data_category": category,
            "effective_from": f"{day.isoformat()}T00:00:00Z",
            "effective_to": None if until is None else f"{until.isoformat()}T00:00:00Z",
            "access_countries": countries,
            "storage_countries": list(countries),
            "traffic_orgs": None,
            "approval_required": False,
        })
    return {"name": "EU GDPR Chapter V: EEA and adequacy decisions (preset gdpr_chapter_v)",
            "source": "investigate policy preset gdpr_chapter_v (presets/gdpr_adequacy.csv, presets/eea.csv; "
                      "European Commission adequacy decisions, see presets/README.md)",
            "rules": rules}


# --- registry ---------------------------------------------------------------------------------

_PRESETS: dict[str, _Preset] = {
    "trusted_partner": _Preset(
        "Data of one category stays in one country with a named partner: from a date, access only "
        "from the country, storage only in it, user traffic only through the partner, approval required.",
        (_Param("category", "text", "us_user_data", "the data category the rule covers"),
         _Param("country", "country", "US", "ISO 3166-1 alpha-2 code of the country the data stays in"),
         _Param("partner_org", "text", _REQUIRED, "the organisation all user traffic must go through"),
         _Param("effective_from", "date", _REQUIRED, "the date the arrangement starts (UTC)"),
         _Param("effective_to", "date", None, "the date it ends (UTC), if it does")),
        _trusted_partner),
    "gdpr_chapter_v": _Preset(
        "EU GDPR Chapter V transfers: access and storage allowed in the EEA and in countries with a "
        "European Commission adequacy decision in force, one dated rule per change of that list.",
        (_Param("category", "text", "eu_personal_data", "the data category the rules cover"),
         _Param("start", "date", "2018-05-25", "the date the first rule starts (GDPR applies from 2018-05-25)")),
        _gdpr_chapter_v),
}

PRESETS: dict[str, str] = {name: p.description for name, p in _PRESETS.items()}
"""Preset name -> what it describes."""

PRESET_PARAMETERS: dict[str, dict[str, str]] = {
    name: {param.name: param.describe() for param in p.params} for name, p in _PRESETS.items()}
"""Preset name -> parameter name -> what it is (required / default / optional)."""


def preset_policy(name: str, **params) -> dict:
    """The policy (the dict a policy YAML file holds) that preset ``name`` builds from ``params``.

    Raises ReferenceFileError for an unknown preset, an unknown or missing parameter, or an
    invalid value; the message lists the presets or the preset's parameters.
    """
    preset = _PRESETS.get(name)
    if preset is None:
        listing = "; ".join(f"{n} ({_param_list(p)})" for n, p in _PRESETS.items())
        raise ReferenceFileError(f"unknown policy preset {name!r}; presets: {listing}")
    return preset.build(**_resolve_params(name, preset, params))


__all__ = ["PRESETS", "PRESET_PARAMETERS", "gdpr_listings", "preset_policy"]
