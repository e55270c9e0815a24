"""Enrichment: where each address belongs (precedence of sources, special addresses, IPv6),
who each identity is, which data a resource holds, and which policy rule applies when."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

import investigate as inv
from investigate.enrich.locate import flatten, registry_source, to_range
from investigate.errors import ReferenceFileError

from .mmdb_writer import write_mmdb

UTC = timezone.utc
INVENTORY = """cidr,country,org,site,kind
10.20.0.0/16,SG,Corp,sg-office,office
10.20.5.0/24,US,Corp,us-vpn-exit,vpn
203.0.113.0/24,US,Corp,us-dc,datacenter
52.95.0.0/16,,Corp,aws-tenant,cloud
2001:db8:10::/48,US,Corp,us-dc,datacenter
"""
AWS = {"syncToken": "1700000000", "createDate": "2023-11-14-22-13-07",
       "prefixes": [{"ip_prefix": "52.94.0.0/15", "region": "eu-central-1", "service": "AMAZON",
                     "network_border_group": "eu-central-1"},
                    {"ip_prefix": "10.0.0.0/8", "region": "us-east-1", "service": "EC2",
                     "network_border_group": "us-east-1"}],
       "ipv6_prefixes": [{"ipv6_prefix": "2600:1f14::/35", "region": "us-west-2", "service": "EC2",
                          "network_border_group": "us-west-2"}]}


def add_events(ws, rows):
    ws.con.executemany("""INSERT INTO access_events (event_id, ts, actor_id, src_ip, resource, outcome,
                          source_format, source_file, source_record)
                          VALUES (?, ?, ?, ?, ?, ?, 'test', 'test', 1)""", rows)
    inv.refresh_views(ws)


def located(ws, ip):
    return ws.sql("SELECT ip_class, country, country_source, org, site, kind, cidr FROM address_locations "
                  "WHERE ip = ?", [ip]).fetchone()


@pytest.fixture
def sources(ws, tmp_path):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    (tmp_path / "ip-ranges.json").write_text(json.dumps(AWS))
    write_mmdb(tmp_path / "GeoLite2-Country.mmdb",
               [("52.0.0.0/8", {"country": {"iso_code": "IE"}}),
                ("81.2.69.0/24", {"country": {"iso_code": "GB"}}),
                ("2a02:c7f::/32", {"country": {"iso_code": "GB"}})],
               database_type="GeoLite2-Country")
    for name in ("inventory.csv", "ip-ranges.json", "GeoLite2-Country.mmdb"):
        inv.load_reference(ws, "networks", tmp_path / name)
    return ws


def test_each_source_in_its_precedence_and_each_field_from_the_first_that_has_it(sources, monkeypatch):
    ws = sources
    add_events(ws, [(f"e{i}", "2022-01-01 00:00:00+00", "x", ip, None, "success") for i, ip in enumerate([
        "10.20.5.9", "10.20.9.9", "52.95.1.1", "52.94.1.1", "52.1.2.3", "81.2.69.160", "8.8.8.8",
        "::ffff:203.0.113.7", "2001:db8:10::5", "2600:1f14::1", "2a02:c7f:1::1",
        "192.168.1.1", "169.254.0.1", "fe80::1", "2001:db8:99::1", "127.0.0.1", "999.1.2.3", "bogus"])])
    inventory, aws = "inventory:inventory.csv", "aws:AWS ip-ranges.json"
    mmdb = ws.sql("SELECT source FROM networks WHERE precedence = 30 LIMIT 1").fetchone()[0]
    assert mmdb.startswith("mmdb:GeoLite2-Country")
    expected = {
        # the most specific inventory prefix wins within the inventory
        "10.20.5.9": ("private", "US", inventory, "Corp", "us-vpn-exit", "vpn", "10.20.5.0/24"),
        "10.20.9.9": ("private", "SG", inventory, "Corp", "sg-office", "office", "10.20.0.0/16"),
        # the inventory names the site but no country: the country comes from the next source
        "52.95.1.1": ("public", "DE", aws, "Corp", "aws-tenant", "cloud", "52.95.0.0/16"),
        "52.94.1.1": ("public", "DE", aws, "Amazon Web Services", "eu-central-1", "aws:amazon", "52.94.0.0/15"),
        "52.1.2.3": ("public", "IE", mmdb, None, None, "mmdb", "52.0.0.0/8"),
        "81.2.69.160": ("public", "GB", mmdb, None, None, "mmdb", "81.2.69.0/24"),
        # in no loaded source: the bundled registry's registration country
        "8.8.8.8": ("public", "US", registry_source(), None, None, None, None),
        # IPv4 written inside IPv6 is the IPv4 address
        "::ffff:203.0.113.7": ("documentation", "US", inventory, "Corp", "us-dc", "datacenter", "203.0.113.0/24"),
        "2001:db8:10::5": ("documentation", "US", inventory, "Corp", "us-dc", "datacenter", "2001:db8:10::/48"),
        "2600:1f14::1": ("public", "US", aws, "Amazon Web Services", "us-west-2", "aws:ec2", "2600:1f14::/35"),
        "2a02:c7f:1::1": ("public", "GB", mmdb, None, None, "mmdb", "2a02:c7f::/32"),
        # special addresses: only the inventory is asked (AWS's 10.0.0.0/8 entry is not used)
        "192.168.1.1": ("private", None, None, None, None, None, None),
        "169.254.0.1": ("link_local", None, None, None, None, None, None),
        "fe80::1": ("link_local", None, None, None, None, None, None),
        "2001:db8:99::1": ("documentation", None, None, None, None, None, None),
        "127.0.0.1": ("loopback", None, None, None, None, None, None),
        # not an address (a generic CSV export can hold anything): classified, never looked up
        "999.1.2.3": ("invalid", None, None, None, None, None, None),
        "bogus": ("invalid", None, None, None, None, None, None),
    }
    assert {ip: located(ws, ip) for ip in expected} == expected
    enriched = ws.sql("SELECT src_ip, src_country, src_geo_source, src_ip_class FROM access_enriched "
                      "WHERE src_ip IN ('8.8.8.8', '10.20.5.9')").fetchall()
    assert sorted(enriched) == [("10.20.5.9", "US", inventory, "private"),
                                ("8.8.8.8", "US", registry_source(), "public")]
    assert "RIR registration country, not a measured location" in registry_source()
    sources_ = ws.sql("SELECT format, precedence, version IS NOT NULL FROM reference_sources "
                      "WHERE kind = 'networks' ORDER BY precedence").fetchall()
    assert sources_ == [("inventory", 10, False), ("aws", 20, True), ("mmdb", 30, True), ("registry", 40, True)]
    registry = ws.sql("SELECT path, sha256 FROM reference_sources WHERE format = 'registry'").fetchall()
    assert registry[0][0].startswith("bundled:iptocc ") and len(registry[0][1]) == 64
    assert {"kind": "reference:networks", "path": registry[0][0], "sha256": registry[0][1]} in ws.fingerprint()


def test_addresses_of_later_files_and_later_sources_are_located(ws, tmp_path):
    add_events(ws, [("e1", "2022-01-01 00:00:00+00", "x", "10.20.5.9", None, "success")])
    assert located(ws, "10.20.5.9") == ("private", None, None, None, None, None, None)
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    inv.load_reference(ws, "networks", tmp_path / "inventory.csv")  # relocates what is known
    assert located(ws, "10.20.5.9")[1] == "US"
    log = tmp_path / "trail.jsonl"
    log.write_text("".join(json.dumps({
        "eventVersion": "1.08", "eventTime": f"2022-01-05T08:00:0{i}Z", "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userIdentity": {"type": "IAMUser", "userName": "alice"}}) + "\n" for i, ip in enumerate(
            ["10.20.9.1", "10.20.9.1", "10.20.5.9", "10.20.9.1"])))
    inv.ingest_file(ws, log, "cloudtrail")  # the file's new address is looked up with its rows, once
    assert located(ws, "10.20.9.1")[1:3] == ("SG", "inventory:inventory.csv")
    assert ws.sql("SELECT count(*), count(DISTINCT ip) FROM address_locations").fetchone() == (2, 2)
    assert ws.sql("SELECT count(*) FROM access_enriched").fetchone()[0] == 5


def test_flatten_gives_the_most_specific_prefix_and_the_later_of_two_equal_ones():
    blocks = [(*to_range(c)[:2], order, (name,)) for c, order, name in [
        ("10.0.0.0/8", 1, "big"), ("10.1.0.0/16", 1, "mid"), ("10.1.2.0/24", 1, "small"),
        ("10.1.0.0/16", 2, "mid again"), ("11.0.0.0/8", 1, "next")]]
    v4 = to_range("0.0.0.0/0")[0]
    got = [(s - v4, e - v4, row[0]) for s, e, row in flatten(blocks)]
    ip = lambda a, b, c, d: ((a * 256 + b) * 256 + c) * 256 + d  # noqa: E731
    assert got == [(ip(10, 0, 0, 0), ip(10, 0, 255, 255), "big"),
                   (ip(10, 1, 0, 0), ip(10, 1, 1, 255), "mid again"),
                   (ip(10, 1, 2, 0), ip(10, 1, 2, 255), "small"),
                   (ip(10, 1, 3, 0), ip(10, 1, 255, 255), "mid again"),
                   (ip(10, 2, 0, 0), ip(10, 255, 255, 255), "big"),
                   (ip(11, 0, 0, 0), ip(11, 255, 255, 255), "next")]


def test_network_file_format_is_detected_and_can_be_forced(ws, tmp_path):
    path = tmp_path / "ranges.txt"
    path.write_text(json.dumps(AWS))
    assert inv.load_reference(ws, "networks", path) == 3
    assert ws.sql("SELECT format FROM reference_sources").fetchall() == [("aws",)]
    other = tmp_path / "inventory.json"
    other.write_text(INVENTORY)
    with pytest.raises(ReferenceFileError, match="inventory.json"):
        inv.load_reference(ws, "networks", other, format="aws")
    with pytest.raises(ReferenceFileError, match="--format applies to networks files only"):
        inv.load_reference(ws, "actors", other, format="aws")


POLICY = """name: test
rules:
  - {id: before, data_category: us_data, effective_from: "2021-01-01T00:00:00Z",
     effective_to: "2022-06-17T00:00:00Z", access_countries: null}
  - {id: after, data_category: us_data, effective_from: "2022-06-17T00:00:00Z", access_countries: [US],
     storage_countries: [US]}
"""


def test_policy_rule_in_force_one_second_either_side_of_effective_from(ws, tmp_path):
    files = {"networks.csv": "cidr,country,org,site,kind\n10.1.0.0/16,US,Corp,us,office\n10.2.0.0/16,CN,Corp,cn,office\n",
             "actors.csv": "actor_id,home_country,aliases\nwei,CN,wei@corp\nann,US,\n",
             "assets.csv": "resource_pattern,data_category,jurisdiction,site\ns3://us/*,us_data,US,\n",
             "policy.yml": POLICY}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        inv.load_reference(ws, name.split(".")[0], tmp_path / name)
    add_events(ws, [
        ("b", "2022-06-16 23:59:59+00", "wei", "10.2.0.1", "s3://us/1", "success"),
        ("a", "2022-06-17 00:00:00+00", "wei@corp", "10.1.0.1", "s3://us/1", "success"),   # roster CN
        ("a2", "2022-06-17 00:00:01+00", "ann", "10.1.0.1", "s3://us/1", "success"),
        ("a3", "2022-06-17 00:00:01+00", "ann", "10.2.0.1", "s3://us/1", "failure"),
        ("u", "2022-06-17 00:00:01+00", "ghost", None, "s3://us/1", "success"),
        ("n", "2022-06-17 00:00:01+00", "wei", "10.2.0.1", "s3://other/1", "success")])
    got = ws.sql("SELECT event_id, policy_rule, policy_breach, roster_actor_id FROM access_enriched ORDER BY ts, event_id").fetchall()
    assert got == [("b", "before", False, "wei"), ("a", "after", True, "wei"), ("a2", "after", False, "ann"),
                   ("a3", "after", False, "ann"), ("n", None, None, "wei"), ("u", "after", None, None)]
    with pytest.raises(ReferenceFileError, match="rule 1: id 'before' is already in use"):
        (tmp_path / "again.yml").write_text(POLICY.replace("name: test", "name: again"))
        inv.load_reference(ws, "policy", tmp_path / "again.yml")


def test_catalogue_tie_is_an_error_at_load_naming_both_lines(ws, tmp_path):
    path = tmp_path / "assets.csv"
    path.write_text("resource_pattern,data_category,jurisdiction\ns3://a/x*,us_data,US\n"
                    "s3://a/*y,sg_data,SG\ns3://a/xy/*,us_data,US\n")
    with pytest.raises(ReferenceFileError, match=r"patterns at assets.csv:2 and assets.csv:3 are equally "
                                                 r"specific and can match the same resource"):
        inv.load_reference(ws, "assets", path)
    assert ws.sql("SELECT count(*) FROM assets").fetchone()[0] == 0
    path.write_text("resource_pattern,data_category,jurisdiction\ns3://a/x*,us_data,US\ns3://a/xy/*,sg_data,SG\n")
    assert inv.load_reference(ws, "assets", path) == 2
    later = tmp_path / "more.csv"
    later.write_text("resource_pattern,data_category,jurisdiction\ns3://a/*z,eu_data,DE\n")
    with pytest.raises(ReferenceFileError, match=r"an earlier catalogue \(s3://a/x\*\)"):
        inv.load_reference(ws, "assets", later)


def test_roster_from_xlsx_with_aliases(ws, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["actor_id", "home_country", "display_name", "aliases"])
    sheet.append(["wei", "cn", "Wei Zhang", "wei.zhang@corp.example; wzhang"])
    sheet.append(["ann", "US", "Ann Lee", None])
    book.save(tmp_path / "roster.xlsx")
    assert inv.load_reference(ws, "actors", tmp_path / "roster.xlsx") == 2
    assert ws.sql("SELECT identity, actor_id, home_country FROM actor_identities ORDER BY 1").fetchall() == [
        ("ann", "ann", "US"), ("wei", "wei", "CN"), ("wei.zhang@corp.example", "wei", "CN"), ("wzhang", "wei", "CN")]


def test_policy_presets_load_with_parameters(ws, tmp_path):
    n = inv.load_reference(ws, "policy", "preset:trusted_partner",
                           params={"partner_org": "Ironbridge Cloud", "effective_from": "2022-06-17"})
    assert n >= 1
    assert inv.load_reference(ws, "policy", "preset:trusted_partner",
                              params={"partner_org": "Ironbridge Cloud", "effective_from": "2022-06-17"}) == 0
    rows = ws.sql("SELECT data_category, effective_from, access_countries, traffic_orgs FROM policy "
                  "ORDER BY effective_from").fetchall()
    assert rows[-1] == ("us_user_data", datetime(2022, 6, 17, tzinfo=UTC), ["US"], ["Ironbridge Cloud"])
    assert inv.load_reference(ws, "policy", "preset:gdpr_chapter_v") == 5
    got = ws.sql("""SELECT rule_id, list_contains(access_countries, 'US'), list_contains(access_countries, 'DE')
                    FROM policy WHERE data_category = 'eu_personal_data' ORDER BY effective_from""").fetchall()
    assert [r[1] for r in got] == [True, True, False, False, True]  # Privacy Shield, gap, DPF
    assert all(r[2] for r in got)
    source = ws.sql("SELECT path, format FROM reference_sources WHERE source_name = 'gdpr_chapter_v'").fetchall()
    assert source == [("preset:gdpr_chapter_v", "preset")]
    with pytest.raises(ReferenceFileError, match="trusted_partner"):
        inv.load_reference(ws, "policy", "preset:nope")


def test_duckdb_never_fetches_an_extension(ws):
    """A query that needs an extension DuckDB does not have fails at once instead of downloading
    it: the workspace turns auto-install and auto-load off."""
    import duckdb

    assert ws.sql("SELECT current_setting('autoinstall_known_extensions'), "
                  "current_setting('autoload_known_extensions')").fetchone() == (False, False)
    for query in ("SELECT '1.2.3.4'::INET", "SELECT * FROM read_csv('https://example.com/x.csv')",
                  "SELECT * FROM read_csv('s3://bucket/x.csv')"):
        with pytest.raises(duckdb.Error, match="(inet|httpfs) extension"):
            ws.sql(query).fetchall()
    got = ws.sql("SELECT extension_name, loaded FROM duckdb_extensions() "
                 "WHERE extension_name IN ('httpfs', 'inet') ORDER BY 1").fetchall()
    assert got == [("httpfs", False), ("inet", False)]


def test_unknowns_are_counted_with_their_reason(sources):
    ws = sources
    add_events(ws, [("e1", "2022-01-01 00:00:00+00", "ghost", "192.168.1.1", "s3://x/1", "success"),
                    ("e2", "2022-01-01 00:00:00+00", None, None, None, "success"),
                    ("e3", "2022-01-01 00:00:00+00", "ghost", "8.8.8.8", "s3://x/1", "success")])
    got = inv.run_query(ws, "enrichment_unknowns")
    assert list(got.itertuples(index=False, name=None)) == [
        ("access_events", "catalogue", "resource matches no catalogue pattern", 2),
        ("access_events", "catalogue", "no resource in the event", 1),
        ("access_events", "network", "no address in the event", 1),
        ("access_events", "network", "private address in no loaded source", 1),
        ("access_events", "roster", "actor not in the roster", 2),
        ("access_events", "roster", "no actor in the event", 1)]


def test_to_range_quick_ipv4_path_agrees_with_ipaddress():
    import ipaddress
    import random

    rng = random.Random(5)
    base = int(ipaddress.IPv6Address("::ffff:0:0"))
    for _ in range(2000):
        cidr = f"{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}/{rng.randrange(33)}"
        net = ipaddress.ip_network(cidr, strict=False)
        assert to_range(cidr) == (int(net.network_address) + base, int(net.broadcast_address) + base,
                                  net.prefixlen + 96), cidr


def test_overlapping_rules_the_one_that_took_effect_last_applies(ws, tmp_path):
    (tmp_path / "assets.csv").write_text("resource_pattern,data_category,jurisdiction\ns3://eu/*,eu_data,DE\n")
    inv.load_reference(ws, "assets", tmp_path / "assets.csv")
    (tmp_path / "policy.yml").write_text("""rules:
  - {id: always, data_category: eu_data, access_countries: [DE, FR]}
  - {id: company, data_category: eu_data, effective_from: "2022-01-01T00:00:00Z",
     effective_to: "2022-02-01T00:00:00Z", access_countries: [DE]}
  - {id: z_same_start, data_category: eu_data, effective_from: "2022-03-01T00:00:00Z", access_countries: [DE]}
  - {id: a_same_start, data_category: eu_data, effective_from: "2022-03-01T00:00:00Z", access_countries: [FR]}
""")
    inv.load_reference(ws, "policy", tmp_path / "policy.yml")
    add_events(ws, [(i, ts, "x", None, "s3://eu/1", "success") for i, ts in [
        ("e1", "2021-06-01 00:00:00+00"), ("e2", "2022-01-15 00:00:00+00"), ("e3", "2022-02-15 00:00:00+00"),
        ("e4", "2022-03-15 00:00:00+00")]])
    got = ws.sql("SELECT event_id, policy_rule FROM access_enriched ORDER BY event_id").fetchall()
    assert got == [("e1", "always"), ("e2", "company"), ("e3", "always"), ("e4", "z_same_start")]


def test_resources_match_patterns_with_wildcards_anywhere(ws, tmp_path):
    # Candidates are found by the text before a pattern's first wildcard; a pattern that starts
    # with one, a character class or a '?' must still be tried against every resource.
    (tmp_path / "assets.csv").write_text(
        "resource_pattern,data_category,jurisdiction\n"
        "*,any_data,\n"
        "?3://logs/*,logs,DE\n"
        "[st]3://users/eu/*,eu_users,DE\n"
        "s3://users/*,users,US\n"
        "s3://users/us/2022-0?.csv,us_users_2022,US\n"
        "db://prod/*.users,users,US\n")
    inv.load_reference(ws, "assets", tmp_path / "assets.csv")
    resources = {"s3://users/eu/a.csv": "eu_users", "t3://users/eu/b": "eu_users",
                 "s3://users/us/2022-01.csv": "us_users_2022", "s3://users/us/2022-10.csv": "users",
                 "x3://logs/1": "logs", "db://prod/eu.users": "users", "db://prod/eu.user": "any_data",
                 "s3://users": "any_data", "": "any_data", "s3://[users]/x": "any_data"}
    add_events(ws, [(f"e{i}", datetime(2022, 1, 1, tzinfo=UTC), "ann", "192.0.2.1", r, "success")
                    for i, r in enumerate(resources)])
    got = dict(ws.sql("SELECT resource, data_category FROM resource_categories").fetchall())
    assert got == resources
