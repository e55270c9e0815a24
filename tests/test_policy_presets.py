"""Policy presets (investigate.enrich.presets): trusted_partner and gdpr_chapter_v."""

from __future__ import annotations

import csv
from datetime import date
from importlib import resources

import pytest
import yaml

from investigate.enrich import load_reference
from investigate.enrich.presets import PRESET_PARAMETERS, PRESETS, gdpr_listings, preset_policy
from investigate.errors import ReferenceFileError

from .conftest import SAMPLES

EU27 = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
        "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
EEA = EU27 | {"IS", "LI", "NO"}


def _allowed_on(policy: dict, day: str) -> list[str]:
    """The access countries of the one rule in force on ``day`` (midnight UTC)."""
    at = f"{day}T00:00:00Z"
    rules = [r for r in policy["rules"]
             if r["effective_from"] <= at and (r["effective_to"] is None or at < r["effective_to"])]
    assert len(rules) == 1, f"{len(rules)} rules in force on {day}"
    return rules[0]["access_countries"]


# --- trusted_partner --------------------------------------------------------------------------

def test_trusted_partner_rules_exactly():
    policy = preset_policy("trusted_partner", partner_org="Ironbridge Cloud", effective_from="2022-06-17")
    assert policy == {
        "name": "US data stays in US with Ironbridge Cloud (preset trusted_partner)",
        "source": "investigate policy preset trusted_partner",
        "rules": [{
            "id": "us_user_data_partner_only",
            "description": ("From 2022-06-17, us_user_data is accessed only from US and stored only in US, "
                            "user traffic goes only through Ironbridge Cloud, and access needs approval."),
            "data_category": "us_user_data",
            "effective_from": "2022-06-17T00:00:00Z",
            "effective_to": None,
            "access_countries": ["US"],
            "storage_countries": ["US"],
            "traffic_orgs": ["Ironbridge Cloud"],
            "approval_required": True,
        }],
    }


def test_trusted_partner_parameters_are_normalised():
    policy = preset_policy("trusted_partner", category="sg_user_data", country=" sg ", partner_org="Lion Net",
                           effective_from=date(2021, 7, 1), effective_to="2023-01-01T08:00:00+08:00")
    rule = policy["rules"][0]
    assert rule["access_countries"] == rule["storage_countries"] == ["SG"]
    assert (rule["effective_from"], rule["effective_to"]) == ("2021-07-01T00:00:00Z", "2023-01-01T00:00:00Z")
    assert rule["id"] == "sg_user_data_partner_only" and rule["data_category"] == "sg_user_data"


def test_trusted_partner_matches_the_sample_cases_promise():
    sample = yaml.safe_load((SAMPLES / "reference" / "policy.yml").read_text(encoding="utf-8"))
    promise = next(r for r in sample["rules"] if r["id"] == "us_data_partner_only")
    policy = preset_policy("trusted_partner", partner_org="Ironbridge Cloud", effective_from="2022-06-17")
    rule = policy["rules"][0]
    for key in ("data_category", "effective_from", "effective_to", "access_countries", "storage_countries",
                "traffic_orgs", "approval_required"):
        assert rule[key] == promise[key], key


def test_a_preset_loads_like_a_policy_file(ws, tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(preset_policy("gdpr_chapter_v"), sort_keys=False), encoding="utf-8")
    assert load_reference(ws, "policy", path) == 5
    rows = ws.sql("SELECT rule_id, access_countries, traffic_orgs FROM policy ORDER BY effective_from").fetchall()
    assert rows[0][0] == "gdpr_ch5_2018-05-25" and "DE" in rows[0][1] and rows[0][2] is None


# --- gdpr_chapter_v ---------------------------------------------------------------------------

def test_gdpr_rules_start_when_the_list_changes():
    policy = preset_policy("gdpr_chapter_v")
    assert [r["id"] for r in policy["rules"]] == [
        "gdpr_ch5_2018-05-25",   # GDPR applies
        "gdpr_ch5_2019-01-23",   # Japan
        "gdpr_ch5_2020-07-16",   # Schrems II: the Privacy Shield ends
        "gdpr_ch5_2021-12-17",   # Republic of Korea
        "gdpr_ch5_2023-07-10",   # EU-US Data Privacy Framework
    ]


def test_gdpr_periods_chain_without_gaps():
    rules = preset_policy("gdpr_chapter_v")["rules"]
    assert rules[0]["effective_from"] == "2018-05-25T00:00:00Z"
    for before, after in zip(rules, rules[1:]):
        assert before["effective_to"] == after["effective_from"]
        assert before["access_countries"] != after["access_countries"], "a rule per change only"
    assert rules[-1]["effective_to"] is None
    for rule in rules:
        assert rule["access_countries"] == rule["storage_countries"] == sorted(rule["access_countries"])
        assert rule["traffic_orgs"] is None and rule["approval_required"] is False
        assert rule["data_category"] == "eu_personal_data"
        assert rule["id"] == "gdpr_ch5_" + rule["effective_from"][:10]


@pytest.mark.parametrize("day, country, allowed", [
    ("2020-07-15", "US", True), ("2020-07-16", "US", False),        # Privacy Shield invalidated
    ("2023-07-09", "US", False), ("2023-07-10", "US", True),        # Data Privacy Framework
    ("2021-12-16", "KR", False), ("2021-12-17", "KR", True),
    ("2019-01-22", "JP", False), ("2019-01-23", "JP", True),
    ("2020-01-31", "GB", True), ("2020-12-31", "GB", True),         # EU member, then transition
    ("2021-01-01", "GB", True), ("2021-06-27", "GB", True),         # TCA bridging clause
    ("2021-06-28", "GB", True), ("2024-01-01", "GB", True),         # adequacy decision
    ("2018-05-25", "CH", True), ("2018-05-25", "CA", True), ("2018-05-25", "IL", True),
    ("2024-01-01", "CN", False), ("2024-01-01", "SG", False), ("2024-01-01", "IN", False),
    ("2024-01-01", "BR", False),
])
def test_gdpr_boundary_dates(day, country, allowed):
    assert (country in _allowed_on(preset_policy("gdpr_chapter_v"), day)) is allowed


def test_gdpr_eea_is_always_allowed():
    policy = preset_policy("gdpr_chapter_v")
    for rule in policy["rules"]:
        assert EEA <= set(rule["access_countries"])


def test_gdpr_descriptions_say_what_changed():
    by_id = {r["id"]: r["description"] for r in preset_policy("gdpr_chapter_v")["rules"]}
    assert "US (United States) leaves" in by_id["gdpr_ch5_2020-07-16"]
    assert "Privacy Shield" in by_id["gdpr_ch5_2020-07-16"]
    assert "KR (Republic of Korea) joins" in by_id["gdpr_ch5_2021-12-17"]
    assert "Data Privacy Framework" in by_id["gdpr_ch5_2023-07-10"]
    assert all("not a legal conclusion" in d for d in by_id.values())


def test_gdpr_start_and_category_parameters():
    policy = preset_policy("gdpr_chapter_v", category="eu_customer_data", start="2021-03-01")
    rules = policy["rules"]
    assert rules[0]["id"] == "gdpr_ch5_2021-03-01" and "GB" in rules[0]["access_countries"]  # the bridge
    assert [r["id"] for r in rules[1:]] == ["gdpr_ch5_2021-12-17", "gdpr_ch5_2023-07-10"]
    assert {r["data_category"] for r in rules} == {"eu_customer_data"}
    earlier = preset_policy("gdpr_chapter_v", start="2015-01-01")["rules"]
    assert [r["id"] for r in earlier][:3] == ["gdpr_ch5_2015-01-01", "gdpr_ch5_2015-10-06", "gdpr_ch5_2016-08-01"]
    assert "US" in earlier[0]["access_countries"] and "US" not in earlier[1]["access_countries"]  # Schrems I


def test_the_shipped_tables_are_well_formed():
    header = ["country", "name", "decision", "in_force_from", "in_force_to", "scope", "source"]
    for name in ("gdpr_adequacy.csv", "eea.csv"):
        text = resources.files("investigate.enrich.presets").joinpath(name).read_text(encoding="utf-8")
        reader = csv.DictReader(text.splitlines())
        assert reader.fieldnames == header
        for row in reader:
            assert None not in row and all(row[k] for k in header if k != "in_force_to"), row
    listings = gdpr_listings()
    assert all(len(x.country) == 2 and x.country.isupper() for x in listings)
    assert all(x.end is None or x.start < x.end for x in listings)
    eea_members = {x.country for x in listings
                   if x.in_force(date(2024, 1, 1)) and x.decision.startswith(("EU ", "EEA"))}
    assert eea_members == EEA
    adequacy = {x.country for x in listings if x.in_force(date(2024, 1, 1))} - EEA
    assert adequacy == {"AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY", "US"}


# --- errors -----------------------------------------------------------------------------------

def test_unknown_preset_lists_the_presets_and_their_parameters():
    with pytest.raises(ReferenceFileError) as err:
        preset_policy("hipaa")
    message = str(err.value)
    assert "'hipaa'" in message and "trusted_partner" in message and "gdpr_chapter_v" in message
    assert "partner_org (required)" in message and "start (default 2018-05-25)" in message


def test_missing_parameter_names_it_and_lists_the_parameters():
    with pytest.raises(ReferenceFileError, match=r"partner_org is required.*effective_from \(required\)"):
        preset_policy("trusted_partner", effective_from="2022-06-17")
    with pytest.raises(ReferenceFileError, match="effective_from is required"):
        preset_policy("trusted_partner", partner_org="Ironbridge Cloud")


@pytest.mark.parametrize("params, problem", [
    ({"partner_org": "X", "effective_from": "2022-06-17", "partner": "Y"}, "unknown parameter"),
    ({"partner_org": "X", "effective_from": "June"}, "is not a date"),
    ({"partner_org": "X", "effective_from": ""}, "is not a date"),
    ({"partner_org": "X", "effective_from": 20220617}, "is not a date"),
    ({"partner_org": "X", "effective_from": "2022-06-17", "country": "USA"}, "ISO 3166-1"),
    ({"partner_org": " ", "effective_from": "2022-06-17"}, "non-empty text"),
    ({"partner_org": "X", "effective_from": "2022-06-17", "effective_to": "2022-06-17"}, "is not after"),
])
def test_invalid_parameters(params, problem):
    with pytest.raises(ReferenceFileError, match=problem):
        preset_policy("trusted_partner", **params)
    with pytest.raises(ReferenceFileError, match="is not a date"):
        preset_policy("gdpr_chapter_v", start="soon")


def test_the_registry_describes_every_preset():
    assert set(PRESETS) == set(PRESET_PARAMETERS) == {"trusted_partner", "gdpr_chapter_v"}
    assert all(PRESETS.values())
    assert set(PRESET_PARAMETERS["trusted_partner"]) == {"category", "country", "partner_org",
                                                         "effective_from", "effective_to"}
