"""flow_matrix, actor_timeline, coverage_chart: checked as pictures.

Each chart is drawn from the real query results on the fictional sample case,
and what it must show (cells, labels, mark groups, lines, shaded gaps) is
counted independently from the DataFrame; hand-made frames cover NULL
countries and gaps on the first/last day.
"""

from __future__ import annotations

import io

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from PIL import Image

import investigate as inv
from investigate import chart_views, charts

from .test_case import case_ws  # noqa: F401  (fixture)

SOURCE = "Source: fictional sample case"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def by_gid(fig: Figure, gid: str) -> list:
    return [a for a in fig.findobj() if getattr(a, "get_gid", None) and a.get_gid() == gid]


def text_by_gid(fig: Figure, gid: str) -> str:
    found = [t for t in fig.texts if t.get_gid() == gid]
    assert len(found) == 1
    return found[0].get_text()


def pixels(fig: Figure) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def assert_picture(fig: Figure, title: str, source: str = SOURCE) -> None:
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (8, 4.5)
    px = pixels(fig)
    assert px.shape == (450, 800, 3)
    assert px.std() > 10  # not blank
    assert text_by_gid(fig, charts.GID_TITLE) == title
    assert text_by_gid(fig, charts.GID_SOURCE) == source


def data_lines(ax) -> list:
    return [ln for ln in ax.lines if ln.get_gid() != charts.GID_MARKER]


def assert_saved(fig: Figure, tmp_path, name: str, data: pd.DataFrame) -> None:
    a = charts.save(fig, name, tmp_path / "a", data=data)
    b = charts.save(fig, name, tmp_path / "b", data=data)
    assert set(a) == {"png", "svg", "pdf", "csv"}
    for ext in a:
        assert a[ext].stat().st_size > 0
    for ext in ("png", "svg", "pdf"):
        assert a[ext].read_bytes() == b[ext].read_bytes(), ext
    with Image.open(a["png"]) as im:
        assert im.size == (1600, 900)


@pytest.fixture(scope="module")
def routes(case_ws):  # noqa: F811
    return inv.run_query(case_ws, "transfer_routes")


@pytest.fixture(scope="module")
def accesses(case_ws):  # noqa: F811
    return inv.run_query(case_ws, "cross_border_access", category="us_user_data")


@pytest.fixture(scope="module")
def coverage(case_ws):  # noqa: F811
    return (inv.run_query(case_ws, "coverage"), inv.run_query(case_ws, "coverage_gaps"))


def test_charts_exposes_the_new_functions():
    for name in ("flow_matrix", "actor_timeline", "coverage_chart", "format_bytes"):
        assert getattr(charts, name) is getattr(chart_views, name)
        assert name in charts.__all__ and name in dir(charts)
    with pytest.raises(AttributeError):
        charts.no_such_chart  # noqa: B018


def test_chart_views_can_be_imported_first():
    import subprocess
    import sys
    code = ("import investigate.chart_views as v, investigate.charts as c, sys; "
            "assert c.flow_matrix is v.flow_matrix; "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (999, "999 B"), (1000, "1 kB"), (12_700_000_000, "12.7 GB"),
    (466_054_332_470, "466 GB"), (4_789_941_321_896, "4.79 TB"),
    (999_960_000_000, "1 TB"), (float("nan"), "n/a")])
def test_format_bytes(n, text):
    assert charts.format_bytes(n) == text


# --------------------------------------------------------------------------
# flow_matrix
# --------------------------------------------------------------------------

FLOW_TITLE = "Most data stayed in the US, but 466 GB went to Singapore"


def mesh_of(fig) -> QuadMesh:
    meshes = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    return meshes[0]


def test_flow_matrix_on_the_sample_case(routes, tmp_path):
    fig = charts.flow_matrix(routes, title=FLOW_TITLE, source=SOURCE)
    assert_picture(fig, FLOW_TITLE)
    ax = fig.axes[0]
    src = routes["src_country"].astype("string").fillna("unknown")
    dst = routes["dst_country"].astype("string").fillna("unknown")
    pairs = set(zip(src, dst))
    grid = mesh_of(fig).get_array()
    assert grid.shape == (src.nunique(), dst.nunique())
    labels = by_gid(fig, chart_views.GID_CELL_LABEL)
    assert len(labels) == len(pairs) == int((~np.ma.getmaskarray(grid)).sum())
    # The cells add up to the query's total, and each label reads its cell.
    assert float(grid.sum()) == pytest.approx(float(routes["bytes"].sum()))
    totals = routes.assign(s=src, d=dst).groupby(["s", "d"])["bytes"].sum()
    assert sorted(t.get_text() for t in labels) == sorted(
        charts.format_bytes(v) for v in totals)
    # Domestic cells outlined: one per pair with the same country.
    assert len(by_gid(fig, chart_views.GID_DOMESTIC)) == sum(s == d for s, d in pairs)
    # Countries by total volume: US first on both axes.
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "US"
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "US"
    colourbar = fig.axes[1]
    assert "TB" in colourbar.get_ylabel() or "bytes" in colourbar.get_ylabel()
    assert_saved(fig, tmp_path, "flows", routes)


def test_flow_matrix_null_country_is_an_explicit_unknown():
    df = pd.DataFrame({
        "period": ["2022-01-01"] * 5,
        "src_country": ["US", "US", None, "DE", None],
        "dst_country": ["US", "CN", "US", None, None],
        "bytes": [5e12, 3e9, 7e8, 2e6, 1e6],
    })
    fig = charts.flow_matrix(df, title="Unknown ends are shown", source=SOURCE)
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows == ["US", "DE", "unknown"]
    assert cols == ["US", "CN", "unknown"]
    grid = mesh_of(fig).get_array()
    assert float(grid.sum()) == pytest.approx(df["bytes"].sum())  # nothing dropped
    assert grid[rows.index("unknown"), cols.index("unknown")] == 1e6
    # unknown -> unknown is not domestic; US -> US is.
    assert len(by_gid(fig, chart_views.GID_DOMESTIC)) == 1
    assert len(by_gid(fig, chart_views.GID_CELL_LABEL)) == 5
    # Spanning six orders of magnitude: a log colour scale, labelled.
    assert "log" in fig.axes[1].get_ylabel()
    # Text readable on its cell: white on the darkest, dark on the lightest.
    colour = {t.get_text(): t.get_color() for t in by_gid(fig, chart_views.GID_CELL_LABEL)}
    assert colour["5 TB"] == "white"
    assert colour["1 MB"] != "white"


def test_flow_matrix_lumps_small_countries_keeping_the_total():
    df = pd.DataFrame({"src_country": ["US"] * 6,
                       "dst_country": ["US", "SG", "IE", "CN", "DE", "FR"],
                       "bytes": [6e9, 5e9, 4e9, 3e9, 2e9, 1e9]})
    fig = charts.flow_matrix(df, title="t", source=SOURCE, max_countries=3)
    cols = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert cols == ["US", "SG", "IE", "other"]
    assert float(mesh_of(fig).get_array().sum()) == pytest.approx(21e9)
    assert "3 smaller countries" in text_by_gid(fig, charts.GID_SUBTITLE)


# --------------------------------------------------------------------------
# actor_timeline
# --------------------------------------------------------------------------

TIMELINE_TITLE = "China-based staff kept reading US user data after the promise"


def test_actor_timeline_on_the_sample_case(accesses, tmp_path):
    fig = charts.actor_timeline(accesses, title=TIMELINE_TITLE, source=SOURCE,
                                marker="2022-06-17", marker_label="Promise")
    assert_picture(fig, TIMELINE_TITLE)
    ax = fig.axes[0]
    counts = accesses["actor_id"].value_counts()
    first = accesses.groupby("actor_id")["ts"].min()
    busiest = sorted(counts.index, key=lambda a: (-counts[a], first[a], a))[:20]
    expected_rows = sorted(busiest, key=lambda a: (first[a], a))
    assert [t.get_text() for t in ax.get_yticklabels()] == expected_rows
    shown = accesses[accesses["actor_id"].isin(busiest)]
    lines = data_lines(ax)
    # One mark group per country, each with that country's events.
    assert {ln.get_label(): len(ln.get_xdata()) for ln in lines} == (
        shown["access_country"].value_counts().to_dict())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == sorted(shown["access_country"].unique())
    hidden = counts.drop(busiest)
    assert text_by_gid(fig, charts.GID_SUBTITLE) == (
        f"Not shown: {len(hidden)} more actors with {int(hidden.sum()):,} events")
    marker = [ln for ln in ax.lines if ln.get_gid() == charts.GID_MARKER]
    assert len(marker) == 1
    assert marker[0].get_xdata()[0] == pytest.approx(
        mdates.date2num(pd.Timestamp("2022-06-17").to_pydatetime()))
    assert_saved(fig, tmp_path, "timeline", shown[["ts", "actor_id", "access_country"]])


def test_actor_timeline_null_country_and_actor_and_no_cap_note():
    df = pd.DataFrame({
        "ts": pd.to_datetime(["2022-01-03 10:00", "2022-01-01 09:00",
                              "2022-01-05 23:00", "2022-01-02 12:00"], utc=True),
        "actor_id": ["b", "a", None, "a"],
        "access_country": ["CN", None, "CN", "SG"],
    })
    fig = charts.actor_timeline(df, title="t", source=SOURCE, subtitle="sub")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "unknown"]
    groups = {ln.get_label(): len(ln.get_xdata()) for ln in data_lines(ax)}
    assert groups == {"CN": 2, "SG": 1, "unknown": 1}
    assert text_by_gid(fig, charts.GID_SUBTITLE) == "sub"  # nothing hidden


def test_actor_timeline_max_actors_and_marker_range():
    df = pd.DataFrame({"ts": pd.date_range("2022-01-01", periods=6, freq="D"),
                       "actor_id": ["a", "a", "a", "b", "b", "c"],
                       "access_country": "CN"})
    fig = charts.actor_timeline(df, title="t", source=SOURCE, max_actors=2)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    assert text_by_gid(fig, charts.GID_SUBTITLE) == "Not shown: 1 more actor with 1 event"
    with pytest.raises(ValueError, match="outside the charted range"):
        charts.actor_timeline(df, title="t", source=SOURCE, marker="2023-01-01")
    with pytest.raises(ValueError, match="max_actors"):
        charts.actor_timeline(df, title="t", source=SOURCE, max_actors=0)


# --------------------------------------------------------------------------
# coverage_chart
# --------------------------------------------------------------------------

COVERAGE_TITLE = "The access log is silent for four days in March 2022"


def test_coverage_chart_on_the_sample_case(coverage, tmp_path):
    cov, gaps = coverage
    fig = charts.coverage_chart(cov, gaps=gaps, source_format="source_format",
                                title=COVERAGE_TITLE, source=SOURCE)
    assert_picture(fig, COVERAGE_TITLE)
    ax = fig.axes[0]
    lines = data_lines(ax)
    series = cov.groupby(["table_name", "source_format"]).size()
    assert len(lines) == len(series)
    assert {ln.get_label() for ln in lines} == {f"{t} / {f}" for t, f in series.index}
    n_days = (cov["day"].max() - cov["day"].min()).days + 1
    for ln in lines:  # every day of the range, plus the closing step edge
        assert len(ln.get_xdata()) == n_days + 1
    total = sum(float(np.sum(ln.get_ydata()[:-1])) for ln in lines)
    assert total == pytest.approx(float(cov["events"].sum()))
    spans = by_gid(fig, chart_views.GID_GAP)
    labels = by_gid(fig, chart_views.GID_GAP_LABEL)
    assert len(spans) == len(labels) == len(gaps)
    assert sorted(t.get_text() for t in labels) == sorted(
        f"{int(d)} day" + ("" if d == 1 else "s") for d in gaps["days"])
    # The sample gap: 2022-03-08 .. 2022-03-11 inclusive, 4 days.
    x0, x1 = spans[0].get_window_extent().x0, spans[0].get_window_extent().x1
    assert x1 > x0
    assert_saved(fig, tmp_path, "coverage", cov)


def span_days(span) -> tuple[pd.Timestamp, pd.Timestamp]:
    if hasattr(span, "get_width"):  # Rectangle (matplotlib >= 3.9)
        lo, hi = span.get_x(), span.get_x() + span.get_width()
    else:  # Polygon
        xs = np.asarray(span.get_xy())[:, 0]
        lo, hi = float(np.min(xs)), float(np.max(xs))
    return (pd.Timestamp(mdates.num2date(lo)).tz_localize(None),
            pd.Timestamp(mdates.num2date(hi)).tz_localize(None))


def test_coverage_gaps_at_first_and_last_day():
    cov = pd.DataFrame({"day": pd.to_datetime(["2022-01-02", "2022-01-03", "2022-01-04"]),
                        "table_name": "access_events", "events": [5, 7, 6]})
    gaps = pd.DataFrame({"table_name": ["access_events"] * 2,
                         "gap_start": pd.to_datetime(["2022-01-01", "2022-01-05"]),
                         "gap_end": pd.to_datetime(["2022-01-01", "2022-01-06"]),
                         "days": [1, 2]})
    fig = charts.coverage_chart(cov, gaps=gaps, title="t", source=SOURCE)
    ax = fig.axes[0]
    spans = by_gid(fig, chart_views.GID_GAP)
    assert [span_days(s) for s in spans] == [
        (pd.Timestamp("2022-01-01"), pd.Timestamp("2022-01-02")),
        (pd.Timestamp("2022-01-05"), pd.Timestamp("2022-01-07"))]
    assert [t.get_text() for t in by_gid(fig, chart_views.GID_GAP_LABEL)] == ["1 day", "2 days"]
    # The axis covers the gaps, and the line is zero on the gap days.
    lo, hi = ax.get_xlim()
    assert lo == mdates.date2num(pd.Timestamp("2022-01-01").to_pydatetime())
    assert hi == mdates.date2num(pd.Timestamp("2022-01-07").to_pydatetime())
    (line,) = data_lines(ax)
    assert list(line.get_ydata()) == [0, 5, 7, 6, 0, 0, 0]
    # The y axis ends on a labelled gridline; the band above holds the labels.
    ticks = list(ax.get_yticks())
    assert ticks[-1] == 8 and ax.spines["left"].get_bounds() == (0, 8)
    assert ax.get_ylim()[1] > 8


def test_coverage_without_gaps_and_with_empty_gaps():
    cov = pd.DataFrame({"day": ["2022-01-01", "2022-01-03", "2022-01-01"],
                        "table_name": ["a", "a", "b"], "events": [1, 2, 3]})
    for gaps in (None, pd.DataFrame({"gap_start": [], "gap_end": []})):
        fig = charts.coverage_chart(cov, gaps=gaps, title="t", source=SOURCE)
        assert by_gid(fig, chart_views.GID_GAP) == []
        lines = {ln.get_label(): list(ln.get_ydata()) for ln in data_lines(fig.axes[0])}
        assert lines == {"a": [1, 0, 2, 2], "b": [3, 0, 0, 0]}


# --------------------------------------------------------------------------
# bad input, the same messages as monthly_bars
# --------------------------------------------------------------------------

CALLS = {
    "flow_matrix": (charts.flow_matrix,
                    pd.DataFrame({"src_country": ["US"], "dst_country": ["SG"],
                                  "bytes": [1]}), "bytes"),
    "actor_timeline": (charts.actor_timeline,
                       pd.DataFrame({"ts": ["2022-01-01"], "actor_id": ["a"],
                                     "access_country": ["CN"]}), "access_country"),
    "coverage_chart": (charts.coverage_chart,
                       pd.DataFrame({"day": ["2022-01-01"], "table_name": ["a"],
                                     "events": [1]}), "events"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_missing_column_empty_frame_and_bad_types(name):
    func, df, column = CALLS[name]
    func(df, title="t", source=SOURCE)  # the good frame works
    with pytest.raises(ValueError) as err:
        func(df.drop(columns=[column]), title="t", source=SOURCE)
    assert f"missing column(s) [{column!r}]" in str(err.value)
    for present in df.columns.drop(column):
        assert repr(present) in str(err.value)
    with pytest.raises(ValueError, match="no rows"):
        func(df.iloc[0:0], title="t", source=SOURCE)
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        func(df.to_dict("list"), title="t", source=SOURCE)
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        func(df, title="", source=SOURCE)
    with pytest.raises(ValueError, match="source must be a non-empty string"):
        func(df, title="t", source=None)


def test_wrong_value_types_rejected():
    with pytest.raises(ValueError, match="'bytes' must be numeric"):
        charts.flow_matrix(CALLS["flow_matrix"][1].assign(bytes="lots"), title="t",
                           source=SOURCE)
    with pytest.raises(ValueError, match="negative"):
        charts.flow_matrix(CALLS["flow_matrix"][1].assign(bytes=-1), title="t",
                           source=SOURCE)
    with pytest.raises(ValueError, match="'ts' must hold dates"):
        charts.actor_timeline(CALLS["actor_timeline"][1].assign(ts="yesterday-ish"),
                              title="t", source=SOURCE)
    with pytest.raises(ValueError, match="'events' must be numeric"):
        charts.coverage_chart(CALLS["coverage_chart"][1].assign(events="x"), title="t",
                              source=SOURCE)
    cov = CALLS["coverage_chart"][1]
    with pytest.raises(ValueError, match=r"gaps: missing column\(s\) \['gap_end'\]"):
        charts.coverage_chart(cov, gaps=pd.DataFrame({"gap_start": ["2022-01-01"]}),
                              title="t", source=SOURCE)
    with pytest.raises(ValueError, match="before"):
        charts.coverage_chart(cov, gaps=pd.DataFrame({"gap_start": ["2022-01-02"],
                                                      "gap_end": ["2022-01-01"]}),
                              title="t", source=SOURCE)


def test_too_many_countries_for_the_palette():
    df = pd.DataFrame({"ts": pd.date_range("2022-01-01", periods=9, freq="D"),
                       "actor_id": "a", "access_country": [f"C{i}" for i in range(9)]})
    with pytest.raises(ValueError, match="9 countries"):
        charts.actor_timeline(df, title="t", source=SOURCE)
