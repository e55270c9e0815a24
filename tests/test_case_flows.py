"""The fictional case's transfers from network flow logs (case_vpc.yml, case_zeek.yml).

The edge flows and backup jobs of case.yml, written once more as AWS VPC flow logs (a record per
direction) and as Zeek conn.log (a record per connection) under data_samples/exports_flows/. Both
manifests load only those logs plus the reference files, and give the transfer facts of
ground_truth.json exactly: partner_share (both directions of user traffic are counted, and the
two records of a transfer sum to its bytes) and offshore_backups (a flow log names no dataset:
what a backup flow carries comes from the catalogue's 'site:' entry for the /32 of its source
host; failed jobs are REJECT / REJ records, outcome failure, which the queries leave out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import investigate as inv

from .facts import assert_offshore_backups, assert_partner_share, iso
from .conftest import SAMPLES

MANIFESTS = {"case_vpc.yml": ("vpc_flow", "exports_flows/vpcflow/"),
             "case_zeek.yml": ("zeek_conn", "exports_flows/zeek/")}


@pytest.fixture(scope="module", params=sorted(MANIFESTS))
def flow_ws(request):
    with inv.Workspace.open() as ws:
        ws.load = inv.ingest_case(ws, SAMPLES / request.param)
        ws.manifest = request.param
        yield ws



def rel(path) -> str:
    return Path(path).resolve().relative_to(SAMPLES.resolve()).as_posix()


def expected(ground_truth, manifest, key):
    prefix = MANIFESTS[manifest][1]
    value = ground_truth[key]
    if isinstance(value, dict):
        return {f: v for f, v in value.items() if f.startswith(prefix)}
    return sorted((r["file"], r["record"]) for r in value if r["file"].startswith(prefix))


def test_every_flow_log_file_is_accounted_for(flow_ws, ground_truth):
    results = flow_ws.load.results
    assert not any(r.skipped for r in results)
    assert {r.format for r in results} == {MANIFESTS[flow_ws.manifest][0]}
    got = {rel(r.path): {"read": r.rows_read, "loaded": r.rows_loaded, "rejected": r.rows_rejected,
                         "set_apart": r.rows_set_apart} for r in results}
    assert got == expected(ground_truth, flow_ws.manifest, "flow_rows")
    assert all(v["read"] == v["loaded"] + v["rejected"] + v["set_apart"] for v in got.values())
    assert flow_ws.count("access_events") == 0


def test_rejects_and_set_apart_at_their_record_numbers(flow_ws, ground_truth):
    rejects = flow_ws.sql("SELECT source_file, source_record FROM rejects").fetchall()
    assert sorted((rel(f), r) for f, r in rejects) == expected(ground_truth, flow_ws.manifest, "flow_rejects")
    assert flow_ws.sql("SELECT count(*) FROM rejects WHERE reason IS NULL OR reason = ''").fetchone() == (0,)
    apart = flow_ws.sql("SELECT source_file, source_record FROM set_apart").fetchall()
    assert sorted((rel(f), r) for f, r in apart) == expected(ground_truth, flow_ws.manifest, "flow_set_apart")


def test_every_transfer_is_in_the_flow_log(flow_ws, ground_truth):
    """The loaded records carry exactly the bytes of the edge flows and backup jobs."""
    with inv.Workspace.open() as csv_ws:
        inv.ingest_case(csv_ws, SAMPLES / "case.yml")
        edge, backups = csv_ws.sql("""SELECT sum(bytes) FILTER (WHERE dataset IS NULL),
                                             count(*) FILTER (WHERE dataset IS NOT NULL)
                                      FROM transfer_events""").fetchone()
    users = flow_ws.sql("""SELECT sum(bytes) FROM transfer_enriched
                           WHERE coalesce(src_kind = 'users', false) OR coalesce(dst_kind = 'users', false)""").fetchone()[0]
    assert int(users) == int(edge)
    failed = flow_ws.sql("SELECT count(*) FROM transfer_events WHERE outcome = 'failure'").fetchone()[0]
    assert 0 < failed < backups * 0.06  # the failed backup jobs (about 3%), nothing else


def test_partner_share_rises_to_near_all(flow_ws, ground_truth):
    assert_partner_share(flow_ws, ground_truth)


def test_backups_still_copied_offshore_after_the_promise(flow_ws, ground_truth):
    assert_offshore_backups(flow_ws, ground_truth)
    # Nothing else leaves its jurisdiction: no category but us_user_data is attributed at all.
    every = inv.run_query(flow_ws, "offshore_copies")
    assert set(every.data_category) == {"us_user_data"}


def test_inventory_and_catalogue_name_the_backup_sources(flow_ws):
    """The /32s of the backup source hosts keep their site's country and org."""
    rows = flow_ws.sql("""SELECT site, country, org FROM networks WHERE cidr LIKE '%/32'
                          AND site IN ('us-userdata-db', 'ibc-userdata-vm') ORDER BY site""").fetchall()
    assert rows == [("ibc-userdata-vm", "US", "Ironbridge Cloud"), ("us-userdata-db", "US", "ReelRiver Ltd.")]
    holds = flow_ws.sql("SELECT site, data_category, jurisdiction FROM site_holdings ORDER BY site").fetchall()
    assert holds == [("ibc-userdata-vm", "us_user_data", "US"), ("us-userdata-db", "us_user_data", "US")]
