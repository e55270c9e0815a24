"""SQL safety (issue 9): text a user gives reaches DuckDB as a bound value or a validated name.

Classic injection strings go through every entry point where user text meets SQL: the CLI
(query names and parameters, --output, --memory-limit, reference presets, run-notebook), the
Python API (run_query, run_check, Workspace.table/count), findings specs and findings.json,
case manifests (format, reference kind, options), reference files, mapping files (column names,
constants, null values, time formats, action/outcome tables, JSON paths, CSV dialect and the
``expr:`` expressions) and notebook parameters. Each must give a clean typed error
(``InvestigateError``) or treat the text as data (no rows, or the text stored verbatim); the
workspace's tables, views, attached databases and loaded extensions stay as they were, and no file
appears.

A mapping's ``expr`` is SQL by design: it is checked (one scalar expression, no statement,
subquery or FROM) and pasted in, followed by a line break:
``test_expression_cannot_smuggle_sql_past_the_check`` shows what a trailing ``--`` did before it.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

import investigate as inv
from investigate.cli import main
from investigate.errors import InvestigateError, MappingError, QueryError
from investigate.notebooks import inject_parameters

from .conftest import REPO, SAMPLES

GLOBAL_LEAK = Path("/tmp/leak.csv")


def payloads(leak: Path) -> list[str]:
    return [
        "'; DROP TABLE access_events; --",
        '" OR 1=1 --',
        "x'); COPY access_events TO '/tmp/leak.csv'; --",
        f"x'); COPY access_events TO '{leak}'; --",
        "$p0", "$1", "?",
        "\u2019; DROP TABLE access_events; --",          # right single quotation mark
        "\uff07 OR 1=1; DELETE FROM access_events; --",  # fullwidth apostrophe
        "\u201d OR \u201c1\u201d=\u201c1",                   # curly double quotes
        "nul\x00'; DROP TABLE access_events; --",
        "read_csv('/etc/passwd')",
        f"1; ATTACH '{leak}.db' AS x; --",
        "1; INSTALL httpfs; LOAD httpfs; --",
        "x' UNION ALL SELECT content FROM read_text('/etc/passwd') --",
    ]


def core(leak: Path) -> list[str]:
    """One of each kind (quotes, a file write, a parameter name, a unicode quote, a NUL), for the
    entry points that cost a load or a CLI run per string: behind a bound value they all behave
    alike; the name checks get every string."""
    every = payloads(leak)
    return [every[i] for i in (0, 1, 2, 4, 7, 10)]


def file_safe(text: str) -> str:
    return text.replace("/", "_").replace("\x00", "_")


# -- fixtures and helpers ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def case_db(tmp_path_factory) -> Path:
    """The sample case loaded into a workspace file (under a second)."""
    path = tmp_path_factory.mktemp("case") / "case.duckdb"
    with inv.Workspace.open(path) as ws:
        inv.ingest_case(ws, SAMPLES)
    return path


@pytest.fixture
def leak(tmp_path):
    """Where a payload tries to write; after the test, nothing may be there (nor /tmp/leak.csv)."""
    folder = tmp_path / "leaks"
    folder.mkdir()
    had_global = GLOBAL_LEAK.exists()
    yield folder / "leak.csv"
    assert list(folder.iterdir()) == []
    assert GLOBAL_LEAK.exists() == had_global


def snapshot(con) -> dict:
    """Everything an injection could change: tables and their row counts, views, attached
    databases, loaded extensions, secrets."""
    tables = con.execute("SELECT database_name, schema_name, table_name FROM duckdb_tables() "
                         "WHERE NOT temporary ORDER BY ALL").fetchall()
    counts = {t: con.execute(f'SELECT count(*) FROM "{t[0]}"."{t[1]}"."{t[2]}"').fetchone()[0]
              for t in tables}
    return {
        "tables": counts,
        "views": con.execute("SELECT database_name, view_name, sql FROM duckdb_views() "
                             "WHERE NOT internal AND NOT temporary ORDER BY ALL").fetchall(),
        "databases": con.execute("SELECT database_name FROM duckdb_databases() ORDER BY ALL").fetchall(),
        "extensions": con.execute("SELECT extension_name FROM duckdb_extensions() WHERE loaded "
                                  "ORDER BY ALL").fetchall(),
    }


def file_snapshot(path: Path) -> dict:
    with inv.Workspace.open(path, read_only=True) as ws:
        return snapshot(ws.con)


def refused_or_data(call):
    """Run ``call``: it either raises a typed error (returned) or returns its result."""
    try:
        return call()
    except InvestigateError as exc:
        return exc


# -- queries and checks: the Python API -------------------------------------------------------

def test_query_text_parameters_are_bound_as_data(case_db, leak):
    with inv.Workspace.open(case_db) as ws:
        before = snapshot(ws.con)
        assert len(inv.run_query(ws, "cross_border_access", category="us_user_data")) > 0
        for s in payloads(leak):
            assert len(inv.run_query(ws, "cross_border_access", category=s)) == 0, s
            assert len(inv.run_query(ws, "entity_timeline", entity=s)) == 0, s
        for s in core(leak):
            assert len(inv.run_query(ws, "cross_border_access_summary", category=s, grain="month")) == 0, s
            share = inv.run_query(ws, "partner_share", partner_org=s)
            assert len(share) > 0 and share.partner_bytes.sum() == 0, s  # nobody is called that
        assert snapshot(ws.con) == before


def test_typed_and_choice_parameters_refuse_injection(case_db, leak):
    with inv.Workspace.open(case_db) as ws:
        before = snapshot(ws.con)
        for s in payloads(leak):
            for name, params in [("cross_border_access", {"start": s}),
                                 ("cross_border_access_summary", {"grain": s}),
                                 ("coverage_gaps", {"min_days": s})]:
                with pytest.raises(QueryError, match="parameter"):
                    inv.run_query(ws, name, **params)
            with pytest.raises(QueryError, match="max_gbps must be a DOUBLE"):
                inv.run_check(ws, "absurd_transfer_bytes", max_gbps=s)
        assert snapshot(ws.con) == before


def test_query_check_table_and_parameter_names_are_validated(case_db, leak):
    with inv.Workspace.open(case_db) as ws:
        before = snapshot(ws.con)
        for s in payloads(leak) + ["coverage; DROP TABLE access_events", "../../etc/passwd"]:
            with pytest.raises(QueryError):
                inv.run_query(ws, s)
            with pytest.raises(QueryError):
                inv.write_query(ws, s, leak)
            with pytest.raises(QueryError, match="takes no parameter"):
                inv.run_query(ws, "coverage", **{s: "x"})
            with pytest.raises(QueryError):
                inv.run_check(ws, s)
            with pytest.raises(InvestigateError, match="no table"):
                ws.table(s)
            with pytest.raises(InvestigateError, match="no table"):
                ws.count(s)
        assert snapshot(ws.con) == before


# -- the CLI ----------------------------------------------------------------------------------

def test_cli_query_parameters_and_names(case_db, leak, tmp_path, capsys):
    before = file_snapshot(case_db)
    for s in core(leak):
        assert main(["query", str(case_db), "cross_border_access", "-p", "category", s]) == 0, s
        assert "Empty DataFrame" in capsys.readouterr().out
        for argv in (["query", str(case_db), s],
                     ["query", str(case_db), "coverage", "-p", s, "1"],
                     ["query", str(case_db), "coverage", "-p", "start", s],
                     ["query", str(case_db), "coverage", "--memory-limit", s]):
            assert main(argv) == 2, argv
            assert capsys.readouterr().err.startswith("error: "), argv
        # --output is a file name, never SQL: written where it says, under that name
        out = tmp_path / f"{file_safe(s)}.csv"
        assert main(["query", str(case_db), "coverage", "-o", str(out)]) == 0
        assert out.is_file()
        capsys.readouterr()
    assert file_snapshot(case_db) == before


def test_cli_workspace_path_is_a_file_name(tmp_path, leak, capsys):
    for s in payloads(leak)[:3]:
        ws = tmp_path / f"{file_safe(s)}.duckdb"
        assert main(["reference", str(ws), "actors", str(SAMPLES / "reference" / "staff_roster.csv")]) == 0
        assert ws.is_file()
        capsys.readouterr()
        assert main(["query", str(ws), "coverage"]) == 0
        capsys.readouterr()


def test_cli_policy_preset_parameters_are_stored_verbatim(tmp_path, leak, capsys):
    db = tmp_path / "ws.duckdb"
    for i, s in enumerate(core(leak)):
        args = ["reference", str(db), "policy", "preset:trusted_partner", "--param", "partner_org", s,
                "--param", "category", f"c{i}", "--param", "effective_from", "2022-06-17"]
        assert main(args) == 0, (s, capsys.readouterr().err)
        assert main(["reference", str(db), "policy", "preset:trusted_partner",
                     "--param", s, "x"]) == 2
        assert main(["reference", str(db), "policy", "preset:trusted_partner", "--param", "partner_org",
                     "Ironbridge", "--param", "effective_from", s]) == 2
    capsys.readouterr()
    with inv.Workspace.open(db, read_only=True) as ws:
        orgs = [r[0] for r in ws.sql("SELECT traffic_orgs FROM policy ORDER BY rule_id").fetchall()]
        tables = snapshot(ws.con)["tables"]
    assert sorted(o[0] for o in orgs) == sorted(s.strip() for s in core(leak))
    assert tables[("ws", "main", "access_events")] == 0


def test_cli_run_notebook_parameter_names_are_not_code(tmp_path, capsys):
    marker = tmp_path / "ran"
    name = f"X = 1; open({str(marker)!r}, 'w').close(); Y"
    assert main(["run-notebook", "02", "-p", name, "1", "-o", str(tmp_path / "nb.ipynb")]) == 2
    assert "not a Python name" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "nb.ipynb").exists()


# -- notebook parameters ----------------------------------------------------------------------

def test_notebook_parameter_values_arrive_verbatim_and_stay_data(case_db, leak):
    nb = nbformat.read(REPO / "notebooks" / "02_cross_border_access.ipynb", as_version=4)
    values = {f"P{i}": s for i, s in enumerate(payloads(leak))}
    inject_parameters(nb, values)
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    tree = ast.parse(cell.source)
    assert all(isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) for n in tree.body)
    namespace: dict = {}
    exec(compile(tree, "<injected>", "exec"), namespace)  # only constant assignments, checked above
    assert {k: namespace[k] for k in values} == values
    with inv.Workspace.open(case_db) as ws:  # as the notebooks use them: query parameters
        before = snapshot(ws.con)
        for s in namespace.values():
            if isinstance(s, str):
                assert len(inv.run_query(ws, "cross_border_access", category=s)) == 0
        assert snapshot(ws.con) == before


@pytest.mark.parametrize("name", ["X = 1; import os; Y", "1x", "class", "A B", "X\nimport os", "", 3])
def test_notebook_parameter_names_must_be_python_names(name):
    nb = nbformat.read(REPO / "notebooks" / "02_cross_border_access.ipynb", as_version=4)
    with pytest.raises(InvestigateError, match="not a Python name"):
        inject_parameters(nb, {name: "v"})


# -- findings specs and findings.json ---------------------------------------------------------

SPEC = {"id": "cn", "query": "cross_border_access_summary",
        "params": {"category": "us_user_data", "grain": "month"}, "where": {"access_country": "CN"},
        "values": {"accesses": "sum(accesses)", "months": "count()"},
        "sentence": "{accesses} accesses in {months} months"}


def test_findings_spec_fields(case_db, leak, tmp_path):
    with inv.Workspace.open(case_db) as ws:
        before = snapshot(ws.con)
        for s in core(leak):
            got = inv.run_findings(ws, [{**SPEC, "params": {"category": s, "grain": "month"}}])
            assert got[0].values == {"accesses": 0, "months": 0}
            got = inv.run_findings(ws, [{**SPEC, "where": {"access_country": s}}])
            assert got[0].values == {"accesses": 0, "months": 0}
            for bad in ({**SPEC, "query": s}, {**SPEC, "where": {s: "CN"}},
                        {**SPEC, "values": {"n": s}}, {**SPEC, "values": {"n": f"sum(accesses{s})"}},
                        {**SPEC, "params": {s: "x"}}, {**SPEC, "params": {"grain": s}}):
                with pytest.raises(InvestigateError):
                    inv.run_findings(ws, [bad])
        assert snapshot(ws.con) == before


def test_verify_treats_a_tampered_findings_file_as_data(case_db, leak, tmp_path):
    with inv.Workspace.open(case_db) as ws:
        inv.run_findings(ws, [SPEC], out=tmp_path / "out")
        before = snapshot(ws.con)
        good = json.loads((tmp_path / "out" / "findings.json").read_text())
        for s in core(leak):
            doc = json.loads(json.dumps(good))
            doc["findings"][0]["spec"]["params"]["category"] = s
            (tmp_path / "f.json").write_text(json.dumps(doc))
            [check] = inv.verify(ws, tmp_path / "f.json")
            assert check.status == "changed" and check.new == {"accesses": 0, "months": 0}
            doc["findings"][0]["spec"]["query"] = s
            (tmp_path / "f.json").write_text(json.dumps(doc))
            with pytest.raises(QueryError):
                inv.verify(ws, tmp_path / "f.json")
        assert snapshot(ws.con) == before


def test_finding_ids_cannot_write_outside_the_output_folder(case_db, tmp_path):
    out = tmp_path / "a" / "out"
    with inv.Workspace.open(case_db) as ws:
        for bad in ("../../escaped", "/tmp/escaped", ".hidden", "a/b", ""):
            with pytest.raises(InvestigateError, match="an id is letters, digits"):
                inv.run_findings(ws, [{**SPEC, "id": bad}], out=out)
    assert not (tmp_path / "a" / "escaped.csv").exists() and not (out / "tables").exists()


# -- case manifests and reference files -------------------------------------------------------

def test_case_manifest_fields(tmp_path, leak):
    shutil.copy(REPO / "tests" / "fixtures" / "netflow_csv" / "nfdump_csv_export.csv", tmp_path / "nf.csv")
    (tmp_path / "flows.log").write_text("2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 "
                                        "1620000000 1620000060 ACCEPT OK\n")
    with inv.Workspace.open() as ws:
        before = snapshot(ws.con)
        for s in core(leak):
            for manifest in (
                {"inputs": [{"path": "nf.csv", "format": s}]},
                {"reference": {s: "nf.csv"}},
                {"inputs": [{"path": "nf.csv", "format": "netflow_csv", "options": {"timezone": s}}]},
                {"inputs": [{"path": "nf.csv", "format": "netflow_csv", "options": {s: "UTC"}}]},
                {"inputs": [{"path": "flows.log", "format": "vpc_flow", "options": {"fields": s}}]},
                {"inputs": [{"path": "nf.csv", "format": "csv", "mapping": "m.yml"}]},
            ):
                (tmp_path / "m.yml").write_text(yaml.safe_dump({"table": s, "columns": {"ts": "ts"}}))
                (tmp_path / "case.yml").write_text(yaml.safe_dump(manifest))
                with pytest.raises(InvestigateError):
                    inv.ingest_case(ws, tmp_path / "case.yml")
        assert snapshot(ws.con) == before


def test_reference_files_are_stored_verbatim(tmp_path, leak):
    import csv

    ps = [s for s in core(leak) if "\x00" not in s]  # the csv module writes no NUL
    with open(tmp_path / "actors.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["actor_id", "display_name", "home_country", "team", "employer"])
        w.writerows([[f"a{i}{s}", s, "US", s, s] for i, s in enumerate(ps)])
    with open(tmp_path / "assets.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["resource_pattern", "data_category", "jurisdiction", "site"])
        w.writerows([[f"s3://b{i}/{s}*", s, "US", s] for i, s in enumerate(ps)])
    with open(tmp_path / "networks.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["cidr", "country", "org", "site", "kind"])
        w.writerows([[f"10.{i}.0.0/16", "US", s, s, "office"] for i, s in enumerate(ps)])
    with inv.Workspace.open() as ws:
        inv.load_reference(ws, "actors", tmp_path / "actors.csv")
        inv.load_reference(ws, "assets", tmp_path / "assets.csv")
        inv.load_reference(ws, "networks", tmp_path / "networks.csv")
        assert sorted(r[0] for r in ws.sql("SELECT display_name FROM actors").fetchall()) == sorted(ps)
        assert sorted(r[0] for r in ws.sql("SELECT data_category FROM assets").fetchall()) == sorted(ps)
        assert sorted(r[0] for r in ws.sql("SELECT org FROM networks").fetchall()) == sorted(ps)
        assert {t[2]: n for t, n in snapshot(ws.con)["tables"].items()}["access_events"] == 0


# -- mapping files ----------------------------------------------------------------------------

def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_column_names_and_values_from_the_file_are_identifiers_and_data(tmp_path, leak):
    """A file's header names become quoted identifiers; its cells, the mapping's constants and
    its action/outcome tables, bound values: all come back verbatim."""
    ps = [s for s in core(leak) if "\x00" not in s]  # the csv module writes no NUL
    for i, s in enumerate(ps):
        path = _csv(tmp_path / f"a{i}.csv", ["when", s, f"{s} 2", f"{s} 3"],
                    [["2022-01-01T00:00:00Z", s, s, s], ["2022-01-02T00:00:00Z", "bob", "x", "y"]])
        mapping = {"table": "access_events",
                   "columns": {"ts": "when", "actor_id": {"column": s}, "raw_action": {"column": s},
                               "outcome": {"column": f"{s} 2"}, "user_agent": {"value": s}},
                   "actions": {s: "read"}, "outcomes": {s: "success"}, "null_values": ["", s + "~"],
                   "delimiter": ","}
        with inv.Workspace.open() as ws:
            r = inv.ingest_file(ws, path, "csv", mapping=mapping)
            assert (r.rows_loaded, r.rows_rejected) == (2, 0), s
            rows = ws.sql("SELECT actor_id, raw_action, action, outcome, user_agent, extra "
                          "FROM access_events ORDER BY ts").fetchall()
            assert [r[:5] for r in rows] == [(s, s, "read", "success", s), ("bob", "bob", "other", None, s)]
            assert json.loads(rows[0][5]) == {f"{s} 3": s}
            assert json.loads(rows[1][5]) == {f"{s} 3": "y", "raw_outcome": "x"}


def test_mapping_fields_give_clean_errors(tmp_path, leak):
    path = _csv(tmp_path / "a.csv", ["ts", "user", "op"],
                [["2022-01-01T00:00:00Z", "alice", "READ"], ["2022-01-02T00:00:00Z", "bob", "WRITE"]])
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"ts": "2022-01-01T00:00:00Z", "user": "alice"}\n')
    base = {"table": "access_events", "columns": {"ts": "ts", "actor_id": "user"}}
    with inv.Workspace.open() as ws:
        before = snapshot(ws.con)
        for s in core(leak):
            for mapping in ({**base, "table": s},
                            {**base, "columns": {"ts": "ts", s: "user"}},
                            {**base, "columns": {"ts": s}},
                            {**base, "delimiter": s},
                            {**base, "encoding": s},
                            {**base, "actions": {"READ": s}},
                            {**base, s: 1}):
                with pytest.raises(MappingError):
                    inv.ingest_file(ws, path, "csv", mapping=mapping)
            assert snapshot(ws.con) == before
    # Values for reading the file and its times are bound: DuckDB refuses them (a typed error)
    # or reads them as what they are (an escape character, a time format). One workspace per
    # string, one file per mapping (a file loaded once is not loaded again).
    files = [_csv(tmp_path / f"b{i}.csv", ["ts", "user", "op"],
                  [[f"2022-01-0{i + 1}T00:00:00Z", "alice", "READ"]]) for i in range(3)]
    for s in core(leak):
        with inv.Workspace.open() as ws:
            for f, mapping in zip(files, ({**base, "escape": s}, {**base, "timestamp": {"format": s}},
                                          {**base, "timestamp": {"timezone": s}})):
                before = snapshot(ws.con)
                got = refused_or_data(lambda: inv.ingest_file(ws, f, "csv", mapping=mapping))
                if isinstance(got, InvestigateError):
                    assert snapshot(ws.con) == before, (s, mapping)
                else:
                    assert got.rows_read == 1, (s, mapping)
            # a JSON path is bound: DuckDB refuses it, or it finds nothing
            ws.sql("DELETE FROM access_events")
            before = snapshot(ws.con)
            got = refused_or_data(lambda: inv.ingest_file(ws, jsonl, "jsonl", mapping={
                "table": "access_events", "columns": {"ts": "ts", "actor_id": {"path": "$." + s}}}))
            if isinstance(got, InvestigateError):
                assert snapshot(ws.con) == before
            else:
                assert ws.sql("SELECT actor_id FROM access_events").fetchall() == [(None,)]


def test_mapping_quote_gives_a_typed_error(tmp_path, leak):
    path = _csv(tmp_path / "a.csv", ["ts", "user"], [["2022-01-01T00:00:00Z", "alice"]])
    with inv.Workspace.open() as ws:
        for s in core(leak):
            got = refused_or_data(lambda: inv.ingest_file(ws, path, "csv", mapping={
                "table": "access_events", "columns": {"ts": "ts", "actor_id": "user"}, "quote": s}))
            if len(s) > 1:
                assert isinstance(got, MappingError) and "quote: expected one character" in str(got), s
            else:
                assert isinstance(got, InvestigateError) or got.rows_read == 1


EXPRESSIONS = [
    "1); DROP TABLE access_events; --",
    "op); DROP TABLE access_events; SELECT (1",
    "op; COPY access_events TO '{leak}'",
    "(SELECT string_agg(content, '') FROM read_text('/etc/passwd'))",
    "(SELECT count(*) FROM read_csv('/etc/passwd'))",
    "read_text('/etc/passwd')",
    "read_csv('/etc/passwd')",
    "query('SELECT 1')",
    "op FROM read_text('/etc/passwd')",
    "EXISTS (SELECT 1 FROM access_events)",
    "op IN (SELECT actor_id FROM actors)",
    "op); ATTACH '{leak}.db' AS x; SELECT (1",
    "op); INSTALL httpfs; LOAD httpfs; SELECT (1",
    "1; INSTALL httpfs",
    "op UNION SELECT 1",
    "op /*",
    "op' || (SELECT 1) || '",
]


def test_mapping_expressions_cannot_run_statements_or_read_files(tmp_path, leak):
    path = _csv(tmp_path / "a.csv", ["ts", "user", "op"],
                [["2022-01-01T00:00:00Z", "alice", "READ"], ["2022-01-02T00:00:00Z", "bob", "WRITE"]])
    with inv.Workspace.open() as ws:
        # the sanity check: a plain expression is allowed
        inv.ingest_file(ws, path, "csv", mapping={
            "table": "access_events", "columns": {"ts": "ts", "actor_id": "user",
                                                  "raw_action": {"expr": "lower(op)"}}})
        got = ws.sql("SELECT raw_action FROM access_events ORDER BY ts").fetchall()
        assert got == [("read",), ("write",)]
    with inv.Workspace.open() as ws:
        before = snapshot(ws.con)
        for expr in EXPRESSIONS:
            expr = expr.replace("{leak}", str(leak))
            with pytest.raises(InvestigateError):
                inv.ingest_file(ws, path, "csv", mapping={
                    "table": "access_events", "columns": {"ts": "ts", "actor_id": "user",
                                                          "raw_action": {"expr": expr}}})
            assert snapshot(ws.con) == before, expr


def test_expression_cannot_smuggle_sql_past_the_check(tmp_path):
    path = _csv(tmp_path / "a.csv", ["ts", "user", "op"],
                [["2022-01-01T00:00:00Z", "alice", "READ"], ["2022-01-02T00:00:00Z", "bob", "WRITE"]])

    def load(mapping):
        with inv.Workspace.open() as ws:
            try:
                inv.ingest_file(ws, path, "csv", mapping=mapping)
            except MappingError:
                return None  # refused by the check
            except InvestigateError as exc:
                pytest.fail(f"SQL got past check_expression, and broke the statement: {exc}")
            return [v for (v,) in ws.sql("SELECT user_agent FROM access_events").fetchall()]

    # 1. What it allows (written for the streamed CSV loader of this writing; the parentheses to
    #    close depend on the SQL around the expression): a local file read into the workspace.
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    smuggled = ("\n) AS VARCHAR)) > 0 THEN op END AS \"__v_raw_action\", "
                f"(SELECT content FROM read_text($${secret}$$)) AS \"__v_user_agent\", "
                "NULL AS \"__v_resource\", * FROM (SELECT *, rowid + 1 AS __ord FROM __csv)))) "
                "WHERE __reason IS NULL AND __apart IS NULL /*")
    got = load({"table": "access_events", "columns": {
        "ts": "ts", "actor_id": "user",
        "raw_action": {"expr": "op --"},
        "user_agent": {"expr": f"'{smuggled}'"},        # to the check: one string literal
        "resource": {"expr": "'" + "*/" * 6 + "--'"}}})  # closes the nested comments, then --
    assert got is None or got == [smuggled, smuggled], got

    # 2. The core of it, whatever the SQL around an expression: the check sees a string literal,
    #    DuckDB must see one too (or the check must refuse it).
    literal = "\nsmuggled_qz7 --"
    got = load({"table": "access_events", "columns": {"ts": "ts", "actor_id": "user",
                                                       "raw_action": {"expr": "op --"},
                                                       "user_agent": {"expr": f"'{literal}'"}}})
    assert got is None or got == [literal, literal]
