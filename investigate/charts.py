"""Report charts: query results in, publication-ready figures out.

Every chart function takes a :class:`pandas.DataFrame` (typically a DuckDB
query result), validates it, and returns a :class:`matplotlib.figure.Figure`
drawn in the single report style (``report.mplstyle`` next to this module).
:func:`save` writes the figure as PNG, SVG and PDF with provenance metadata,
plus the data behind the chart as CSV, reproducibly (same input, same bytes).

Design rules
------------
* No global pyplot state: figures are built with ``Figure(...)``; pyplot is
  never imported, so nothing here opens windows or selects a backend.
* The style is applied with ``matplotlib.style.context`` around drawing and
  saving, starting from matplotlib's defaults, so the output does not depend
  on the user's ``rcParams`` and calling a function never changes them.
* This module imports nothing else from ``investigate``.

Example
-------
>>> import pandas as pd
>>> from investigate import charts
>>> df = pd.DataFrame({"period": ["2022-01-01", "2022-02-01"],
...                    "accesses": [1200, 1530]})
>>> fig = charts.monthly_bars(df, title="Accesses rose in February",
...                           source="Source: vendor access log export")
>>> paths = charts.save(fig, "accesses", "out", data=df)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.style
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine

__all__ = ["STYLE_PATH", "monthly_bars", "share_over_time", "save",
           "flow_matrix", "actor_timeline", "coverage_chart", "format_bytes"]

# Public charts implemented in chart_views.py (which imports the helpers
# below): resolved on first use by __getattr__ at the end of this module.
_VIEWS = ("flow_matrix", "actor_timeline", "coverage_chart", "format_bytes")

#: Path of the one report style file.
STYLE_PATH = Path(__file__).with_name("report.mplstyle")

# Figure furniture (sizes in points, distances in inches).
_MARGIN = 0.2  # outer margin on every side
_TITLE_SIZE = 13
_SUBTITLE_SIZE = 10
_SOURCE_SIZE = 8
_MARKER_LABEL_SIZE = 9
_LINESPACING = 1.2
_TITLE_COLOR = "#222222"
_SUBTITLE_COLOR = "#555555"
_SOURCE_COLOR = "#666666"
_MARKER_COLOR = "#333333"

# gids identify the figure texts (tests, save() metadata, SVG element ids).
GID_TITLE = "investigate-title"
GID_SUBTITLE = "investigate-subtitle"
GID_SOURCE = "investigate-source"
GID_MARKER = "investigate-marker"
GID_MARKER_LABEL = "investigate-marker-label"

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FORMATS = ("png", "svg", "pdf")
_RESERVED_PNG_KEYS = {"Title", "Description", "Source", "Software"}


# --------------------------------------------------------------------------
# style and validation helpers
# --------------------------------------------------------------------------

@contextlib.contextmanager
def _report_style() -> Iterator[None]:
    """Matplotlib defaults + the report style, restored on exit."""
    with matplotlib.style.context(["default", STYLE_PATH]):
        yield


def _palette() -> list[str]:
    return list(mpl.rcParams["axes.prop_cycle"].by_key()["color"])


def _check_frame(df: object, columns: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    present = list(df.columns)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(
            f"missing column(s) {missing!r}; columns present: {present!r}")
    if df.empty:
        raise ValueError("the DataFrame has no rows; nothing to chart")


def _check_text(name: str, value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _month_starts(values: pd.Series, column: str) -> pd.Series:
    """Parse a period column to month-start timestamps (tz dropped)."""
    if isinstance(values.dtype, pd.PeriodDtype):
        ts = values.dt.to_timestamp()
    else:
        try:
            ts = pd.to_datetime(values)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"column {column!r} must hold dates/months: {exc}") from exc
    if ts.isna().any():
        raise ValueError(f"column {column!r} has missing dates")
    if ts.dt.tz is not None:
        # Keep the wall-clock month (a date_trunc('month', ...) result in
        # any zone is midnight on the 1st of that zone).
        ts = ts.dt.tz_localize(None)
    return ts.dt.to_period("M").dt.to_timestamp().rename(column)


def _numeric(values: pd.Series, column: str) -> pd.Series:
    try:
        num = pd.to_numeric(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {column!r} must be numeric: {exc}") from exc
    return num.astype("float64")


def _check_unique(keys: pd.DataFrame, what: str) -> None:
    dup = keys.duplicated(keep=False)
    if dup.any():
        example = keys[dup].head(4).to_dict("records")
        raise ValueError(
            f"more than one row per {what}; aggregate in the query first "
            f"(duplicates, e.g.: {example!r})")


def _parse_marker(marker: object, marker_label: object,
                  lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Timestamp | None:
    if marker is None:
        if marker_label is not None:
            raise ValueError("marker_label given without marker")
        return None
    _check_text("marker_label", marker_label, required=False)
    try:
        ts = pd.Timestamp(marker)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"marker must be a date, got {marker!r}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"marker must be a date, got {marker!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    if not lo <= ts <= hi:
        raise ValueError(
            f"marker {ts.date()} is outside the charted range "
            f"{lo.date()} .. {(hi - pd.Timedelta(days=1)).date()}")
    return ts


# --------------------------------------------------------------------------
# figure furniture: title, subtitle, source line, layout
# --------------------------------------------------------------------------

def _wrap(text: str, prop: FontProperties, max_px: float,
          renderer: RendererAgg) -> str:
    """Greedy word wrap to ``max_px``; keeps the caller's own newlines."""
    def width(s: str) -> float:
        return renderer.get_text_width_height_descent(s, prop, ismath=False)[0]

    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and width(candidate) > max_px:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def _source_line(fig: Figure, text: str, renderer: RendererAgg) -> float:
    """Put the source line bottom-left inside the figure.

    Returns the height (inches, from the bottom edge) it occupies.
    """
    w, _ = fig.get_size_inches()
    prop = FontProperties(size=_SOURCE_SIZE)
    wrapped = _wrap(text, prop, (w - 2 * _MARGIN) * fig.dpi, renderer)
    t = fig.text(_MARGIN, _MARGIN, wrapped, transform=fig.dpi_scale_trans,
                 ha="left", va="bottom", fontproperties=prop,
                 color=_SOURCE_COLOR, linespacing=_LINESPACING, gid=GID_SOURCE)
    return _MARGIN + t.get_window_extent(renderer).height / fig.dpi


def _report_figure(title: str, subtitle: str | None,
                   source: str) -> tuple[Figure, mpl.axes.Axes]:
    """A styled Figure with title, subtitle and source, and one Axes.

    The texts are placed at fixed distances (inches) from the figure edges;
    constrained layout fits the axes, tick labels and legend into the band
    between them, so nothing overlaps and nothing is cropped.  Must be
    called inside ``_report_style()``.
    """
    fig = Figure()  # figsize/dpi from the style
    w, h = fig.get_size_inches()
    renderer = RendererAgg(int(w * fig.dpi), int(h * fig.dpi), fig.dpi)
    max_px = (w - 2 * _MARGIN) * fig.dpi

    top = h - _MARGIN  # inches from bottom, moving down
    title_prop = FontProperties(size=_TITLE_SIZE, weight="bold")
    t = fig.text(_MARGIN, top, _wrap(title, title_prop, max_px, renderer),
                 transform=fig.dpi_scale_trans, ha="left", va="top",
                 fontproperties=title_prop, color=_TITLE_COLOR,
                 linespacing=_LINESPACING, gid=GID_TITLE)
    top -= t.get_window_extent(renderer).height / fig.dpi
    if subtitle is not None:
        top -= 0.06
        sub_prop = FontProperties(size=_SUBTITLE_SIZE)
        t = fig.text(_MARGIN, top, _wrap(subtitle, sub_prop, max_px, renderer),
                     transform=fig.dpi_scale_trans, ha="left", va="top",
                     fontproperties=sub_prop, color=_SUBTITLE_COLOR,
                     linespacing=_LINESPACING, gid=GID_SUBTITLE)
        top -= t.get_window_extent(renderer).height / fig.dpi
    top -= 0.12

    bottom = _source_line(fig, source, renderer) + 0.08
    if top - bottom < 1.5:
        raise ValueError("title, subtitle and source leave too little room "
                         "for the chart; shorten them")
    fig.set_layout_engine(ConstrainedLayoutEngine(
        rect=(0, bottom / h, 1, (top - bottom) / h),
        w_pad=_MARGIN, h_pad=0.02, wspace=0, hspace=0))
    ax = fig.add_subplot()
    return fig, ax


def _finish(fig: Figure) -> Figure:
    """Lay the figure out once, inside the style, and freeze the layout.

    Drawing here creates the ticks with the report style.  Freezing the
    layout (the constrained-layout result is kept, the engine removed)
    makes every later save use exactly the same geometry, whatever the
    output dpi, so repeated saves are byte-identical.
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    for ax in fig.axes:
        # A gridline on the top edge of the axes would be clipped to half
        # its width; ticks exist now (drawn above) and never move again.
        for tick in ax.yaxis.get_major_ticks():
            tick.gridline.set_clip_on(False)
    return fig


# --------------------------------------------------------------------------
# axes helpers
# --------------------------------------------------------------------------

class _ThousandsFormatter(mticker.Formatter):
    """``12,345``; decimals only when the tick step needs them."""

    def __init__(self) -> None:
        self._decimals = 0

    def set_locs(self, locs):  # noqa: D401 - matplotlib API
        super().set_locs(locs)
        steps = np.diff(np.sort(np.asarray(locs, dtype=float)))
        steps = steps[steps > 0]
        step = steps.min() if steps.size else 1.0
        self._decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0

    def __call__(self, x, pos=None):
        s = f"{x:,.{self._decimals}f}"
        return "0" if re.fullmatch(r"-?0(\.0*)?", s) else s


def _month_slots(first: pd.Timestamp, last: pd.Timestamp):
    """Continuous monthly slots: starts, and left/right/centre as numbers."""
    starts = pd.date_range(first, last, freq="MS")
    left = mdates.date2num(starts.to_pydatetime())
    right = mdates.date2num((starts + pd.offsets.MonthBegin(1)).to_pydatetime())
    return starts, left, right, (left + right) / 2


def _month_axis(ax, starts: pd.DatetimeIndex, centres: np.ndarray,
                left: float, right: float) -> None:
    """Month ticks under slot centres; every k-th month labelled."""
    n = len(starts)
    step = next(k for k in (1, 2, 3, 6, 12, 24, 60, 120)
                if math.ceil(n / k) <= 12)
    pos, labels = [], []
    for s, c in zip(starts, centres):
        if step < 12:
            if (s.month - 1) % step:
                continue
            label = _MONTH_ABBR[s.month - 1]
            if not labels or s.month == 1:
                label += f"\n{s.year}"
        else:
            if s.month != 1 or s.year % (step // 12):
                continue
            label = str(s.year)
        pos.append(c)
        labels.append(label)
    if not pos:  # e.g. a short range not aligned to the step
        pos, labels = [centres[0]], [f"{_MONTH_ABBR[starts[0].month - 1]}\n{starts[0].year}"]
    ax.set_xticks(pos, labels)
    if step > 1:
        ax.set_xticks(centres, minor=True)
    ax.set_xlim(left, right)


def _draw_marker(ax, when: pd.Timestamp, label: str | None) -> None:
    x = mdates.date2num(when.to_pydatetime())
    ax.axvline(x, color=_MARKER_COLOR, linestyle="--", linewidth=1.2,
               zorder=3, gid=GID_MARKER)
    if label is None:
        return
    x0, x1 = ax.get_xlim()
    on_right = (x - x0) / (x1 - x0) > 0.6  # keep the label inside the axes
    ax.annotate(label, xy=(x, 1), xycoords=ax.get_xaxis_transform(),
                xytext=(-5 if on_right else 5, -2),
                textcoords="offset points",
                ha="right" if on_right else "left", va="top",
                fontsize=_MARKER_LABEL_SIZE, color=_MARKER_COLOR,
                annotation_clip=False, in_layout=False, gid=GID_MARKER_LABEL)


def _legend_columns(labels: Sequence[str], ax) -> int:
    """As many legend columns as fit in the axes width (roughly)."""
    fig = ax.figure
    w = fig.get_size_inches()[0] - 2 * _MARGIN
    prop = FontProperties(size=mpl.rcParams["legend.fontsize"])
    renderer = RendererAgg(10, 10, 72)
    widths = [renderer.get_text_width_height_descent(s, prop, False)[0] / 72
              for s in labels]
    em = prop.get_size_in_points() / 72
    cell = max(widths) + 2.8 * em  # handle + pad + column spacing
    return max(1, min(len(labels), int(w // cell)))


# --------------------------------------------------------------------------
# public charts
# --------------------------------------------------------------------------

def _legend_above(ax, handles, labels) -> None:
    """A legend above the plot. matplotlib fills legend columns first; the entries are
    reordered so they read left to right, row by row, in the order given."""
    ncols = _legend_columns(labels, ax)
    rows = math.ceil(len(labels) / ncols)
    idx = [r * ncols + c for c in range(ncols) for r in range(rows)
           if r * ncols + c < len(labels)]
    ax.legend([handles[i] for i in idx], [labels[i] for i in idx],
              loc="lower left", bbox_to_anchor=(0, 1.02), borderaxespad=0,
              ncols=ncols)


def monthly_bars(df: pd.DataFrame, *, period: str = "period",
                 value: str = "accesses", group: str | None = None,
                 title: str, subtitle: str | None = None, source: str,
                 marker: str | pd.Timestamp | None = None,
                 marker_label: str | None = None,
                 ylabel: str | None = None) -> Figure:
    """Bars per month, optionally stacked by a group column.

    Months between the first and last period that have no rows are kept as
    empty slots (zero-height bars), so a gap in the data stays visible.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per month (and per group when `group` is given).
    period : str
        Column with the month (date, timestamp, ``"2022-06"`` string or
        pandas Period); any day in the month counts as that month.
    value : str
        Numeric column with the bar height (e.g. number of accesses).
        Missing values are drawn as empty.
    group : str, optional
        Column to stack by: one colour per group, largest total at the
        bottom and first in the legend (above the plot). At most 8 groups
        (the size of the colour-blind-safe palette).
    title : str
        The finding, e.g. "Accesses from China kept rising after the promise".
        Wrapped onto more lines when too wide.
    subtitle : str, optional
        Smaller grey line under the title (what is measured, units).
    source : str
        Source line under the chart, shown exactly as given, e.g.
        ``"Source: vendor access log export, 2021-2023"``.
    marker : str or pandas.Timestamp, optional
        Date of an event, drawn as a dashed vertical line at that day.
    marker_label : str, optional
        Text next to the marker line, e.g. ``"Promise: 17 Jun 2022"``.
    ylabel : str, optional
        Y axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Missing columns (the message lists the columns present), no rows,
        non-numeric values, duplicate month/group rows, more than 8 groups,
        negative values when stacking, or a marker outside the range.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "period": ["2022-05-01", "2022-06-01", "2022-06-01", "2022-08-01"],
    ...     "country": ["CN", "CN", "US", "CN"],
    ...     "accesses": [1200, 1530, 300, 1710]})
    >>> fig = monthly_bars(df, group="country",
    ...                    title="Accesses from China kept rising",
    ...                    subtitle="Accesses to EU customer records per month",
    ...                    source="Source: vendor access log export",
    ...                    marker="2022-06-17", marker_label="Promise: 17 Jun 2022")
    >>> len(fig.axes[0].patches)  # 4 months (July empty) x 2 groups
    8
    """
    columns = [period, value] + ([group] if group is not None else [])
    _check_frame(df, columns)
    title = _check_text("title", title, required=True)
    subtitle = _check_text("subtitle", subtitle, required=False)
    source = _check_text("source", source, required=True)
    ylabel = _check_text("ylabel", ylabel, required=False)

    months = _month_starts(df[period], period).reset_index(drop=True)
    values = _numeric(df[value], value).reset_index(drop=True)
    if group is None:
        keys = pd.DataFrame({period: months})
        _check_unique(keys, "month")
        table = pd.DataFrame({value: values.to_numpy()}, index=months)
    else:
        groups = (df[group].astype("string").fillna("(missing)")
                  .reset_index(drop=True))
        keys = pd.DataFrame({period: months, group: groups})
        _check_unique(keys, f"month and {group!r}")
        table = (pd.DataFrame({"m": months, "g": groups, "v": values})
                 .pivot(index="m", columns="g", values="v"))
        if (table.fillna(0) < 0).to_numpy().any():
            raise ValueError(f"column {value!r} has negative values; "
                             "stacked bars need values >= 0")

    starts, left, right, centres = _month_slots(table.index.min(),
                                                table.index.max())
    table = table.reindex(starts)
    totals = table.sum()
    order = sorted(table.columns, key=lambda c: (-totals[c], str(c)))
    table = table[order].fillna(0.0)
    when = _parse_marker(marker, marker_label, starts[0],
                         starts[-1] + pd.offsets.MonthBegin(1))

    with _report_style():
        colours = _palette()
        if len(order) > len(colours):
            raise ValueError(
                f"{len(order)} groups in {group!r} but only {len(colours)} "
                "distinguishable colours; combine small groups in the query")
        fig, ax = _report_figure(title, subtitle, source)
        widths = (right - left) * 0.8
        bottom = np.zeros(len(starts))
        for name, colour in zip(order, colours):
            heights = table[name].to_numpy(dtype=float)
            ax.bar(centres, heights, width=widths, bottom=bottom, color=colour,
                   linewidth=0, label=str(name) if group is not None else None)
            bottom += heights

        _month_axis(ax, starts, centres, left[0], right[-1])
        peak = float(bottom.max())
        integer = bool(np.all(np.equal(np.mod(table.to_numpy(), 1), 0)))
        locator = mticker.MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10],
                                      integer=integer, min_n_ticks=3)
        ax.yaxis.set_major_locator(locator)
        ax.yaxis.set_major_formatter(_ThousandsFormatter())
        # The axis ends at the first tick at or above the tallest bar, so a
        # gridline closes the data; a marker label gets a band above it
        # when the bars come too close to the top.
        top_tick = min(t for t in locator.tick_values(0, peak or 1.0)
                       if t >= (peak or 1.0))
        top = top_tick
        if marker_label is not None and peak > 0.86 * top_tick:
            top = top_tick * 1.14
        ax.set_ylim(0, top)
        ax.spines["left"].set_bounds(0, top_tick)
        if ylabel is not None:
            ax.set_ylabel(ylabel)
        if group is not None:
            _legend_above(ax, list(ax.containers), [str(g) for g in order])
        if when is not None:
            _draw_marker(ax, when, marker_label)
        return _finish(fig)


def share_over_time(df: pd.DataFrame, *, period: str = "period",
                    share: str = "share", title: str,
                    subtitle: str | None = None, source: str,
                    marker: str | pd.Timestamp | None = None,
                    marker_label: str | None = None) -> Figure:
    """A monthly share (0..1) as a line in percent, y axis 0-100 %.

    Months between the first and last period with no row (or a missing
    share) break the line, so a gap in the data stays visible.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per month.
    period : str
        Column with the month (date, timestamp, ``"2022-06"`` string or
        pandas Period).
    share : str
        Numeric column with a fraction between 0 and 1 (not percent).
    title, subtitle, source : str
        As in :func:`monthly_bars`; `source` is shown exactly as given.
    marker : str or pandas.Timestamp, optional
        Date of an event, drawn as a dashed vertical line.
    marker_label : str, optional
        Text next to the marker line.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Missing columns, no rows, duplicate months, shares outside 0..1
        (e.g. percentages), or a marker outside the range.

    Examples
    --------
    >>> df = pd.DataFrame({"period": ["2022-01-01", "2022-02-01", "2022-03-01"],
    ...                    "share": [0.12, 0.18, 0.31]})
    >>> fig = share_over_time(df, title="A third of accesses came from abroad",
    ...                       source="Source: vendor access log export")
    >>> [float(y) for y in fig.axes[0].get_ylim()]
    [0.0, 1.0]
    """
    _check_frame(df, [period, share])
    title = _check_text("title", title, required=True)
    subtitle = _check_text("subtitle", subtitle, required=False)
    source = _check_text("source", source, required=True)

    months = _month_starts(df[period], period).reset_index(drop=True)
    values = _numeric(df[share], share).reset_index(drop=True)
    _check_unique(pd.DataFrame({period: months}), "month")
    bad = values[(values < 0) | (values > 1)]
    if not bad.empty:
        raise ValueError(
            f"column {share!r} must be a fraction between 0 and 1; found "
            f"{bad.head(3).tolist()!r} (percentages? divide by 100)")
    series = pd.Series(values.to_numpy(), index=months)
    starts, left, right, centres = _month_slots(series.index.min(),
                                                series.index.max())
    series = series.reindex(starts)
    when = _parse_marker(marker, marker_label, starts[0],
                         starts[-1] + pd.offsets.MonthBegin(1))

    with _report_style():
        fig, ax = _report_figure(title, subtitle, source)
        ax.plot(centres, series.to_numpy(dtype=float), marker="o",
                color=_palette()[0], clip_on=False, zorder=4)
        _month_axis(ax, starts, centres, left[0], right[-1])
        ax.yaxis.set_major_locator(mticker.FixedLocator([0, .25, .5, .75, 1]))
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(xmax=1, decimals=0))
        # Headroom above 100 % for the marker label only; the axis line
        # itself stops at 100 %.
        ax.set_ylim(0, 1.12 if marker_label is not None else 1.0)
        ax.spines["left"].set_bounds(0, 1)
        if when is not None:
            _draw_marker(ax, when, marker_label)
        return _finish(fig)


# --------------------------------------------------------------------------
# saving
# --------------------------------------------------------------------------

def _figure_text(fig: Figure, gid: str) -> str | None:
    for t in fig.texts:
        if t.get_gid() == gid:
            return " ".join(t.get_text().split())  # undo wrapping
    return None


def _chart_title(fig: Figure) -> str | None:
    title = _figure_text(fig, GID_TITLE)
    if title is None and fig.get_suptitle():
        title = fig.get_suptitle()
    if title is None:
        title = next((a.get_title(loc) for a in fig.axes
                      for loc in ("left", "center", "right")
                      if a.get_title(loc)), None)
    return title


def _csv_ready(data: pd.DataFrame) -> pd.DataFrame:
    """Dates as ISO 8601 strings (date only when all are midnight)."""
    out = data.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            naive = s.dt.tz_localize(None) if s.dt.tz is not None else s
            if s.dt.tz is None and (naive.dropna() == naive.dropna().dt.normalize()).all():
                out[col] = s.dt.strftime("%Y-%m-%d")
            else:
                out[col] = s.map(lambda v: v.isoformat() if pd.notna(v) else None)
        elif isinstance(s.dtype, pd.PeriodDtype):
            out[col] = s.astype("string")
    return out


def save(fig: Figure, name: str, out: str | Path, *,
         data: pd.DataFrame | None = None,
         provenance: Mapping[str, str] | None = None,
         formats: Sequence[str] = _FORMATS,
         dpi: int = 200) -> dict[str, Path]:
    """Write a chart as PNG/SVG/PDF (and its data as CSV), reproducibly.

    Files are ``out/name.<ext>``. The figure keeps its size (8 x 4.5 in,
    1600 x 900 px at 200 dpi); nothing is cropped. Saving the same figure,
    or a figure built from the same data, gives byte-identical files.

    Metadata written into every file: the chart title, subtitle, source line
    and `provenance`:

    * PNG: text chunks ``Title``, ``Description`` (subtitle), ``Source``,
      ``Software`` and one chunk per provenance key; no timestamp.
    * PDF: ``Title``, ``Subject`` (subtitle and source), ``Keywords``
      (provenance as JSON), ``Creator``; no creation date.
    * SVG: ``Title``, ``Description``, ``Source``, ``Keywords``
      (provenance as JSON), no date; element ids from a fixed salt.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure from this module (any Figure works; metadata is then
        taken from its suptitle/axes title).
    name : str
        File stem, without extension or directories.
    out : str or pathlib.Path
        Output directory; created if missing.
    data : pandas.DataFrame, optional
        The data behind the chart, written to ``name.csv`` (UTF-8, no
        index, ISO 8601 dates, ``\\n`` line endings).
    provenance : mapping of str to str, optional
        E.g. ``{"query": sql, "parameters": json.dumps(params),
        "input_sha256": digest, "toolkit_version": "0.1.0"}``. Keys must be
        1-79 Latin-1 characters (PNG rule) and must not be one of Title,
        Description, Source, Software.
    formats : sequence of str
        Any of ``"png"``, ``"svg"``, ``"pdf"``.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    dict of str to pathlib.Path
        Paths by extension, including ``"csv"`` when `data` is given.

    Examples
    --------
    >>> paths = save(fig, "china-accesses", "report/figures", data=df,
    ...              provenance={"query": "SELECT ...",
    ...                          "toolkit_version": "0.1.0"})  # doctest: +SKIP
    >>> sorted(paths)  # doctest: +SKIP
    ['csv', 'pdf', 'png', 'svg']
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    if (not isinstance(name, str) or not name or name in {".", ".."}
            or re.search(r"[\\/\x00]", name)):
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be among {_FORMATS}, got {tuple(formats)!r}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    provenance = dict(provenance or {})
    for key, val in provenance.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise TypeError(f"provenance must map str to str; got {key!r}: "
                            f"{type(val).__name__}")
        if key in _RESERVED_PNG_KEYS:
            raise ValueError(f"provenance key {key!r} is reserved")
        if not (1 <= len(key) <= 79) or key != key.strip() or not all(
                32 <= ord(ch) <= 255 and ord(ch) != 127 for ch in key):
            raise ValueError(f"provenance key {key!r} must be 1-79 printable "
                             "Latin-1 characters without surrounding spaces")

    title = _chart_title(fig)
    subtitle = _figure_text(fig, GID_SUBTITLE)
    source = _figure_text(fig, GID_SOURCE)
    prov_json = json.dumps(provenance, sort_keys=True, ensure_ascii=False)
    creator = f"investigate.charts (Matplotlib {mpl.__version__})"

    meta: dict[str, dict] = {}
    png = {"Title": title, "Description": subtitle, "Source": source,
           "Software": creator}
    png = {k: v for k, v in png.items() if v is not None}
    png.update(provenance)
    meta["png"] = png
    subject = " - ".join(s for s in (subtitle, source) if s)
    meta["pdf"] = {"Title": title or "", "Subject": subject or None,
                   "Keywords": prov_json if provenance else None,
                   "Creator": creator, "CreationDate": None}
    meta["svg"] = {"Title": title, "Description": subtitle, "Source": source,
                   "Keywords": prov_json if provenance else None,
                   "Creator": creator, "Date": None}
    meta["svg"] = {k: v for k, v in meta["svg"].items()
                   if v is not None or k == "Date"}

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    with _report_style():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi, metadata=meta[fmt],
                        bbox_inches=None, facecolor="white",
                        transparent=False)
            paths[fmt] = path
    if data is not None:
        path = out / f"{name}.csv"
        _csv_ready(data).to_csv(path, index=False, encoding="utf-8",
                                lineterminator="\n")
        paths["csv"] = path
    return paths


# --------------------------------------------------------------------------
# charts in chart_views.py
# --------------------------------------------------------------------------

def __getattr__(name: str):
    # chart_views imports this module's helpers, so it is loaded lazily
    # (PEP 562): either module can be imported first, without a cycle.
    if name in _VIEWS:
        from . import chart_views

        return getattr(chart_views, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_VIEWS))
