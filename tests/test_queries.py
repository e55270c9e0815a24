"""The query library: headers, binding, and given/expect cases with exact outputs."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

import investigate as inv
from investigate.queries import list_queries

UTC = timezone.utc


def test_every_query_states_its_question_parameters_and_columns():
    queries = list_queries()
    assert {q.name for q in queries} >= {"cross_border_access_summary", "partner_share", "offshore_copies",
                                          "bulk_access", "location_conflicts", "coverage", "coverage_gaps"}
    for q in queries:
        assert q.question.endswith("?"), q.name
        assert q.returns and q.caveats, q.name
        for name in q.params:
            assert f"${name}" in q.text, f"{q.name} declares {name} but never binds it"


@pytest.fixture
def given(ws, tmp_path):
    """A tiny world: US data, a US and a CN network, a roster with an alias."""
    files = {
        "networks": "cidr,country,org,site,kind\n10.1.0.0/16,US,Corp,us-office,office\n"
                    "10.2.0.0/16,CN,Corp,cn-office,office\n",
        "actors": "actor_id,display_name,home_country,team,employer,aliases\n"
                  "wei,Wei,CN,eng,Corp,wei@corp\nann,Ann,US,eng,Corp,\n",
        "assets": "resource_pattern,data_category,jurisdiction,site\ns3://us/*,us_data,US,\n"
                  "s3://x'y/*,odd's,US,\n",
    }
    for kind, text in files.items():
        (tmp_path / f"{kind}.csv").write_text(text)
        inv.load_reference(ws, kind, tmp_path / f"{kind}.csv")
    con = ws.con
    rows = [
        # id, ts, actor, ip, resource, outcome, bytes
        ("a1", "2022-01-31 23:59:59.999999+00", "wei", "10.2.0.5", "s3://us/1", "success", 10),
        ("a2", "2022-02-01 00:00:00+00", "wei@corp", "10.1.0.9", "s3://us/2", "success", None),  # jump: roster
        ("a3", "2022-02-03 00:00:00+00", "ann", "10.2.0.7", "s3://us/3", None, 5),             # network only
        ("a4", "2022-02-04 00:00:00+00", "wei", "10.2.0.5", "s3://us/1", "failure", 7),        # not an access
        ("a5", "2022-02-05 00:00:00+00", "ann", "10.1.0.1", "s3://us/1", "success", 1),        # domestic
        ("a6", "2022-02-06 00:00:00+00", "ghost", None, "s3://us/1", "success", 1),            # unknown
        ("a7", "2022-02-07 00:00:00+00", "wei", "10.2.0.5", "s3://x'y/z", "success", 3),       # quoted category
    ]
    con.executemany("""INSERT INTO access_events (event_id, ts, actor_id, src_ip, resource, outcome, bytes,
                       source_format, source_file, source_record) VALUES (?, ?, ?, ?, ?, ?, ?, 'test', 'given', 1)""", rows)
    inv.refresh_views(ws)
    return ws


def test_cross_border_access_summary_given_expect(given):
    df = inv.run_query(given, "cross_border_access_summary", category="us_data")
    got = [(r.period.date(), r.access_country, r.data_category, r.accesses, r.actors, r.resources,
            None if r.bytes is None or r.bytes != r.bytes else int(r.bytes)) for r in df.itertuples()]
    assert got == [
        (date(2022, 1, 1), "CN", "us_data", 1, 1, 1, 10),
        # a2 (the alias counts as wei, basis roster, no bytes) and a3 (network only, NULL outcome
        # counts); a4 failed, a5 is domestic, a6 cannot be placed, a7 is another category
        (date(2022, 2, 1), "CN", "us_data", 2, 2, 2, 5),
    ]
    first = df.first_ts.iloc[0].to_pydatetime()
    assert first == datetime(2022, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_daily_grain_and_all_categories(given):
    df = inv.run_query(given, "cross_border_access_summary", grain="day")
    assert [(r.period.date(), r.data_category, r.accesses) for r in df.itertuples()] == [
        (date(2022, 1, 31), "us_data", 1), (date(2022, 2, 1), "us_data", 1),
        (date(2022, 2, 3), "us_data", 1), (date(2022, 2, 7), "odd's", 1)]


def test_cross_border_summary_boundaries_and_basis(given):
    # end is exclusive, start inclusive, to the microsecond
    df = inv.run_query(given, "cross_border_access_summary", category="us_data",
                       start="2022-01-31T23:59:59.999999Z", end="2022-02-01T00:00:00Z")
    assert list(df.accesses) == [1]
    basis = dict(given.sql("SELECT event_id, cross_border_basis FROM access_enriched WHERE cross_border ORDER BY 1").fetchall())
    assert basis == {"a1": "both", "a2": "roster", "a3": "network", "a4": "both", "a7": "both"}
    conflicts = inv.run_query(given, "location_conflicts")
    assert list(conflicts.event_id) == ["a2", "a3"]


def test_parameters_are_bound_not_pasted(given):
    # a value with quotes reaches DuckDB as a value: it matches the odd category exactly
    df = inv.run_query(given, "cross_border_access_summary", category="odd's")
    assert list(df.accesses) == [1]
    injected = inv.run_query(given, "cross_border_access_summary", category="x' OR '1'='1")
    assert injected.empty
    assert given.count("access_events") == 7


def test_unknown_query_and_parameter_errors(given):
    with pytest.raises(inv.QueryError, match="no query named 'nope'; known queries: actor_foreign_access, bulk_access"):
        inv.run_query(given, "nope")
    with pytest.raises(inv.QueryError, match="parameter grain must be one of day, week, month; got 'year'"):
        inv.run_query(given, "cross_border_access_summary", grain="year")
    with pytest.raises(inv.QueryError, match="parameter start must be a TIMESTAMPTZ; got 'soon'"):
        inv.run_query(given, "cross_border_access_summary", start="soon")
    with pytest.raises(inv.QueryError, match="not a query name"):
        inv.run_query(given, "../etc/passwd")
