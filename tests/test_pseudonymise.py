"""Pseudonymisation: keyed HMAC-SHA256 pseudonyms for actor ids, display names and IP addresses,
in query results, streamed files, findings, charts and the report; the key never in an output."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import pandas as pd
import pytest
from PIL import Image

import investigate as inv
from investigate.cli import main
from investigate.pseudonymise import ENV_KEY, ENV_KEY_FILE, PseudonymKey, load_key

from .conftest import SAMPLES
from .test_case import case_ws  # noqa: F401  (the sample case's workspace, built once per module)

SPEC = SAMPLES / "findings.yml"
KEY = b"0123456789abcdef" * 4          # 64 characters, as `secrets.token_hex(32)` gives
OTHER_KEY = b"fedcba9876543210" * 4
DIGITS = {"actor": 12, "name": 12, "ip": 16}


def expected(value: str, kind: str, key: bytes = KEY) -> str:
    """The pseudonym worked out here, independently of the module: HMAC-SHA256(key, kind NUL value)."""
    digest = hmac.new(key, kind.encode() + b"\x00" + value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:DIGITS[kind]]}"


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "case.key"
    path.write_bytes(KEY + b"\n")
    return path


@pytest.fixture(scope="module")
def key() -> PseudonymKey:
    return PseudonymKey(KEY)


def identities(ws) -> set[str]:
    """Every actor identity, display name and address of the workspace, in clear."""
    return {v for (v,) in ws.sql("""
        SELECT actor_id FROM access_events UNION SELECT actor_id FROM actors
        UNION SELECT alias FROM actor_aliases UNION SELECT display_name FROM actors
        UNION SELECT src_ip FROM access_events UNION SELECT src_ip FROM transfer_events
        UNION SELECT dst_ip FROM transfer_events""").fetchall() if v}


def named_in(text: str, names: set[str]) -> set[str]:
    """Which of ``names`` occur in ``text`` as whole words (not inside a longer name or address)."""
    pattern = re.compile(r"(?<![\w.@-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                         + r")(?![\w@-]|\.\d)")
    return {m.group(1) for m in pattern.finditer(text)}


# --- pseudonyms ---------------------------------------------------------------------------------

def test_pseudonyms_are_keyed_hmacs_with_a_readable_prefix(key):
    assert key.pseudonym("hwang") == expected("hwang", "actor") == "actor-48a8e89e9b91"
    assert key.pseudonym("10.30.2.156", "ip") == expected("10.30.2.156", "ip") == "ip-da7d2722df31e420"
    assert key.pseudonym("Avery Brooks", "name") == expected("Avery Brooks", "name") == "name-0776f4c8ef60"
    assert key.pseudonym("hwang") == PseudonymKey(KEY).pseudonym("hwang")  # stable across instances


def test_other_keys_and_other_kinds_give_other_pseudonyms(key):
    other = PseudonymKey(OTHER_KEY)
    assert other.pseudonym("hwang") == expected("hwang", "actor", OTHER_KEY) != key.pseudonym("hwang")
    assert key.pseudonym("hwang", "name")[5:] != key.pseudonym("hwang", "actor")[6:]


def test_missing_stays_missing(key):
    assert [key.pseudonym(v) for v in (None, float("nan"), pd.NA, "")] == [None, None, None, ""]
    df = pd.DataFrame({"actor_id": ["hwang", None, ""], "src_ip": [None, "10.30.2.156", None]})
    out = inv.pseudonymise(df, key)
    assert out.actor_id.tolist()[0] == expected("hwang", "actor") and pd.isna(out.actor_id[1])
    assert out.actor_id[2] == ""
    assert pd.isna(out.src_ip[0]) and out.src_ip[1] == expected("10.30.2.156", "ip") and pd.isna(out.src_ip[2])


def test_the_fingerprint_names_the_key_without_revealing_it(key):
    label = hmac.new(KEY, b"investigate pseudonym key fingerprint v1", hashlib.sha256).hexdigest()
    assert key.fingerprint == label[:16] == "3ba0f7e7f725f7a5"
    assert PseudonymKey(OTHER_KEY).fingerprint != key.fingerprint
    assert repr(key) == "PseudonymKey(fingerprint='3ba0f7e7f725f7a5')"
    assert KEY.decode() not in repr(key) + str(key)


# --- the key ------------------------------------------------------------------------------------

def test_the_key_from_a_file_or_the_environment_is_the_same_key(key_file, monkeypatch):
    assert load_key(key_file).fingerprint == "3ba0f7e7f725f7a5"  # the trailing newline is not the key
    monkeypatch.setenv(ENV_KEY_FILE, str(key_file))
    assert load_key().fingerprint == "3ba0f7e7f725f7a5"
    monkeypatch.delenv(ENV_KEY_FILE)
    monkeypatch.setenv(ENV_KEY, KEY.decode())
    assert load_key().fingerprint == "3ba0f7e7f725f7a5"
    assert inv.load_pseudonym_key is load_key


def test_missing_empty_short_or_wrong_keys_are_refused_without_showing_them(tmp_path, monkeypatch):
    make = "make one with: python -c \"import secrets; print(secrets.token_hex(32))\" > case.key"
    with pytest.raises(inv.PseudonymKeyError) as err:
        load_key()
    assert str(err.value) == ("pseudonymising needs a key: give a key file (--pseudonym-key-file FILE), "
                              f"or set ${ENV_KEY_FILE} to its path or ${ENV_KEY} to the key; {make}")
    with pytest.raises(inv.PseudonymKeyError, match=f"no such key file; {re.escape(make)}"):
        load_key(tmp_path / "missing.key")
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(inv.PseudonymKeyError, match="empty.key: the key is empty"):
        load_key(tmp_path / "empty.key")
    (tmp_path / "short.key").write_text("correct horse battery\n")
    with pytest.raises(inv.PseudonymKeyError) as err:
        load_key(tmp_path / "short.key")
    assert "short.key: the key is 21 bytes long; a key needs at least 32" in str(err.value)
    assert "horse" not in str(err.value)
    (tmp_path / "two.key").write_text(KEY.decode() + "\n" + KEY.decode() + "\n")
    with pytest.raises(inv.PseudonymKeyError, match="a key file holds one line, the key; this one has several"):
        load_key(tmp_path / "two.key")
    (tmp_path / "big.key").write_bytes(b"x" * 5000)
    with pytest.raises(inv.PseudonymKeyError, match="5,000 bytes is not a key file"):
        load_key(tmp_path / "big.key")
    monkeypatch.setenv(ENV_KEY, "   ")
    with pytest.raises(inv.PseudonymKeyError, match=f"\\${ENV_KEY}: the key is empty"):
        load_key()
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "short.key"))
    with pytest.raises(inv.PseudonymKeyError, match="set one of them"):
        load_key()


# --- query results ------------------------------------------------------------------------------

def test_query_results_keep_their_rows_and_enrichment(case_ws, key):  # noqa: F811
    clear = inv.run_query(case_ws, "cross_border_access", category="us_user_data")
    pseudo = inv.run_query(case_ws, "cross_border_access", category="us_user_data", pseudonymise=key)
    assert list(pseudo.columns) == list(clear.columns) and len(pseudo) == len(clear) > 0
    for col, kind in (("actor_id", "actor"), ("roster_actor_id", "actor"), ("src_ip", "ip")):
        assert pseudo[col].tolist() == [None if pd.isna(v) else expected(v, kind) for v in clear[col]]
    untouched = [c for c in clear.columns if c not in ("actor_id", "roster_actor_id", "src_ip")]
    pd.testing.assert_frame_equal(pseudo[untouched], clear[untouched])  # countries, orgs, sites, order
    assert {"src_country", "src_org", "actor_home_country", "access_country"} <= set(untouched)


def test_derived_identity_columns(case_ws, key):  # noqa: F811
    clear = inv.run_query(case_ws, "policy_breaches")
    pseudo = inv.run_query(case_ws, "policy_breaches", pseudonymise=key)
    access = clear.table_name == "access_events"
    assert pseudo.who[access].tolist() == [expected(v, "actor") for v in clear.who[access]]
    # a transfer's "who" is a host or site name (kept) or an address (pseudonymised)
    assert pseudo.who[~access].tolist() == [
        expected(v, "ip") if re.fullmatch(r"[\d.]+", v) else v for v in clear.who[~access]]

    clear = inv.run_query(case_ws, "actor_foreign_access")
    pseudo = inv.run_query(case_ws, "actor_foreign_access", pseudonymise=key)
    assert pseudo.identities.tolist() == [", ".join(expected(i, "actor") for i in v.split(", "))
                                          for v in clear.identities]
    assert any(", " in v for v in clear.identities)  # a person with several identities

    clear = inv.run_query(case_ws, "entity_timeline", entity="hwang")
    pseudo = inv.run_query(case_ws, "entity_timeline", entity="hwang", pseudonymise=key)
    first = clear.iloc[0]
    assert pseudo.summary[0] == first.summary.replace("hwang", expected("hwang", "actor")).replace(
        first.src_ip, expected(first.src_ip, "ip"))
    assert not named_in(" ".join(pseudo.summary), identities(case_ws))


def test_a_dataframe_of_the_roster(case_ws, key):  # noqa: F811
    roster = case_ws.df("SELECT * FROM actors ORDER BY actor_id")
    out = inv.pseudonymise(roster, key)
    assert out.actor_id.tolist() == [expected(v, "actor") for v in roster.actor_id]
    assert out.display_name.tolist() == [expected(v, "name") for v in roster.display_name]
    pd.testing.assert_frame_equal(out[["home_country", "team", "employer"]], roster[["home_country", "team", "employer"]])
    assert roster.actor_id[0] != out.actor_id[0]  # a copy: the original is unchanged
    # more columns on request; a table is not pseudonymised twice
    assert inv.pseudonymise(roster, key, columns={"team": "actor"}).team[0] == expected(roster.team[0], "actor")
    pd.testing.assert_frame_equal(inv.pseudonymise(out, key), out)
    with pytest.raises(inv.PseudonymisationError, match="already pseudonymised, with key 3ba0f7e7f725f7a5"):
        inv.pseudonymise(out, PseudonymKey(OTHER_KEY))
    with pytest.raises(inv.PseudonymisationError, match="pass columns=\\{'summary': None\\}"):
        inv.pseudonymise(pd.DataFrame({"summary": ["hwang read x"]}), key)


def test_streamed_files_are_pseudonymised(case_ws, key, tmp_path):  # noqa: F811
    want = inv.run_query(case_ws, "location_conflicts", pseudonymise=key)
    for name in ("rows.parquet", "rows.csv", "rows.json"):
        assert inv.write_query(case_ws, "location_conflicts", tmp_path / name, pseudonymise=key) == len(want)
        raw = (tmp_path / name).read_bytes()
        assert KEY not in raw and b"3ba0f7e7f725f7a5" not in raw
    got = pd.read_parquet(tmp_path / "rows.parquet")
    assert got.actor_id.tolist() == want.actor_id.tolist() and got.src_ip.tolist() == want.src_ip.tolist()
    text = (tmp_path / "rows.csv").read_text() + (tmp_path / "rows.json").read_text()
    assert not named_in(text, identities(case_ws))
    inv.write_query(case_ws, "location_conflicts", tmp_path / "clear.csv")
    assert "hwang" in named_in((tmp_path / "clear.csv").read_text(), identities(case_ws))  # in clear: found
    assert pd.read_csv(tmp_path / "rows.csv").src_country.tolist() == want.src_country.tolist()


def test_a_large_result_streams_in_batches(case_ws, key):  # noqa: F811
    from investigate.pseudonymise import wrap_sql
    from investigate.queries import arrow_reader, bind_params, get_query

    query = get_query("cross_border_access")
    sql, params = wrap_sql(case_ws.con, query.text, bind_params(query, {}), key)
    batches = list(arrow_reader(case_ws, sql, params, batch_rows=500))
    assert len(batches) > 5
    streamed = [v for b in batches for v in b.column("actor_id").to_pylist()]
    assert streamed == inv.run_query(case_ws, "cross_border_access", pseudonymise=key).actor_id.tolist()


# --- findings and verify ------------------------------------------------------------------------

def test_findings_say_they_are_pseudonymised_and_verify(case_ws, key, tmp_path):  # noqa: F811
    clear = {f.id: f for f in inv.run_findings(case_ws, SPEC, out=tmp_path / "clear")}
    found = {f.id: f for f in inv.run_findings(case_ws, SPEC, out=tmp_path / "out", pseudonymise=key)}
    assert found["cn_staff_access"].values == clear["cn_staff_access"].values  # counts do not change
    assert found["jump_host"].values == clear["jump_host"].values              # nor distinct people
    actor = clear["bulk_export"].values["actor_id"]
    assert found["bulk_export"].values["actor_id"] == expected(actor, "actor")
    assert expected(actor, "actor") in found["bulk_export"].sentence and actor not in found["bulk_export"].sentence

    saved = json.loads((tmp_path / "out/findings.json").read_text())["findings"]
    assert {(f["pseudonymised"], f["pseudonym_key"]) for f in saved} == {(True, "3ba0f7e7f725f7a5")}
    assert {(f["pseudonymised"], f["pseudonym_key"]) for f in json.loads(
        (tmp_path / "clear/findings.json").read_text())["findings"]} == {(False, None)}
    md = (tmp_path / "out/findings.md").read_text()
    assert "Pseudonymised: actor ids, display names and IP addresses are shown as keyed pseudonyms " \
           "(HMAC-SHA256, key fingerprint 3ba0f7e7f725f7a5)" in md
    assert "Not pseudonymised" in (tmp_path / "clear/findings.md").read_text()
    written = "".join(p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert KEY.decode() not in written and not named_in(written, identities(case_ws))

    path = tmp_path / "out/findings.json"
    assert {c.id: c.status for c in inv.verify(case_ws, path, pseudonymise=key)} == dict.fromkeys(found, "same")
    without = {c.id: c for c in inv.verify(case_ws, path)}
    assert {i: c.status for i, c in without.items() if i != "bulk_export"} == dict.fromkeys(
        set(found) - {"bulk_export"}, "same")
    assert (without["bulk_export"].status, without["bulk_export"].detail) == (
        "cannot check", "pseudonymised, and value actor_id depend(s) on the key: give the key of "
                        "fingerprint 3ba0f7e7f725f7a5 (--pseudonym-key-file FILE) to check it")
    [wrong] = [c for c in inv.verify(case_ws, path, pseudonymise=PseudonymKey(OTHER_KEY)) if c.id == "jump_host"]
    assert (wrong.status, wrong.detail) == ("cannot check", "pseudonymised with the key of fingerprint "
                                            "3ba0f7e7f725f7a5; the key given has fingerprint "
                                            f"{PseudonymKey(OTHER_KEY).fingerprint}")


def test_a_finding_selecting_a_person_records_the_pseudonym(case_ws, key, tmp_path):  # noqa: F811
    spec = [{"id": "one_person", "query": "cross_border_access", "where": {"actor_id": "hwang"},
             "values": {"accesses": "count()"}, "sentence": "{accesses} accesses."}]
    [clear] = inv.run_findings(case_ws, spec)
    [f] = inv.run_findings(case_ws, spec, out=tmp_path, pseudonymise=key)
    assert f.values == clear.values and clear.values["accesses"] > 0
    assert f.spec["where"] == {"actor_id": expected("hwang", "actor")} and spec[0]["where"]["actor_id"] == "hwang"
    assert "hwang" not in (tmp_path / "findings.json").read_text()
    [check] = inv.verify(case_ws, tmp_path / "findings.json", pseudonymise=key)
    assert check.status == "same"
    [check] = inv.verify(case_ws, tmp_path / "findings.json")
    assert check.status == "cannot check" and "where actor_id depend(s) on the key" in check.detail


def test_a_parameter_naming_an_identity_is_refused(case_ws, key):  # noqa: F811
    spec = {"id": "timeline", "query": "entity_timeline", "params": {"entity": "hwang"},
            "values": {"events": "count()"}, "sentence": "{events} events."}
    assert inv.compute_finding(case_ws, spec).values["events"] > 0  # in clear: allowed
    with pytest.raises(inv.PseudonymisationError) as err:
        inv.compute_finding(case_ws, spec, pseudonymise=key)
    assert str(err.value).startswith(
        "finding timeline: parameter entity is an actor identity of this workspace, and findings.json "
        "records parameters as given, so a pseudonymised finding would publish it")
    spec["params"] = {"entity": "10.30.2.156"}
    with pytest.raises(inv.PseudonymisationError, match="parameter entity is an IP address"):
        inv.compute_finding(case_ws, spec, pseudonymise=key)


# --- charts and the report ----------------------------------------------------------------------

def test_charts_show_pseudonyms(case_ws, key):  # noqa: F811
    df = inv.run_query(case_ws, "cross_border_access", category="us_user_data", pseudonymise=key)
    fig = inv.charts.actor_timeline(df[df.actor_home_country == "CN"], country="src_country",
                                    title="t", source="s")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels and all(re.fullmatch(r"actor-[0-9a-f]{12}", x) for x in labels)


@pytest.fixture(scope="module")
def report(case_ws, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("pseudonymised-report")
    return inv.write_report(case_ws, SPEC, out, pseudonymise=PseudonymKey(KEY))


def test_the_report_is_pseudonymised_and_says_so(report, case_ws):  # noqa: F811
    out = report.html.parent
    page = report.html.read_text()
    assert ("<p class='meta' id='identities'>Pseudonymised: actor ids, display names and IP addresses "
            "are shown as keyed pseudonyms (HMAC-SHA256, key fingerprint 3ba0f7e7f725f7a5)") in page
    assert all(f.pseudonymised for f in report.findings)
    timeline = pd.read_csv(out / "figures/jump_host.csv")
    assert timeline.actor_id.str.fullmatch(r"actor-[0-9a-f]{12}").all()
    assert set(timeline.src_country) == {"CN", "US"}  # the countries the chart colours by, in clear
    assert set(timeline.actor_home_country) == {"CN"}    # the chart's where, applied in clear
    checks = page[page.index("<section id='checks'>"):page.index("<section id='coverage'>")]
    assert "<h3>actors_missing_from_roster</h3>" in checks and "<td>actor-" in checks
    png = Image.open(out / "figures/jump_host.png")
    assert png.text["Pseudonymised"] == "yes, key fingerprint 3ba0f7e7f725f7a5"
    texts = [p for p in out.rglob("*") if p.suffix in (".html", ".md", ".json", ".csv", ".svg")]
    assert not {p.name: named_in(p.read_text(), identities(case_ws)) for p in texts
                if named_in(p.read_text(), identities(case_ws))}
    for p in out.rglob("*"):  # the key is in no output, text or binary
        if p.is_file():
            assert KEY not in p.read_bytes(), p


# --- the command line ---------------------------------------------------------------------------

def test_cli_round_trip(tmp_path, key_file, capsys, monkeypatch):
    ws = tmp_path / "ws.duckdb"
    assert main(["case", str(ws), str(SAMPLES)]) == 0
    capsys.readouterr()
    by_file, by_env = tmp_path / "by_file.csv", tmp_path / "by_env.csv"
    assert main(["query", str(ws), "location_conflicts", "-o", str(by_file),
                 "--pseudonym-key-file", str(key_file)]) == 0
    monkeypatch.setenv(ENV_KEY_FILE, str(key_file))
    assert main(["query", str(ws), "location_conflicts", "-o", str(by_env), "--pseudonymise"]) == 0
    assert by_file.read_bytes() == by_env.read_bytes()
    rows = pd.read_csv(by_file)
    assert rows.actor_id.str.fullmatch(r"actor-[0-9a-f]{12}").all()
    assert rows.src_ip.str.fullmatch(r"ip-[0-9a-f]{16}").all() and rows.src_country.notna().all()

    out = tmp_path / "findings"
    assert main(["findings", str(ws), str(SPEC), "--out", str(out), "--pseudonymise"]) == 0
    assert "3ba0f7e7f725f7a5" in (out / "findings.md").read_text()
    monkeypatch.delenv(ENV_KEY_FILE)
    capsys.readouterr()
    assert main(["verify", str(ws), str(out / "findings.json"), "--pseudonym-key-file", str(key_file)]) == 0
    assert main(["verify", str(ws), str(out / "findings.json")]) == 1  # bulk_export needs the key
    assert "bulk_export: cannot check (pseudonymised, and value actor_id depend(s) on the key" in capsys.readouterr().out

    assert main(["query", str(ws), "location_conflicts", "--pseudonymise"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: pseudonymising needs a key: give a key file (--pseudonym-key-file FILE)")
    assert main(["query", str(ws), "location_conflicts", "--pseudonym-key-file", str(tmp_path / "nope.key")]) == 2
    assert "nope.key: no such key file" in capsys.readouterr().err
