"""Published IP range files (AWS, Google, Azure, Oracle, MaxMind DB) -> network rows."""

from __future__ import annotations

import csv
import ipaddress
import json
from importlib import resources

import maxminddb
import pytest

from investigate.enrich import network_sources as ns
from investigate.enrich.network_sources import (NETWORK_FORMATS, detect_network_format,
                                                read_network_source)
from investigate.errors import ReferenceFileError

from .mmdb_writer import write_mmdb

AWS = "Amazon Web Services"
AZ = "Microsoft Azure"
OCI = "Oracle Cloud Infrastructure"


def rows_of(source):
    assert list(source.rows.columns) == ["cidr", "country", "org", "site", "kind"]
    return list(source.rows.itertuples(index=False, name=None))


def write_json(path, data):
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def aws_prefix(prefix, region, service, border_group=None):
    return {"ip_prefix": prefix, "region": region, "service": service,
            "network_border_group": border_group or region}


def aws_doc():
    return {
        "syncToken": "1700000000",
        "createDate": "2023-11-14-22-13-07",
        "prefixes": [
            aws_prefix("3.5.140.0/22", "ap-northeast-2", "AMAZON"),
            aws_prefix("52.95.0.0/16", "us-east-1", "AMAZON"),
            aws_prefix("52.95.0.0/16", "us-east-1", "S3"),
            aws_prefix("54.243.31.192/26", "us-east-1", "AMAZON"),
            aws_prefix("54.243.31.192/26", "us-east-1", "ROUTE53_HEALTHCHECKS"),
            aws_prefix("54.243.31.192/26", "us-east-1", "EC2"),
            aws_prefix("15.177.0.0/18", "GLOBAL", "ROUTE53_HEALTHCHECKS"),
            aws_prefix("15.230.0.0/24", "xx-fake-1", "AMAZON"),
            aws_prefix("15.181.80.0/20", "us-east-1", "EC2", "us-east-1-bue-1"),  # Buenos Aires LZ
            aws_prefix("52.94.76.5/22", "eu-west-1", "EC2"),  # host bits set
        ],
        "ipv6_prefixes": [
            {"ipv6_prefix": "2600:1f14::/35", "region": "us-west-2", "service": "EC2",
             "network_border_group": "us-west-2"},
            {"ipv6_prefix": "2600:1F14::/35", "region": "us-west-2", "service": "AMAZON",
             "network_border_group": "us-west-2"},
            {"ipv6_prefix": "2a05:d07a:a000::/40", "region": "eu-south-1", "service": "AMAZON",
             "network_border_group": "eu-south-1"},
        ],
    }


def google_doc():
    return {"syncToken": "1699990000000", "creationTime": "2023-11-14T12:00:00.000000",
            "prefixes": [
                {"ipv4Prefix": "34.80.0.0/15", "service": "Google Cloud", "scope": "asia-east1"},
                {"ipv6Prefix": "2600:1900:4000::/44", "service": "Google Cloud", "scope": "us-central1"},
                {"ipv4Prefix": "34.35.0.0/16", "service": "Google Cloud", "scope": "africa-south1"},
                {"ipv4Prefix": "35.235.0.0/20", "service": "Google Cloud", "scope": "us-nowhere9"},
            ]}


def azure_tag(name, region, service, prefixes):
    return {"name": name, "id": name,
            "properties": {"changeNumber": 12, "region": region, "regionId": 1, "platform": "Azure",
                           "systemService": service, "addressPrefixes": prefixes,
                           "networkFeatures": ["API", "NSG"]}}


def azure_doc():
    return {"changeNumber": 145, "cloud": "Public", "values": [
        # the catch-all tag first: precedence must not depend on file order
        azure_tag("AzureCloud", "", "", ["13.68.128.0/17", "20.38.98.0/24", "2603:1030:210::/47",
                                         "40.90.0.0/16"]),
        azure_tag("Storage", "", "AzureStorage", ["20.38.98.0/24"]),
        azure_tag("AzureCloud.eastus", "eastus", "", ["13.68.128.0/17", "20.38.98.0/24",
                                                      "2603:1030:210::/47"]),
        azure_tag("Storage.EastUS", "eastus", "AzureStorage", ["20.38.98.0/24"]),
        azure_tag("AzureCloud.germanywc", "germanywc", "", ["51.116.0.0/18"]),
    ]}


def oracle_doc():
    return {"last_updated_timestamp": "2023-11-14T18:52:03.123456", "regions": [
        {"region": "us-phoenix-1", "cidrs": [{"cidr": "129.146.0.0/21", "tags": ["OCI"]},
                                             {"cidr": "134.70.16.0/22", "tags": ["OSN", "OBJECT_STORAGE"]}]},
        {"region": "eu-frankfurt-1", "cidrs": [{"cidr": "130.61.0.0/16", "tags": ["OCI"]}]},
        {"region": "xx-mystery-1", "cidrs": [{"cidr": "192.0.2.0/24", "tags": []}]},
    ]}


# --------------------------------------------------------------------------- providers

def test_aws_rows_merge_services_and_resolve_countries(tmp_path):
    src = read_network_source(write_json(tmp_path / "ip-ranges.json", aws_doc()))
    assert (src.format, src.name) == ("aws", "AWS ip-ranges.json")
    assert src.version == "syncToken 1700000000, createDate 2023-11-14-22-13-07"
    assert rows_of(src) == [
        ("3.5.140.0/22", "KR", AWS, "ap-northeast-2", "aws:amazon"),
        ("52.95.0.0/16", "US", AWS, "us-east-1", "aws:s3"),
        ("54.243.31.192/26", "US", AWS, "us-east-1", "aws:route53_healthchecks"),
        ("15.177.0.0/18", None, AWS, "GLOBAL", "aws:route53_healthchecks"),
        ("15.230.0.0/24", None, AWS, "xx-fake-1", "aws:amazon"),
        ("15.181.80.0/20", "AR", AWS, "us-east-1", "aws:ec2"),
        ("52.94.76.0/22", "IE", AWS, "eu-west-1", "aws:ec2"),
        ("2600:1f14::/35", "US", AWS, "us-west-2", "aws:ec2"),
        ("2a05:d07a:a000::/40", "IT", AWS, "eu-south-1", "aws:amazon"),
    ]
    assert src.notes == [
        "1 prefix in regions with no known country (GLOBAL)",
        "1 prefix in 1 region not in the region table, country left empty: xx-fake-1",
        "duplicates merged: 3 prefixes listed 7 times in all; one row each, kind is the most "
        "specific service (a named service, then EC2, then AMAZON)",
        "1 prefix with host bits set, normalised: '52.94.76.5/22' -> 52.94.76.0/22",
    ]


def test_aws_prefix_in_two_countries_is_noted(tmp_path):
    doc = {"syncToken": "1", "createDate": "x", "prefixes": [
        aws_prefix("1.0.0.0/24", "us-east-1", "AMAZON"), aws_prefix("1.0.0.0/24", "eu-west-1", "EC2")],
        "ipv6_prefixes": []}
    src = read_network_source(write_json(tmp_path / "a.json", doc))
    assert rows_of(src) == [("1.0.0.0/24", "IE", AWS, "eu-west-1", "aws:ec2")]
    assert src.notes[-1] == ("1 prefix listed in regions of different countries; each row keeps the "
                             "chosen entry's region: 1.0.0.0/24: us-east-1 (US) / eu-west-1 (IE)")


def test_google_cloud_json(tmp_path):
    src = read_network_source(write_json(tmp_path / "cloud.json", google_doc()))
    assert (src.format, src.name) == ("google", "Google Cloud cloud.json")
    assert src.version == "syncToken 1699990000000, creationTime 2023-11-14T12:00:00.000000"
    assert rows_of(src) == [
        ("34.80.0.0/15", "TW", "Google Cloud", "asia-east1", "gcp"),
        ("2600:1900:4000::/44", "US", "Google Cloud", "us-central1", "gcp"),
        ("34.35.0.0/16", "ZA", "Google Cloud", "africa-south1", "gcp"),
        ("35.235.0.0/20", None, "Google Cloud", "us-nowhere9", "gcp"),
    ]
    assert src.notes == ["1 prefix in 1 region not in the region table, country left empty: us-nowhere9"]


def test_google_goog_json_has_no_regions(tmp_path):
    doc = {"syncToken": "1", "creationTime": "2023-11-14T12:00:00",
           "prefixes": [{"ipv4Prefix": "8.8.4.0/24"}, {"ipv6Prefix": "2001:4860::/32"}]}
    src = read_network_source(write_json(tmp_path / "goog.json", doc))
    assert (src.format, src.name) == ("google", "Google goog.json")
    assert rows_of(src) == [("8.8.4.0/24", None, "Google", None, "google"),
                            ("2001:4860::/32", None, "Google", None, "google")]
    assert src.notes == ["2 prefixes in regions with no known country (no scope)"]


def test_azure_service_tags_prefer_region_then_system_service(tmp_path):
    src = read_network_source(write_json(tmp_path / "ServiceTags_Public_20231113.json", azure_doc()))
    assert (src.format, src.name) == ("azure", "Azure Service Tags (Public)")
    assert src.version == "changeNumber 145, cloud Public"
    assert rows_of(src) == [
        ("13.68.128.0/17", "US", AZ, "eastus", "azure"),
        ("20.38.98.0/24", "US", AZ, "eastus", "azure:azurestorage"),
        ("2603:1030:210::/47", "US", AZ, "eastus", "azure"),
        ("40.90.0.0/16", None, AZ, None, "azure"),
        ("51.116.0.0/18", "DE", AZ, "germanywc", "azure"),
    ]
    assert src.notes == [
        "1 prefix in regions with no known country (tags with an empty region)",
        "duplicates merged: 3 prefixes listed 8 times in all; one row each, from a tag with a "
        "region, then one with a systemService",
    ]


def test_oracle_public_ip_ranges(tmp_path):
    src = read_network_source(write_json(tmp_path / "public_ip_ranges.json", oracle_doc()))
    assert (src.format, src.name) == ("oracle", "Oracle Cloud public_ip_ranges.json")
    assert src.version == "last_updated_timestamp 2023-11-14T18:52:03.123456"
    assert rows_of(src) == [
        ("129.146.0.0/21", "US", OCI, "us-phoenix-1", "oci:oci"),
        ("134.70.16.0/22", "US", OCI, "us-phoenix-1", "oci:osn"),
        ("130.61.0.0/16", "DE", OCI, "eu-frankfurt-1", "oci:oci"),
        ("192.0.2.0/24", None, OCI, "xx-mystery-1", "oci"),
    ]
    assert src.notes == ["1 prefix in 1 region not in the region table, country left empty: xx-mystery-1"]


def test_unknown_regions_note_lists_at_most_ten(tmp_path):
    doc = {"last_updated_timestamp": "t", "regions": [
        {"region": f"zz-nowhere-{i:02d}", "cidrs": [{"cidr": f"10.{i}.0.0/16", "tags": ["OCI"]}]}
        for i in range(12)]}
    src = read_network_source(write_json(tmp_path / "o.json", doc))
    names = ", ".join(f"zz-nowhere-{i:02d}" for i in range(10))
    assert src.notes == [f"12 prefixes in 12 regions not in the region table, country left empty: "
                         f"{names} (+2 more)"]


# --------------------------------------------------------------------------- errors

def test_bad_prefix_names_file_and_entry(tmp_path):
    doc = aws_doc()
    doc["prefixes"] += [aws_prefix("3.5.140.0/22", "ap-northeast-2", "EC2")] * 2
    doc["prefixes"].append(aws_prefix("52.95.0.0/33", "us-east-1", "AMAZON"))  # prefixes[12]
    path = write_json(tmp_path / "aws.json", doc)
    with pytest.raises(ReferenceFileError) as err:
        read_network_source(path)
    assert str(err.value) == f"{path}: prefixes[12]: 'ip_prefix' '52.95.0.0/33' is not an IP network"


def test_bad_prefix_in_azure_and_oracle_names_the_tag_and_region(tmp_path):
    doc = azure_doc()
    doc["values"][3]["properties"]["addressPrefixes"].append("20.38.98.0/24x")
    path = write_json(tmp_path / "tags.json", doc)
    with pytest.raises(ReferenceFileError) as err:
        read_network_source(path)
    assert str(err.value) == (f"{path}: values[3] (Storage.EastUS): properties.addressPrefixes[1]: "
                              "'addressPrefixes' '20.38.98.0/24x' is not an IP network")
    doc = oracle_doc()
    doc["regions"][1]["cidrs"][0]["cidr"] = 130
    path = write_json(tmp_path / "oci.json", doc)
    with pytest.raises(ReferenceFileError, match=r"regions\[1\] \(eu-frankfurt-1\): cidrs\[0\]: 'cidr' 130 "):
        read_network_source(path)


def test_missing_prefix_key_and_wrong_format_are_errors(tmp_path):
    doc = google_doc()
    doc["prefixes"][2] = {"scope": "us-east1"}
    path = write_json(tmp_path / "g.json", doc)
    with pytest.raises(ReferenceFileError) as err:
        read_network_source(path)
    assert str(err.value) == f"{path}: prefixes[2]: no 'ipv4Prefix' or 'ipv6Prefix'"
    azure = write_json(tmp_path / "tags.json", azure_doc())
    with pytest.raises(ReferenceFileError) as err:
        read_network_source(azure, format="aws")
    assert str(err.value) == (f"{azure}: no 'prefixes' list; this is not a 'aws' IP range file "
                              "(it looks like azure)")
    with pytest.raises(ReferenceFileError, match="unknown network format 'csv'"):
        read_network_source(azure, format="csv")


def test_truncated_json_is_a_clear_error(tmp_path):
    text = json.dumps(aws_doc(), indent=2)
    path = tmp_path / "ip-ranges.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    for call in (lambda: read_network_source(path), lambda: read_network_source(path, format="aws"),
                 lambda: detect_network_format(path)):
        with pytest.raises(ReferenceFileError) as err:
            call()
        message = str(err.value)
        assert message.startswith(f"{path}: not valid JSON: ")
        assert message.endswith("(the file ends early: it is truncated; download it again)")


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ReferenceFileError, match="no such file"):
        read_network_source(tmp_path / "absent.json")


# --------------------------------------------------------------------------- detection

def test_detection_reads_content_not_names(tmp_path):
    files = {
        "cloud.json": (aws_doc(), "aws"),  # an AWS file under Google's file name
        "ip-ranges.json": (google_doc(), "google"),
        "public_ip_ranges.json": (azure_doc(), "azure"),
        "ServiceTags_Public_20231113.json": (oracle_doc(), "oracle"),
    }
    for name, (doc, fmt) in files.items():
        path = write_json(tmp_path / name, doc)
        assert detect_network_format(path) == fmt, name
        assert read_network_source(path).format == fmt
    mmdb = write_mmdb(tmp_path / "networks.csv", [("1.2.3.0/24", {"country": {"iso_code": "DE"}})],
                      database_type="GeoLite2-Country")
    assert detect_network_format(mmdb) == "mmdb"
    inventory = tmp_path / "ip-ranges.json"
    inventory.write_text("\ufeffcidr,country,org\n10.0.0.0/8,DE,HQ\n", encoding="utf-8")
    assert detect_network_format(inventory) == "inventory"


def test_inventory_is_left_to_reference_py(tmp_path):
    inventory = tmp_path / "inv.csv"
    inventory.write_text("site, CIDR ,country\nHQ,10.0.0.0/8,DE\n", encoding="utf-8")
    assert detect_network_format(inventory) == "inventory"
    for fmt in (None, "inventory"):
        with pytest.raises(ValueError, match="inventory is read by reference.py"):
            read_network_source(inventory, format=fmt)


@pytest.mark.parametrize("content", [b"", b"hello,world\n1,2\n", b"\x00\x01\x02binary",
                                     b'{"some": "json"}', b"[1, 2]"])
def test_unrecognised_content_lists_the_formats(tmp_path, content):
    path = tmp_path / "ip-ranges.json"
    path.write_bytes(content)
    with pytest.raises(ReferenceFileError) as err:
        detect_network_format(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    for fmt in NETWORK_FORMATS:
        assert f"{fmt} (" in message


# --------------------------------------------------------------------------- mmdb

COUNTRY_DE = {"continent": {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}},
              "country": {"geoname_id": 2921044, "iso_code": "DE", "names": {"en": "Germany"}},
              "registered_country": {"geoname_id": 2921044, "iso_code": "DE", "names": {"en": "Germany"}}}
COUNTRY_US = {"country": {"geoname_id": 6252001, "iso_code": "US", "names": {"en": "United States"}}}
COUNTRY_IE = {"country": {"geoname_id": 2963597, "iso_code": "IE", "names": {"en": "Ireland"}}}
REGISTERED_ONLY = {"registered_country": {"geoname_id": 6252001, "iso_code": "US"}}


def country_networks():
    return [("1.2.3.0/24", COUNTRY_DE), ("5.6.0.0/16", COUNTRY_US),
            ("2a00:1450::/32", COUNTRY_IE), ("2600:1f00::/24", REGISTERED_ONLY)]


def test_mmdb_writer_output_is_read_by_maxminddb(tmp_path):
    path = write_mmdb(tmp_path / "c.mmdb", country_networks(), database_type="GeoLite2-Country")
    for mode in (maxminddb.MODE_AUTO, maxminddb.MODE_FILE):  # the C extension and pure Python
        with maxminddb.open_database(str(path), mode) as reader:
            assert reader.metadata().database_type == "GeoLite2-Country"
            assert reader.get("1.2.3.4") == COUNTRY_DE
            assert reader.get("::ffff:1.2.3.4") == COUNTRY_DE  # the aliases point at IPv4 space
            assert reader.get("2002:102:304::") == COUNTRY_DE
            assert reader.get("2a00:1450::1") == COUNTRY_IE
            assert reader.get("9.9.9.9") is None


def test_mmdb_country_database(tmp_path):
    path = write_mmdb(tmp_path / "GeoLite2-Country.mmdb", country_networks(),
                      database_type="GeoLite2-Country")
    src = read_network_source(path, cache_dir=tmp_path / "cache")
    assert (src.format, src.name) == ("mmdb", "GeoLite2-Country (MaxMind)")
    assert src.version == "GeoLite2-Country, built 2023-11-14T22:13:20Z"
    # IPv4 space of the IPv6 tree comes out as IPv4, once: the alias subtrees are not listed
    assert rows_of(src) == [
        ("1.2.3.0/24", "DE", None, None, "mmdb"),
        ("5.6.0.0/16", "US", None, None, "mmdb"),
        ("2600:1f00::/24", None, None, None, "mmdb"),
        ("2a00:1450::/32", "IE", None, None, "mmdb"),
    ]
    assert src.notes == ["1 of 4 networks without a country (e.g. only a registered country, or "
                         "anycast); country left empty"]


def test_mmdb_alias_ranges_holding_data_are_skipped(tmp_path):
    # a tree whose alias ranges hold copies instead of pointers: those copies must not be listed
    networks = [("::10.1.0.0/112", COUNTRY_DE), ("::ffff:10.1.0.0/112", COUNTRY_DE),
                ("2002:a01::/32", COUNTRY_DE), ("2001:0:a01::/48", COUNTRY_DE),
                ("2001:db8::/32", COUNTRY_US)]
    path = write_mmdb(tmp_path / "x.mmdb", networks, database_type="GeoIP2-Country", alias_ipv4=False)
    src = read_network_source(path, cache_dir=tmp_path / "cache")
    assert rows_of(src) == [("10.1.0.0/16", "DE", None, None, "mmdb"),
                            ("2001:db8::/32", "US", None, None, "mmdb")]


def test_mmdb_cidr_conversion():
    assert ns._mmdb_cidr(ipaddress.ip_network("::a01:0/112")) == "10.1.0.0/16"
    assert ns._mmdb_cidr(ipaddress.ip_network("::/96")) == "0.0.0.0/0"
    assert ns._mmdb_cidr(ipaddress.ip_network("::ffff:a01:0/112")) is None
    assert ns._mmdb_cidr(ipaddress.ip_network("2002::/16")) is None
    assert ns._mmdb_cidr(ipaddress.ip_network("2001::/33")) is None
    assert ns._mmdb_cidr(ipaddress.ip_network("2001:db8::/32")) == "2001:db8::/32"
    assert ns._mmdb_cidr(ipaddress.ip_network("10.0.0.0/8")) == "10.0.0.0/8"


def test_mmdb_city_database(tmp_path):
    city = {"city": {"geoname_id": 2925533, "names": {"en": "Frankfurt am Main"}},
            "continent": {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}},
            "country": {"geoname_id": 2921044, "iso_code": "de", "names": {"en": "Germany"}},
            "location": {"accuracy_radius": 20, "latitude": 50.1188, "longitude": 8.6843,
                         "time_zone": "Europe/Berlin"},
            "postal": {"code": "60313"},
            "subdivisions": [{"geoname_id": 2905330, "iso_code": "HE", "names": {"en": "Hesse"}}]}
    path = write_mmdb(tmp_path / "dbip-city-lite.mmdb", [("185.1.0.0/22", city), ("2a01:4f8::/32", city)],
                      database_type="DBIP-City-Lite", build_epoch=1_735_689_600)
    src = read_network_source(path, cache_dir=tmp_path / "cache")
    assert (src.name, src.version) == ("DBIP-City-Lite (DB-IP)", "DBIP-City-Lite, built 2025-01-01T00:00:00Z")
    assert rows_of(src) == [("185.1.0.0/22", "DE", None, None, "mmdb"),
                            ("2a01:4f8::/32", "DE", None, None, "mmdb")]
    assert src.notes == []


def test_mmdb_asn_database(tmp_path):
    google = {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"}
    networks = [("8.8.8.0/24", google), ("2001:4860::/32", google),
                ("1.1.1.0/24", {"autonomous_system_number": 13335,
                                "autonomous_system_organization": "CLOUDFLARENET"})]
    path = write_mmdb(tmp_path / "GeoLite2-ASN.mmdb", networks, database_type="GeoLite2-ASN")
    src = read_network_source(path, cache_dir=tmp_path / "cache")
    assert src.name == "GeoLite2-ASN (MaxMind)"
    assert rows_of(src) == [("1.1.1.0/24", None, "CLOUDFLARENET", None, "mmdb"),
                            ("8.8.8.0/24", None, "GOOGLE", None, "mmdb"),
                            ("2001:4860::/32", None, "GOOGLE", None, "mmdb")]
    assert src.notes == ["no country in this database (e.g. an ASN database): 3 networks, org only"]


def test_mmdb_ipinfo_lite_and_ipv4_only_tree(tmp_path):
    record = {"asn": "AS13335", "as_name": "Cloudflare, Inc.", "as_domain": "cloudflare.com",
              "country_code": "AU", "country": "Australia", "continent_code": "OC", "continent": "Oceania"}
    path = write_mmdb(tmp_path / "ipinfo_lite.mmdb", [("1.0.0.0/24", record), ("2606:4700::/32", record)],
                      database_type="ipinfo lite.mmdb")
    src = read_network_source(path, cache_dir=tmp_path / "cache")
    assert src.name == "ipinfo lite.mmdb (IPinfo)"
    assert rows_of(src) == [("1.0.0.0/24", "AU", "Cloudflare, Inc.", None, "mmdb"),
                            ("2606:4700::/32", "AU", "Cloudflare, Inc.", None, "mmdb")]
    path4 = write_mmdb(tmp_path / "v4.mmdb", [("1.0.0.0/24", {"country": "JP"})],
                       database_type="ipinfo country.mmdb", ip_version=4)
    assert rows_of(read_network_source(path4, cache_dir=tmp_path / "cache")) == [
        ("1.0.0.0/24", "JP", None, None, "mmdb")]


def test_mmdb_that_is_not_one_is_an_error(tmp_path):
    path = tmp_path / "broken.mmdb"
    path.write_bytes(b"\x00" * 64 + b"\xab\xcd\xefMaxMind.com" + b"\xe0")  # marker, empty metadata
    with pytest.raises(ReferenceFileError, match="not a readable MaxMind DB"):
        read_network_source(path, cache_dir=tmp_path / "cache")


def test_mmdb_cache_hit_does_not_open_the_database(tmp_path, monkeypatch):
    path = write_mmdb(tmp_path / "c.mmdb", country_networks(), database_type="GeoLite2-Country")
    first = read_network_source(path, cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache").iterdir())
    assert [p.name for p in cached] == [f"{ns.sha256_of(path)}.parquet"]

    def refuse(*args, **kwargs):
        raise AssertionError("the cache should have answered")
    monkeypatch.setattr(maxminddb, "open_database", refuse)
    second = read_network_source(path, cache_dir=tmp_path / "cache")
    assert (second.format, second.name, second.version, second.notes) == (
        first.format, first.name, first.version, first.notes)
    assert rows_of(second) == rows_of(first)


def test_mmdb_cache_default_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INVESTIGATE_CACHE", str(tmp_path / "envcache"))
    path = write_mmdb(tmp_path / "c.mmdb", country_networks(), database_type="GeoLite2-Country")
    read_network_source(path)
    assert (tmp_path / "envcache" / f"{ns.sha256_of(path)}.parquet").is_file()


def test_mmdb_unwritable_cache_is_not_used(tmp_path, monkeypatch):
    path = write_mmdb(tmp_path / "c.mmdb", country_networks(), database_type="GeoLite2-Country")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    opened = []
    real_open = maxminddb.open_database
    monkeypatch.setattr(maxminddb, "open_database", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    first = read_network_source(path, cache_dir=blocker / "cache")  # cannot be created
    second = read_network_source(path, cache_dir=blocker / "cache")
    assert len(opened) == 2
    assert rows_of(first) == rows_of(second) and len(rows_of(first)) == 4
    assert not (blocker.parent / "cache").exists()


def test_mmdb_damaged_cache_file_is_rewritten(tmp_path):
    path = write_mmdb(tmp_path / "c.mmdb", country_networks(), database_type="GeoLite2-Country")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{ns.sha256_of(path)}.parquet").write_bytes(b"not parquet")
    assert len(rows_of(read_network_source(path, cache_dir=cache))) == 4
    assert len(rows_of(read_network_source(path, cache_dir=cache))) == 4
    assert (cache / f"{ns.sha256_of(path)}.parquet").read_bytes()[:4] == b"PAR1"


# --------------------------------------------------------------------------- region table

def test_region_table_is_well_formed_and_covers_the_named_regions():
    text = resources.files("investigate.enrich").joinpath("data", "cloud_regions.csv").read_text("utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["provider", "region", "country"]
    seen = set()
    for provider, region, country in rows[1:]:
        assert provider in ("aws", "google", "azure", "oracle")
        assert region == region.strip() and (provider != "azure" or region == region.lower())
        assert len(country) == 2 and country.isalpha() and country.isupper(), (region, country)
        assert (provider, region) not in seen
        seen.add((provider, region))
    table = ns.cloud_regions()
    expected = {
        "aws": {"us-east-1": "US", "eu-central-1": "DE", "ap-southeast-1": "SG", "me-central-1": "AE",
                "il-central-1": "IL", "ca-west-1": "CA", "mx-central-1": "MX", "ap-southeast-5": "MY",
                "ap-southeast-7": "TH", "us-gov-west-1": "US", "us-gov-east-1": "US",
                "cn-north-1": "CN", "cn-northwest-1": "CN"},
        "google": {"us-central1": "US", "europe-west3": "DE", "asia-southeast1": "SG",
                   "me-central2": "SA", "africa-south1": "ZA"},
        "azure": {"eastus": "US", "westeurope": "NL", "northeurope": "IE", "germanywestcentral": "DE",
                  "southeastasia": "SG", "uaenorth": "AE", "israelcentral": "IL", "italynorth": "IT",
                  "polandcentral": "PL", "spaincentral": "ES", "mexicocentral": "MX",
                  "newzealandnorth": "NZ"},
        "oracle": {"us-ashburn-1": "US", "eu-frankfurt-1": "DE", "ap-singapore-1": "SG",
                   "me-jeddah-1": "SA", "il-jerusalem-1": "IL", "mx-queretaro-1": "MX"},
    }
    for provider, regions in expected.items():
        for region, country in regions.items():
            assert table[provider][region] == country, (provider, region)
