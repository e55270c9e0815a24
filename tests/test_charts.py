"""Tests for investigate.charts: the charts are checked as pictures.

Decisions asserted here:
* A month with no rows is an empty slot drawn as zero-height bars, so the
  bar count is always (months in the continuous range) x (groups).
* Title and source line are figure texts (gids ``investigate-title`` /
  ``investigate-source``) holding exactly the string passed (short titles
  are not wrapped; long ones are wrapped at spaces only).
"""

from __future__ import annotations

import json
import subprocess
import sys

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from cycler import cycler
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from PIL import Image

from investigate import charts

TITLE = "Accesses from China kept rising after the promise"
SUBTITLE = "Accesses to EU customer records per month, by country"
SOURCE = "Source: vendor access log export, Jan-Jun 2022"
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00",
             "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MONTHS = pd.date_range("2022-01-01", "2022-06-01", freq="MS")  # 6 months


@pytest.fixture
def two_groups() -> pd.DataFrame:
    """Jan-Jun 2022, April missing, two groups (China has the larger total)."""
    rows = []
    for month, china, us in [("2022-01-01", 1200, 300), ("2022-02-01", 1350, 280),
                             ("2022-03-01", 1500, 310), ("2022-05-01", 1800, 330),
                             ("2022-06-01", 2100, 250)]:
        rows.append({"period": pd.Timestamp(month), "country": "United States",
                     "accesses": us})
        rows.append({"period": pd.Timestamp(month), "country": "China",
                     "accesses": china})
    return pd.DataFrame(rows)


@pytest.fixture
def shares() -> pd.DataFrame:
    """Jan-Jun 2022 with March missing."""
    return pd.DataFrame({
        "period": ["2022-01-01", "2022-02-01", "2022-04-01", "2022-05-01",
                   "2022-06-01"],
        "share": [0.10, 0.15, 0.30, 0.42, 1.0],
    })


def bars(df, **kw):
    kw.setdefault("title", TITLE)
    kw.setdefault("subtitle", SUBTITLE)
    kw.setdefault("source", SOURCE)
    return charts.monthly_bars(df, **kw)


def text_by_gid(fig: Figure, gid: str):
    found = [t for t in fig.texts if t.get_gid() == gid]
    assert len(found) == 1, f"expected one figure text with gid {gid!r}"
    return found[0]


def artist_by_gid(ax, gid: str):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist with gid {gid!r}"
    return found[0]


def rendered_bboxes(fig: Figure):
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
    fig.draw(renderer)
    return renderer


def hex_colour(rgba) -> str:
    return mpl.colors.to_hex(rgba).upper()


# --------------------------------------------------------------------------
# monthly_bars
# --------------------------------------------------------------------------

def test_monthly_bars_returns_figure_with_all_slots(two_groups):
    fig = bars(two_groups, group="country")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    # 6 months (April has no rows) x 2 groups, April as zero-height bars.
    assert len(ax.patches) == len(MONTHS) * 2 == 12
    assert len(ax.containers) == 2
    centres = mdates.date2num((MONTHS + pd.Timedelta(days=0)).to_pydatetime())
    for container in ax.containers:
        assert len(container.patches) == len(MONTHS)
        xs = [p.get_x() + p.get_width() / 2 for p in container.patches]
        assert np.all(np.diff(xs) > 0)
        # Each bar sits inside its own month.
        assert all(s <= x < s + 31 for s, x in zip(centres, xs))
    heights = {c.get_label(): [p.get_height() for p in c.patches]
               for c in ax.containers}
    assert heights["China"] == [1200, 1350, 1500, 0, 1800, 2100]
    assert heights["United States"] == [300, 280, 310, 0, 330, 250]


def test_monthly_bars_groups_by_descending_total_with_palette(two_groups):
    fig = bars(two_groups, group="country")
    ax = fig.axes[0]
    china, us = ax.containers
    assert china.get_label() == "China"
    assert us.get_label() == "United States"
    assert hex_colour(china.patches[0].get_facecolor()) == OKABE_ITO[0]
    assert hex_colour(us.patches[0].get_facecolor()) == OKABE_ITO[1]
    # Stacked: the smaller group sits on top of the larger one.
    assert us.patches[0].get_y() == pytest.approx(1200)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["China", "United States"]


def test_monthly_bars_without_group_single_colour_no_legend(two_groups):
    total = two_groups.groupby("period", as_index=False)["accesses"].sum()
    fig = bars(total)
    ax = fig.axes[0]
    assert len(ax.patches) == len(MONTHS)
    assert ax.get_legend() is None
    assert {hex_colour(p.get_facecolor()) for p in ax.patches} == {OKABE_ITO[0]}
    assert ax.patches[3].get_height() == 0  # April


def test_title_subtitle_source_are_exact(two_groups):
    fig = bars(two_groups, group="country")
    assert text_by_gid(fig, charts.GID_TITLE).get_text() == TITLE
    assert text_by_gid(fig, charts.GID_SUBTITLE).get_text() == SUBTITLE
    assert text_by_gid(fig, charts.GID_SOURCE).get_text() == SOURCE
    title = text_by_gid(fig, charts.GID_TITLE)
    assert title.get_fontweight() in ("bold", 700)
    assert title.get_horizontalalignment() == "left"


def test_no_subtitle_means_no_subtitle_text(two_groups):
    fig = bars(two_groups, subtitle=None, group="country")
    assert [t for t in fig.texts if t.get_gid() == charts.GID_SUBTITLE] == []


def test_long_title_wraps_inside_figure(two_groups):
    long_title = ("Accesses to EU customer data from China kept rising for "
                  "months after the company promised regulators in June 2022 "
                  "to stop them")
    fig = bars(two_groups, group="country", title=long_title)
    text = text_by_gid(fig, charts.GID_TITLE)
    assert "\n" in text.get_text()
    assert " ".join(text.get_text().split()) == long_title
    renderer = rendered_bboxes(fig)
    assert fig.bbox.contains(*text.get_window_extent(renderer).p1)


def test_layout_nothing_cropped_or_overlapping(two_groups):
    fig = bars(two_groups, group="country", marker="2022-03-15",
               marker_label="Promise: 15 Mar 2022", ylabel="Accesses")
    ax = fig.axes[0]
    renderer = rendered_bboxes(fig)
    fig_box = fig.bbox
    title = text_by_gid(fig, charts.GID_TITLE).get_window_extent(renderer)
    subtitle = text_by_gid(fig, charts.GID_SUBTITLE).get_window_extent(renderer)
    source = text_by_gid(fig, charts.GID_SOURCE).get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    plot = ax.get_window_extent(renderer)
    axes_all = ax.get_tightbbox(renderer)
    for box in (title, subtitle, source, legend, axes_all):
        assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1
        assert fig_box.y0 <= box.y0 and box.y1 <= fig_box.y1
    # Top to bottom: title, subtitle, legend, plot area, tick labels, source.
    assert title.y0 > subtitle.y1
    assert subtitle.y0 > legend.y1
    assert legend.y0 >= plot.y1  # the legend never covers bars
    assert source.y1 < axes_all.y0
    # Source line bottom-left, aligned with the title.
    assert source.x0 == pytest.approx(title.x0, abs=2)
    assert source.x0 < fig_box.width * 0.1


def test_marker_line_at_exact_date(two_groups):
    fig = bars(two_groups, group="country", marker="2022-03-15",
               marker_label="Promise: 15 Mar 2022")
    ax = fig.axes[0]
    line = artist_by_gid(ax, charts.GID_MARKER)
    expected = mdates.date2num(pd.Timestamp("2022-03-15").to_pydatetime())
    assert list(line.get_xdata()) == pytest.approx([expected, expected])
    assert line.get_linestyle() == "--"
    label = artist_by_gid(ax, charts.GID_MARKER_LABEL)
    assert label.get_text() == "Promise: 15 Mar 2022"
    # The marker falls in the March slot, between Feb and Apr bars.
    xs = [p.get_x() + p.get_width() / 2 for p in ax.containers[0].patches]
    assert xs[1] < expected < xs[3]
    # Marker label stays above the bars (headroom).
    peak = max(p.get_y() + p.get_height() for p in ax.patches)
    assert ax.get_ylim()[1] > peak * 1.1


def test_marker_accepts_timestamp_and_no_label(two_groups):
    fig = bars(two_groups, group="country", marker=pd.Timestamp("2022-06-30"))
    ax = fig.axes[0]
    artist_by_gid(ax, charts.GID_MARKER)
    assert not [a for a in ax.get_children()
                if a.get_gid() == charts.GID_MARKER_LABEL]


def test_no_marker_no_line(two_groups):
    fig = bars(two_groups, group="country")
    assert not [a for a in fig.axes[0].get_children()
                if a.get_gid() == charts.GID_MARKER]


def test_y_axis_thousands_separator(two_groups):
    fig = bars(two_groups, group="country")
    ax = fig.axes[0]
    rendered_bboxes(fig)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "2,000" in labels
    assert all("." not in s for s in labels)


def test_month_tick_labels(two_groups):
    fig = bars(two_groups, group="country")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["Jan\n2022", "Feb", "Mar", "Apr", "May", "Jun"]


def test_period_strings_and_period_dtype_are_accepted(two_groups):
    as_str = two_groups.assign(period=two_groups["period"].dt.strftime("%Y-%m"))
    as_period = two_groups.assign(period=two_groups["period"].dt.to_period("M"))
    mid_month = two_groups.assign(period=two_groups["period"] + pd.Timedelta(days=9))
    ref = [p.get_height() for p in bars(two_groups, group="country").axes[0].patches]
    for df in (as_str, as_period, mid_month):
        fig = bars(df, group="country")
        assert [p.get_height() for p in fig.axes[0].patches] == ref


# --------------------------------------------------------------------------
# share_over_time
# --------------------------------------------------------------------------

def test_share_over_time_percent_axis_and_gap(shares):
    fig = charts.share_over_time(shares, title="Share tripled", source=SOURCE,
                                 marker="2022-04-10", marker_label="Promise")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # the data line and the marker
    data_line = [ln for ln in ax.lines if ln.get_gid() != charts.GID_MARKER][0]
    y = np.asarray(data_line.get_ydata(), dtype=float)
    assert len(y) == len(MONTHS)
    assert np.isnan(y[2])  # March missing: the line is broken there
    assert y[~np.isnan(y)] == pytest.approx([0.10, 0.15, 0.30, 0.42, 1.0])
    assert data_line.get_marker() == "o"
    rendered_bboxes(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["0%", "25%", "50%", "75%", "100%"]
    assert ax.get_ylim()[0] == 0
    line = artist_by_gid(ax, charts.GID_MARKER)
    expected = mdates.date2num(pd.Timestamp("2022-04-10").to_pydatetime())
    assert line.get_xdata()[0] == pytest.approx(expected)
    assert text_by_gid(fig, charts.GID_TITLE).get_text() == "Share tripled"
    assert text_by_gid(fig, charts.GID_SOURCE).get_text() == SOURCE


def test_share_without_marker_axis_is_0_to_100(shares):
    fig = charts.share_over_time(shares, title="Share tripled", source=SOURCE)
    assert fig.axes[0].get_ylim() == (0.0, 1.0)


def test_share_rejects_percentages(shares):
    with pytest.raises(ValueError, match="between 0 and 1"):
        charts.share_over_time(shares.assign(share=shares["share"] * 100),
                               title="t", source=SOURCE)


# --------------------------------------------------------------------------
# rcParams, headless
# --------------------------------------------------------------------------

def test_chart_functions_do_not_change_rcparams(two_groups, shares):
    with mpl.rc_context({"font.size": 17.0,
                         "axes.prop_cycle": cycler(color=["red", "green"]),
                         "axes.spines.top": True}):
        before = mpl.rcParams.copy()
        fig = bars(two_groups, group="country", marker="2022-03-01",
                   marker_label="x")
        charts.share_over_time(shares, title="t", source=SOURCE)
        after = mpl.rcParams.copy()
        assert dict(after) == dict(before)
        # ... and the user's settings did not leak into the report style.
        ax = fig.axes[0]
        assert hex_colour(ax.patches[0].get_facecolor()) == OKABE_ITO[0]
        assert not ax.spines["top"].get_visible()
        assert not ax.spines["right"].get_visible()


def test_save_does_not_change_rcparams(two_groups, tmp_path):
    fig = bars(two_groups, group="country")
    before = mpl.rcParams.copy()
    charts.save(fig, "c", tmp_path)
    assert dict(mpl.rcParams.copy()) == dict(before)


def test_style_file_is_the_report_style():
    style = mpl.rc_params_from_file(charts.STYLE_PATH, use_default_template=False)
    assert [c.upper() if c.startswith("#") else "#" + c.upper()
            for c in style["axes.prop_cycle"].by_key()["color"]] == OKABE_ITO
    assert list(style["figure.figsize"]) == [8, 4.5]
    assert style["font.sans-serif"][0] == "DejaVu Sans"
    assert style["axes.spines.top"] is False and style["axes.spines.right"] is False
    assert style["axes.grid"] is True and style["axes.grid.axis"] == "y"
    assert style["svg.hashsalt"]


def test_import_does_not_load_pyplot():
    code = ("import sys, investigate.charts; "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------

PROVENANCE = {
    "query": "SELECT month, country, count(*) FROM access GROUP BY ALL",
    "parameters": json.dumps({"from": "2022-01-01", "to": "2022-06-30"}),
    "input_sha256": "0f" * 32,
    "toolkit_version": "0.1.0",
}


def test_save_writes_files_with_metadata(two_groups, tmp_path):
    fig = bars(two_groups, group="country", marker="2022-03-15",
               marker_label="Promise: 15 Mar 2022")
    out = tmp_path / "new" / "dir"
    paths = charts.save(fig, "china", out, data=two_groups, provenance=PROVENANCE)
    assert set(paths) == {"png", "svg", "pdf", "csv"}
    for ext, path in paths.items():
        assert path == out / f"china.{ext}"
        assert path.is_file() and path.stat().st_size > 0

    # PNG: 8 x 4.5 in at 200 dpi, not blank, provenance in text chunks.
    with Image.open(paths["png"]) as im:
        assert im.size == (1600, 900)
        info = dict(im.info)
        pixels = np.asarray(im.convert("RGB"), dtype=float)
    assert pixels.std() > 0
    assert info["Title"] == TITLE
    assert info["Description"] == SUBTITLE
    assert info["Source"] == SOURCE
    for key, value in PROVENANCE.items():
        assert info[key] == value
    # The source line is drawn in the bottom-left of the image (not cropped).
    grey = pixels.mean(axis=2)
    bottom_left = grey[-80:, :400]
    assert bottom_left.min() < 200
    # The title is drawn in the top-left; corners stay white background.
    assert grey[:120, :800].min() < 100
    assert grey[-10:, -10:].min() == 255

    # PDF: title and provenance in the document info.
    pdf = paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/Title (" + TITLE.encode() + b")" in pdf
    assert b"toolkit_version" in pdf
    assert b"CreationDate" not in pdf

    # SVG: title and provenance JSON, no date.
    svg = paths["svg"].read_text(encoding="utf-8")
    assert f"<dc:title>{TITLE}</dc:title>" in svg
    assert "input_sha256" in svg and "<dc:date>" not in svg

    # CSV: the data behind the chart round-trips.
    back = pd.read_csv(paths["csv"], parse_dates=["period"])
    pd.testing.assert_frame_equal(back, two_groups, check_dtype=False)
    assert paths["csv"].read_text(encoding="utf-8").splitlines()[1].startswith(
        "2022-01-01,")


def test_save_is_byte_reproducible(two_groups, tmp_path):
    fig = bars(two_groups, group="country", marker="2022-03-15",
               marker_label="Promise")
    a = charts.save(fig, "c", tmp_path / "a", provenance=PROVENANCE)
    b = charts.save(fig, "c", tmp_path / "b", provenance=PROVENANCE)
    fig2 = bars(two_groups, group="country", marker="2022-03-15",
                marker_label="Promise")
    c = charts.save(fig2, "c", tmp_path / "c", provenance=PROVENANCE)
    for ext in ("png", "svg", "pdf"):
        assert a[ext].read_bytes() == b[ext].read_bytes(), ext
        assert a[ext].read_bytes() == c[ext].read_bytes(), ext


def test_save_only_requested_formats_and_no_csv_without_data(two_groups, tmp_path):
    fig = bars(two_groups, group="country")
    paths = charts.save(fig, "only", tmp_path, formats=("svg",))
    assert set(paths) == {"svg"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.svg"]


def test_save_non_ascii_text_and_csv(tmp_path):
    df = pd.DataFrame({"period": ["2022-01-01", "2022-02-01"],
                       "site": ["Zürich", "Zürich"], "accesses": [1, 2]})
    fig = charts.monthly_bars(df, group="site", title="Zugriffe – mehr in Zürich",
                              source="Quelle: Protokollexport")
    paths = charts.save(fig, "zh", tmp_path, data=df,
                        provenance={"note": "Zürich → EU"})
    with Image.open(paths["png"]) as im:
        assert im.info["Title"] == "Zugriffe – mehr in Zürich"
        assert im.info["note"] == "Zürich → EU"
    assert "Zürich" in paths["csv"].read_text(encoding="utf-8")
    assert "Zugriffe – mehr in Zürich" in paths["svg"].read_text(encoding="utf-8")


def test_save_rejects_bad_arguments(two_groups, tmp_path):
    fig = bars(two_groups, group="country")
    with pytest.raises(ValueError, match="reserved"):
        charts.save(fig, "x", tmp_path, provenance={"Title": "x"})
    with pytest.raises(TypeError, match="str to str"):
        charts.save(fig, "x", tmp_path, provenance={"n": 3})
    with pytest.raises(ValueError, match="file stem"):
        charts.save(fig, "../x", tmp_path)
    with pytest.raises(ValueError, match="formats"):
        charts.save(fig, "x", tmp_path, formats=("jpg",))


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

def test_missing_column_names_missing_and_present(two_groups):
    with pytest.raises(ValueError) as err:
        bars(two_groups, value="count", group="country")
    message = str(err.value)
    assert "'count'" in message
    for present in ("period", "country", "accesses"):
        assert repr(present) in message


def test_missing_column_share(shares):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['ratio'\].*'share'"):
        charts.share_over_time(shares, share="ratio", title="t", source=SOURCE)


@pytest.mark.parametrize("kwargs, match", [
    ({"marker": "2023-01-01", "marker_label": "x"}, "outside the charted range"),
    ({"marker_label": "x"}, "marker_label given without marker"),
    ({"source": ""}, "source must be a non-empty string"),
    ({"title": None}, "title must be a non-empty string"),
])
def test_bad_arguments(two_groups, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bars(two_groups, group="country", **kwargs)


def test_duplicate_rows_rejected(two_groups):
    with pytest.raises(ValueError, match="more than one row per month and 'country'"):
        bars(pd.concat([two_groups, two_groups.head(1)]), group="country")


def test_non_numeric_values_rejected(two_groups):
    with pytest.raises(ValueError, match="'accesses' must be numeric"):
        bars(two_groups.assign(accesses="many"), group="country")


def test_empty_frame_rejected(two_groups):
    with pytest.raises(ValueError, match="no rows"):
        bars(two_groups.iloc[0:0], group="country")


def test_too_many_groups_rejected():
    df = pd.DataFrame({"period": ["2022-01-01"] * 9,
                       "g": [f"g{i}" for i in range(9)], "accesses": range(9)})
    with pytest.raises(ValueError, match="9 groups"):
        charts.monthly_bars(df, group="g", title="t", source=SOURCE)


def test_legend_reads_left_to_right_in_descending_order():
    names = ["China (mainland)", "United States of America", "India",
             "Philippines", "Russian Federation", "Other non-EU countries"]
    df = pd.DataFrame([{"period": m, "country": n, "accesses": 1000 * (6 - i)}
                       for m in MONTHS for i, n in enumerate(names)])
    fig = charts.monthly_bars(df, group="country", title="t", source=SOURCE)
    ax = fig.axes[0]
    renderer = rendered_bboxes(fig)
    texts = ax.get_legend().get_texts()
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in texts}
    reading = sorted(boxes, key=lambda k: (-round(boxes[k].y0), boxes[k].x0))
    assert reading == names
    assert len({round(b.y0) for b in boxes.values()}) > 1  # wrapped to rows
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x1 <= fig.bbox.x1
    assert legend.y0 >= ax.get_window_extent(renderer).y1


def test_y_axis_ends_on_a_labelled_gridline(two_groups):
    fig = bars(two_groups, group="country")
    ax = fig.axes[0]
    top = ax.get_ylim()[1]
    assert top == 2500  # tallest stack 2,350 -> next tick (step 500)
    assert ax.spines["left"].get_bounds() == (0, 2500)
