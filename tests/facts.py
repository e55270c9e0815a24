"""Checks of the case's transfer facts, shared by every variant of the case (CSV exports,
native logs, flow logs): each must find the same numbers in ground_truth.json."""

from __future__ import annotations

import pandas as pd

import investigate as inv


def iso(ts) -> str:
    """A timestamp as ground_truth.json writes it: UTC, milliseconds, Z."""
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def assert_partner_share(ws, ground_truth) -> None:
    df = inv.run_query(ws, "partner_share", partner_org=ground_truth["case"]["partner_org"])
    got = {str(p)[:7]: {"partner_bytes": int(pb), "share": round(float(s), 6), "total_bytes": int(tb)}
           for p, tb, pb, s in zip(df.period, df.total_bytes, df.partner_bytes, df.share)}
    assert got == ground_truth["partner_share"]["by_month"]


def assert_offshore_backups(ws, ground_truth) -> None:
    truth = ground_truth["offshore_backups"]
    after = inv.run_query(ws, "offshore_copies", category="us_user_data",
                          after=ground_truth["case"]["promise_date"])
    assert set(after.dst_country) == {truth["dst_country"]} and set(after.dst_site) == {truth["dst_site"]}
    assert int(after.flows.sum()) == truth["after_promise"]["copies"]
    assert int(after.bytes.sum()) == truth["after_promise"]["bytes"]
    assert iso(after.first_ts.min()) == truth["after_promise"]["first_ts"]
    assert iso(after.last_ts.max()) == truth["after_promise"]["last_ts"]
    total = inv.run_query(ws, "offshore_copies", category="us_user_data")
    assert (int(total.flows.sum()), int(total.bytes.sum())) == (truth["total"]["copies"], truth["total"]["bytes"])
