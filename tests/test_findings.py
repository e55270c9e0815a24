"""Findings: values, sentences, provenance, and verify's three answers."""

from __future__ import annotations

import json
import shutil

import pytest

import investigate as inv
from investigate.cli import main
from investigate.queries import PACKAGE_DIR

from .test_loaders_generic import GOOD, HEADER, MAPPING, write

SPEC = [{
    "id": "alice",
    "query": "actor_events",
    "params": {"actor": "alice"},
    "values": {"events": "sum(events)", "bytes": "sum(bytes)", "first": "min(first_ts)"},
    "sentence": "alice made {events} accesses moving {bytes:,} bytes, first on {first:%d %B %Y}.",
}]
QUERY = """-- question: How many events did an actor make?
-- param actor VARCHAR: the actor id
-- returns: actor_id, events, bytes, first_ts
SELECT actor_id, count(*) AS events, CAST(sum(bytes) AS BIGINT) AS bytes, min(ts) AS first_ts
FROM access_events WHERE actor_id = $actor GROUP BY actor_id
"""


@pytest.fixture
def setup(tmp_path):
    qdir = tmp_path / "queries"
    qdir.mkdir()
    (qdir / "actor_events.sql").write_text(QUERY)
    export = write(tmp_path / "access.csv", [HEADER, *GOOD, GOOD[0].replace("e1", "e4").replace("08:00", "11:00")])
    ws = inv.Workspace.open(tmp_path / "ws.duckdb")
    inv.ingest_file(ws, export, "csv", mapping=MAPPING)
    yield ws, qdir, tmp_path
    ws.close()


def test_finding_sentence_values_and_provenance(setup):
    ws, qdir, tmp = setup
    [f] = inv.run_findings(ws, SPEC, out=tmp / "out", query_dirs=[qdir])
    assert f.sentence == "alice made 2 accesses moving 200 bytes, first on 05 January 2022."
    assert f.values == {"events": 2, "bytes": 200, "first": "2022-01-05T08:00:00.123456Z"}
    assert f.params == {"actor": "alice"}
    assert len(f.inputs) == 1 and f.inputs[0]["kind"] == "ingest"
    saved = json.loads((tmp / "out/findings.json").read_text())["findings"][0]
    assert saved["sentence"] == f.sentence and saved["rows_csv"] == "tables/alice.csv"
    assert (tmp / "out/tables/alice.csv").read_text().splitlines()[1].startswith("alice,2,200,")


def test_verify_same_then_cannot_check_then_changed(setup, tmp_path):
    ws, qdir, tmp = setup
    inv.run_findings(ws, SPEC, out=tmp / "out", query_dirs=[qdir])
    [check] = inv.verify(ws, tmp / "out/findings.json", query_dirs=[qdir])
    assert (check.status, check.detail) == ("same", "")

    # the query changes: same inputs, other numbers
    (qdir / "actor_events.sql").write_text(QUERY.replace("count(*) AS events", "count(*) + 1 AS events"))
    [check] = inv.verify(ws, tmp / "out/findings.json", query_dirs=[qdir])
    assert check.status == "changed"
    assert check.old["events"] == 2 and check.new["events"] == 3
    assert "values differ" in check.detail and "SQL of query actor_events has changed" in check.detail

    # another file is ingested: the inputs differ, so the finding cannot be checked
    extra = write(tmp / "more.csv", [HEADER, GOOD[1]])
    inv.ingest_file(ws, extra, "csv", mapping=MAPPING)
    [check] = inv.verify(ws, tmp / "out/findings.json", query_dirs=[qdir])
    assert (check.status, check.detail) == ("cannot check", "not in the finding's inputs: more.csv")


def test_cli_verify_exit_codes(setup, capsys, monkeypatch):
    ws, qdir, tmp = setup
    inv.run_findings(ws, SPEC, out=tmp / "out", query_dirs=[qdir])
    ws.close()
    monkeypatch.setenv("INVESTIGATE_QUERY_PATH", str(qdir))
    assert main(["verify", str(tmp / "ws.duckdb"), str(tmp / "out/findings.json")]) == 0
    assert capsys.readouterr().out == "alice: same\n"
    (qdir / "actor_events.sql").write_text(QUERY.replace("sum(bytes)", "sum(bytes) * 2"))
    assert main(["verify", str(tmp / "ws.duckdb"), str(tmp / "out/findings.json")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("alice: changed (values differ; the SQL of query actor_events has changed since)")
    assert '"bytes": 200' in out and '"bytes": 400' in out
    assert main(["verify", str(tmp / "ws.duckdb"), str(tmp / "missing.json")]) == 2


def test_bad_specs_say_what_is_wrong(setup):
    ws, qdir, _ = setup
    with pytest.raises(inv.InvestigateError, match="'sentence' is required"):
        inv.compute_finding(ws, {"id": "x", "query": "actor_events"}, query_dirs=[qdir])
    with pytest.raises(inv.InvestigateError, match="is not one of sum"):
        inv.compute_finding(ws, {**SPEC[0], "values": {"n": "median(bytes)"}}, query_dirs=[qdir])
    with pytest.raises(inv.QueryError, match="takes no parameter who; it takes: actor"):
        inv.compute_finding(ws, {**SPEC[0], "params": {"who": "alice"}}, query_dirs=[qdir])
