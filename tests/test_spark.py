"""The query library on Spark (local mode) gives the same rows as on DuckDB, row for row.

Every query runs on both engines over the fictional case (data_samples/case.yml, exported with
``investigate export``) and over the small hand-written world of test_query_library (NULLs,
boundaries to the microsecond, IPv6, quotes), with its default parameters and with others; the
two DataFrames must be equal, dtypes included. The enrichment Spark works out again (the place
of each address, the category of each resource) must equal DuckDB's, over addresses written
every way a log writes them.

Spark needs a Java runtime. Without one these tests are skipped, unless
``INVESTIGATE_REQUIRE_SPARK`` is set (``.ci/run`` sets it, after installing Java): then they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import investigate as inv
from investigate.findings import load_spec
from investigate.queries import list_queries

from .test_query_library import ACCESSES, REFERENCE, make_world

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


def _spark_available() -> str | None:
    """Why Spark cannot run here, or None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime (Spark needs one: apt-get install openjdk-17-jre-headless)"
    return None


_missing = _spark_available()
if _missing and os.environ.get("INVESTIGATE_REQUIRE_SPARK"):
    raise RuntimeError(f"INVESTIGATE_REQUIRE_SPARK is set but {_missing}")
pytestmark = pytest.mark.skipif(bool(_missing), reason=_missing or "")


@pytest.fixture(scope="session")
def spark():
    from investigate.spark.session import get_session

    return get_session()


@pytest.fixture(scope="module")
def case(tmp_path_factory, spark):
    """The fictional case: its workspace and its export opened on Spark."""
    folder = tmp_path_factory.mktemp("spark_case")
    ws = inv.Workspace.open(folder / "case.duckdb")
    inv.ingest_case(ws, SAMPLES / "case.yml")
    inv.export(ws, folder / "export")
    source = inv.spark.open_export(folder / "export", spark)
    yield ws, source
    ws.close()


# Addresses as logs write them: padded, bracketed, with zone ids, upper case, IPv4 inside IPv6,
# '::' in every place, and text that is no address at all.
ODD_ADDRESSES = [
    " 10.1.0.9", "10.1.0.9 ", "[2001:db8:2::7]", "2001:DB8:2::7", "2001:db8:2:0:0:0:0:8", "fe80::1%eth0",
    "::ffff:10.2.0.5", "::ffff:0a02:0006", "::", "::1", "1::", "::1:2", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
    "1:2:3:4:5:6:7:8:9", "1::2::3", ":::1", "12345::1", "g::1", "010.1.0.9", "300.1.0.9", "1.2.3", "1.2.3.4.5",
    "10.6.0.5/32", "not an address", "", "0.0.0.0", "255.255.255.255", "100.64.1.1", "198.51.100.7",
    "64:ff9b:1::1", "2001:db8::1", "fc00::1", "ff02::1", "8.8.8.8", "2a00:1450:4009:81f::200e",
    "::ffff:8.8.4.4", "1.1.1.1", "::ffff:300.1.1.1", "1:2:3:4:5:6:1.2.3.4",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    """test_query_library's world, with an access from each odd address, and its export."""
    folder = tmp_path_factory.mktemp("spark_world")
    odd = [(f"x{i}", "2022-03-01 00:00:00+00", "ann", ip, "s3://us/odd", "success", i, None)
           for i, ip in enumerate(ODD_ADDRESSES)]
    ws = make_world(folder, accesses=ACCESSES + odd)
    inv.export(ws, folder / "export")
    source = inv.spark.open_export(folder / "export", spark)
    yield ws, source
    ws.close()


def _parameter_sets(world_name: str) -> list[tuple[str, dict]]:
    """Every query with its defaults; over the small world, whose rows sit on the boundaries,
    also with other values for its parameters (start and end to the microsecond, a category,
    weeks, the last of each parameter's choices)."""
    others = {"start": "2022-01-31T23:59:59.999999Z", "end": "2022-02-05T00:00:00Z",
              "category": "us_data", "grain": "week"}
    sets = []
    for q in list_queries():
        base = {"entity": {"case": "wzhang", "world": "wei"}[world_name]} if "entity" in q.params else {}
        sets.append((q.name, base))
        other = dict(base)
        for name, p in q.params.items():
            if name in others:
                other[name] = others[name]
            elif p.choices:
                other[name] = p.choices[-1]
        if world_name == "world" and other != base:
            sets.append((q.name, other))
    return sets


def _assert_same(duck: pd.DataFrame, spark: pd.DataFrame, what: str) -> None:
    assert list(spark.columns) == list(duck.columns), what
    assert len(spark) == len(duck), f"{what}: {len(spark)} rows on Spark, {len(duck)} on DuckDB"
    pd.testing.assert_frame_equal(spark.reset_index(drop=True), duck.reset_index(drop=True),
                                  check_exact=True, obj=what)


@pytest.mark.parametrize("world_name, name, params",
                         [(w, n, p) for w in ("case", "world") for n, p in _parameter_sets(w)],
                         ids=lambda v: v if isinstance(v, str) else ",".join(v) or "defaults")
def test_every_query_gives_the_same_rows_on_both_engines(request, world_name, name, params):
    """Over the fictional case, and over the edge cases of the small world."""
    ws, source = request.getfixturevalue(world_name)
    duck = inv.run_query(ws, name, **params)
    spark = inv.run_query(source, name, engine="spark", **params)
    _assert_same(duck, spark, f"{world_name}: {name} {params}")


def test_the_comparison_is_over_rows(case):
    """Every query finds rows in the case at its defaults (the planted facts), so the equality
    above is over rows, not over two empty tables."""
    ws, _ = case
    empty = [q.name for q in list_queries()
             if inv.run_query(ws, q.name, **({"entity": "wzhang"} if "entity" in q.params else {})).empty]
    assert empty == []


@pytest.mark.parametrize("table, key", [("address_locations", "ip"), ("resource_categories", "resource")])
def test_spark_works_out_the_same_enrichment(world, case, table, key):
    for ws, source in (world, case):
        _assert_same(ws.df(f"SELECT * FROM {table} ORDER BY {key}"), _spark_table(source, table, key), table)


def _spark_table(source, table: str, key: str) -> pd.DataFrame:
    import duckdb

    arrow = source.frame(f"SELECT * FROM {table} ORDER BY {key}", {}).toArrow()
    con = duckdb.connect()
    con.register("t", arrow)
    return con.execute("SELECT * FROM t").df()


def test_odd_addresses_are_read_as_duckdb_reads_them(world):
    ws, source = world
    placed = _spark_table(source, "address_locations", "ip").set_index("ip")
    for ip in ODD_ADDRESSES:
        assert ip in placed.index, ip
    assert placed.loc["[2001:db8:2::7]", "country"] == "CN"
    assert placed.loc["2001:DB8:2::7", "country"] == "CN"
    assert placed.loc[" 10.1.0.9", "site"] == "us-office"
    assert placed.loc["::ffff:10.2.0.5", "site"] == "cn-office"
    assert placed.loc["1::2::3", "ip_class"] == "invalid"
    assert placed.loc["010.1.0.9", "ip_class"] == "invalid"
    assert placed.loc["fe80::1%eth0", "ip_class"] == "link_local"
    assert placed.loc["8.8.8.8", "country_source"].startswith("registry:iptocc")


def test_a_finding_made_on_duckdb_verifies_on_spark_and_back(case, tmp_path):
    ws, source = case
    spec = SAMPLES / "findings.yml"
    made = inv.run_findings(ws, spec, out=tmp_path / "duck")
    assert {f.engine["name"] for f in made} == {"duckdb"}
    checks = inv.verify(source, tmp_path / "duck" / "findings.json", engine="spark")
    assert [(c.id, c.status) for c in checks] == [(f.id, "same") for f in made]

    on_spark = inv.run_findings(source, spec, out=tmp_path / "spark", engine="spark")
    assert [f.values for f in on_spark] == [f.values for f in made]
    assert [f.sentence for f in on_spark] == [f.sentence for f in made]
    recorded = json.loads((tmp_path / "spark" / "findings.json").read_text())["findings"]
    engine = recorded[0]["engine"]
    assert engine["name"] == "spark" and engine["version"] == source.spark.version
    assert engine["sqlglot"] and len(engine["spark_sql_sha256"]) == 64
    assert "Engine: Spark" in (tmp_path / "spark" / "findings.md").read_text()
    assert inv.provenance(on_spark[0])["Engine"].startswith("Spark ")
    assert [c.status for c in inv.verify(ws, tmp_path / "spark" / "findings.json")] == ["same"] * len(made)
    # the rows behind each finding are the same file, whichever engine wrote them
    for f in made:
        assert (tmp_path / "spark" / f.rows_csv).read_text() == (tmp_path / "duck" / f.rows_csv).read_text(), f.id


def test_pseudonymised_results_are_the_same_on_both_engines(case):
    ws, source = case
    key = inv.PseudonymKey(b"k" * 32)
    duck = inv.run_query(ws, "cross_border_access", pseudonymise=key, category="us_user_data")
    spark = inv.run_query(source, "cross_border_access", engine="spark", pseudonymise=key,
                          category="us_user_data")
    _assert_same(duck, spark, "pseudonymised cross_border_access")
    assert duck.actor_id.str.startswith("actor-").all()


def test_write_query_writes_the_same_file_from_both_engines(case, tmp_path):
    ws, source = case
    for suffix in (".csv", ".parquet"):
        n_duck = inv.write_query(ws, "policy_breaches", tmp_path / f"duck{suffix}")
        n_spark = inv.write_query(source, "policy_breaches", tmp_path / f"spark{suffix}", engine="spark")
        assert n_duck == n_spark > 0
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "duck.csv").read_bytes()
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "spark.parquet").equals(pq.read_table(tmp_path / "duck.parquet"))


def test_the_cli_runs_queries_findings_and_verify_on_an_export(case, tmp_path, capsys):
    from investigate.cli import main

    ws, source = case
    export = source.path
    assert main(["query", export, "transfer_routes", "--engine", "spark", "-p", "grain", "week",
                 "--output", str(tmp_path / "routes.csv")]) == 0
    assert inv.write_query(ws, "transfer_routes", tmp_path / "duck.csv", grain="week") > 0
    assert (tmp_path / "routes.csv").read_bytes() == (tmp_path / "duck.csv").read_bytes()
    assert main(["query", export, "coverage_gaps", "--engine", "spark"]) == 0
    assert "gap_start" in capsys.readouterr().out

    # one finding of the samples' spec (the API test above runs them all on both engines)
    spec = tmp_path / "one.yml"
    spec.write_text(json.dumps({"findings": load_spec(SAMPLES / "findings.yml")[:1]}))
    assert main(["findings", export, str(spec), "--out", str(tmp_path / "f"), "--engine", "spark"]) == 0
    assert main(["verify", export, str(tmp_path / "f" / "findings.json"), "--engine", "spark"]) == 0
    assert capsys.readouterr().out.count(": same") == 1

    # an export is not a workspace: DuckDB's engine says what to do
    assert main(["query", export, "coverage"]) == 2
    assert "--engine spark" in capsys.readouterr().err


def test_a_workspace_is_exported_for_spark_once_and_again_when_it_changes(spark, tmp_path, capsys):
    from investigate.cli import main

    # a workspace with networks and accesses only: no roster, catalogue, policy or transfers
    make_world(tmp_path, reference={"networks": REFERENCE["networks"]}, transfers=(), policy=None).close()
    path = tmp_path / "world.duckdb"
    assert main(["query", str(path), "coverage", "--engine", "spark"]) == 0
    manifest = tmp_path / "world.duckdb.export" / "manifest.json"
    first = json.loads(manifest.read_text())["exported_at"]
    assert main(["query", str(path), "coverage", "--engine", "spark"]) == 0
    assert json.loads(manifest.read_text())["exported_at"] == first   # unchanged: not written again

    with inv.Workspace.open(path) as ws:
        (tmp_path / "actors.csv").write_text(REFERENCE["actors"])
        inv.load_reference(ws, "actors", tmp_path / "actors.csv")
    capsys.readouterr()
    assert main(["query", str(path), "cross_border_access", "--engine", "spark"]) == 0
    assert json.loads(manifest.read_text())["exported_at"] != first    # the roster is new: again
    with inv.Workspace.open(path, read_only=True) as ws:
        assert len(inv.run_query(ws, "cross_border_access", engine="spark")) == \
            len(inv.run_query(ws, "cross_border_access"))


def test_a_folder_that_is_not_an_export_is_refused_by_name(spark, tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(inv.InvestigateError, match="not an export of investigate"):
        inv.spark.open_export(tmp_path / "data", spark)
    (tmp_path / "data" / "manifest.json").write_text(json.dumps({"export_format_version": 99}))
    with pytest.raises(inv.InvestigateError, match="export format version 99"):
        inv.spark.open_export(tmp_path / "data", spark)
    with pytest.raises(inv.InvestigateError, match="engine 'oracle'"):
        inv.run_query(tmp_path / "data", "coverage", engine="oracle")


def test_an_export_copied_short_or_added_to_is_refused_by_file(case, spark, tmp_path):
    _, source = case
    copy = tmp_path / "copy"
    shutil.copytree(source.path, copy)
    day = sorted((copy / "access_events").iterdir())[3]
    victim = next(day.iterdir())
    victim.rename(tmp_path / "aside.parquet")
    with pytest.raises(inv.InvestigateError, match=rf"missing: access_events/{day.name}/{victim.name}"):
        inv.spark.open_export(copy, spark)
    (tmp_path / "aside.parquet").rename(victim)
    with victim.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(inv.InvestigateError, match="not the size the manifest gives"):
        inv.spark.open_export(copy, spark)
    victim.write_bytes(victim.read_bytes()[:-1])
    shutil.copy(victim, day / "data_9.parquet")
    with pytest.raises(inv.InvestigateError, match=rf"not in the manifest: access_events/{day.name}/data_9.parquet"):
        inv.spark.open_export(copy, spark)
    (day / "data_9.parquet").rename(day / "_data_9.parquet")   # a name Spark skips
    # opened as a URI (as on a cluster's storage): read and listed through Spark's file systems
    by_uri = inv.spark.open_export(copy.as_uri(), spark)
    assert by_uri.path == copy.as_uri() and by_uri.fingerprint() == source.fingerprint()
    _assert_same(inv.run_query(source, "coverage", engine="spark"),
                 inv.run_query(by_uri, "coverage", engine="spark"), "coverage by URI")
    victim.unlink()
    with pytest.raises(inv.InvestigateError, match="missing: access_events/"):
        inv.spark.open_export(copy.as_uri(), spark)


def test_a_users_own_query_runs_on_spark_and_a_failing_one_names_itself(case, tmp_path):
    ws, source = case
    (tmp_path / "busiest_days.sql").write_text(
        "-- question: Which days saw the most access events?\n"
        "-- param top BIGINT = 3: how many days\n"
        "-- returns: day, events\n"
        "SELECT CAST(ts AS DATE) AS day, count(*) AS events FROM access_events\n"
        "GROUP BY ALL ORDER BY events DESC, day LIMIT $top\n")
    _assert_same(inv.run_query(ws, "busiest_days", [tmp_path]),
                 inv.run_query(source, "busiest_days", [tmp_path], engine="spark"), "busiest_days")
    (tmp_path / "broken.sql").write_text("-- question: ?\n-- returns: x\nSELECT no_such_function(1) AS x\n")
    with pytest.raises(inv.QueryError, match="broken on Spark"):
        inv.run_query(source, "broken", [tmp_path], engine="spark")
    # a bare column as date_trunc's unit would be transpiled as the unit's name: refused, not NULL
    (tmp_path / "by_grain.sql").write_text(
        "-- question: ?\n-- returns: period\n"
        "WITH p AS (SELECT 'month' AS grain) SELECT date_trunc(grain, ts) AS period FROM access_events, p\n")
    with pytest.raises(inv.QueryError, match=r"by_grain: date_trunc\(grain, \.\.\.\) would be read as the unit"):
        inv.run_query(source, "by_grain", [tmp_path], engine="spark")
