"""More report charts: flow matrix, actor timeline, log coverage.

The functions here are part of :mod:`investigate.charts` and are meant to be
called from there (``investigate.charts.flow_matrix(...)``); they live in
their own module only to keep ``charts.py`` readable.  They reuse the style,
the figure furniture (title, subtitle, source line), the validation and the
freezing of the layout from :mod:`investigate.charts`, so they look and fail
like :func:`investigate.charts.monthly_bars`, and :func:`investigate.charts.save`
writes them reproducibly.

``charts`` loads this module lazily (on first use of one of these names),
so importing either module first works and there is no import cycle.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from .charts import (_ThousandsFormatter, _check_frame, _check_text,
                     _draw_marker, _finish, _legend_above, _numeric,
                     _palette, _parse_marker, _report_figure, _report_style)

__all__ = ["flow_matrix", "actor_timeline", "coverage_chart", "format_bytes"]

#: Label of a NULL country / actor: shown, never dropped.
UNKNOWN = "unknown"
#: Label of the countries lumped together by ``flow_matrix(max_countries=)``.
OTHER = "other"

# gids of the artists these charts add (tests, SVG element ids).
GID_DOMESTIC = "investigate-domestic"
GID_CELL_LABEL = "investigate-cell-label"
GID_GAP = "investigate-gap"
GID_GAP_LABEL = "investigate-gap-label"

_UNKNOWN_COLOR = "#999999"
_GAP_COLOR = "#BBBBBB"
_DOMESTIC_EDGE = "#D55E00"  # Okabe-Ito vermillion: not in the colormap
_CMAP = "cividis_r"  # sequential, designed for colour-vision deficiency
_SI = ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def format_bytes(n: float) -> str:
    """A byte count for people: ``12.7 GB``, ``950 MB``, ``0 B`` (SI units).

    Three significant digits; 1 kB = 1,000 bytes (the units storage and
    network vendors bill in).

    >>> format_bytes(12_700_000_000), format_bytes(999), format_bytes(1e12)
    ('12.7 GB', '999 B', '1 TB')
    """
    n = float(n)
    if not math.isfinite(n):
        return "n/a"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for size, unit in _SI:  # the largest unit that shows at least "1"
        x = float(f"{n / size:.3g}")
        if x >= 1:
            text = f"{x:.3g}" if x < 1000 else f"{x:,.0f}"
            return f"{sign}{text} {unit}"
    return f"{sign}{n:.0f} B"


def _labels(values: pd.Series) -> pd.Series:
    """Strings, with NULL as the explicit ``unknown`` label."""
    return values.astype("string").fillna(UNKNOWN).reset_index(drop=True)


def _utc_naive(values: pd.Series, column: str) -> pd.Series:
    """Parse to timestamps in UTC wall-clock time, without the zone."""
    try:
        ts = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {column!r} must hold dates/times: {exc}") from exc
    if ts.isna().any():
        raise ValueError(f"column {column!r} has missing dates")
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).reset_index(drop=True)


def _text_colour(rgba) -> str:
    """Dark or white text, whichever reads better on `rgba`."""
    r, g, b = (c if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
               for c in mcolors.to_rgb(rgba))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#222222" if luminance > 0.22 else "white"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _add_note(subtitle: str | None, note: str) -> str:
    return note if subtitle is None else f"{subtitle}\n{note}"


# --------------------------------------------------------------------------
# flow_matrix
# --------------------------------------------------------------------------

def flow_matrix(df: pd.DataFrame, *, src: str = "src_country",
                dst: str = "dst_country", value: str = "bytes", title: str,
                subtitle: str | None = None, source: str,
                max_countries: int = 12) -> Figure:
    """Country-to-country heatmap of the total bytes transferred.

    Rows are source countries, columns destination countries, both in one
    order: by total volume (sent plus received), largest first, with
    ``unknown`` (a NULL country: an end in no known network) and ``other``
    last.  Every cell with transfers shows its total (e.g. ``12.7 GB``);
    a cell without transfers stays blank.  Domestic cells (same country
    on both ends) are outlined.  Nothing is dropped: the cells add up to
    the sum of `value`.

    Parameters
    ----------
    df : pandas.DataFrame
        E.g. the ``transfer_routes`` query result; rows are summed over all
        other columns (periods, organisations).
    src, dst : str
        Columns with the source and destination country; NULL is shown as
        ``unknown``.
    value : str
        Numeric column with bytes (>= 0).  NULLs count as nothing; a cell
        whose rows all have NULL bytes is labelled ``n/a``.
    title, subtitle, source : str
        As in :func:`investigate.charts.monthly_bars`.
    max_countries : int
        At most this many named countries per axis; the smaller ones are
        summed into an ``other`` row/column (never outlined as domestic),
        and a note says how many.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Missing columns, no rows, non-numeric or negative values.

    Examples
    --------
    >>> df = pd.DataFrame({"src_country": ["US", "US", None],
    ...                    "dst_country": ["US", "SG", "SG"],
    ...                    "bytes": [4.8e12, 4.7e11, 2e9]})
    >>> fig = flow_matrix(df, title="Most data stayed in the US",
    ...                   source="Source: VPC flow logs")
    >>> fig.axes[0].collections[0].get_array().shape   # rows x columns
    (2, 2)
    """
    _check_frame(df, [src, dst, value])
    title = _check_text("title", title, required=True)
    subtitle = _check_text("subtitle", subtitle, required=False)
    source = _check_text("source", source, required=True)
    if (not isinstance(max_countries, int) or isinstance(max_countries, bool)
            or max_countries < 1):
        raise ValueError(f"max_countries must be a positive integer, "
                         f"got {max_countries!r}")

    values = _numeric(df[value], value).reset_index(drop=True)
    if (values < 0).any():
        raise ValueError(f"column {value!r} has negative values; "
                         "bytes must be >= 0")
    flows = pd.DataFrame({"s": _labels(df[src]), "d": _labels(df[dst]),
                          "v": values})

    # One order for both axes: total volume sent + received.
    volume = (flows.groupby("s")["v"].sum()
              .add(flows.groupby("d")["v"].sum(), fill_value=0))
    named = sorted((c for c in volume.index if c != UNKNOWN),
                   key=lambda c: (-volume[c], c))
    note = None
    if len(named) > max_countries:
        lumped = named[max_countries:]
        named = named[:max_countries]
        flows[["s", "d"]] = flows[["s", "d"]].where(
            ~flows[["s", "d"]].isin(lumped), OTHER)
        note = (f"{len(lumped)} smaller "
                f"{'country' if len(lumped) == 1 else 'countries'} summed as "
                f"\u201c{OTHER}\u201d")
    order = named + [c for c in (OTHER, UNKNOWN)
                     if c in set(flows["s"]) | set(flows["d"])]
    rows = [c for c in order if c in set(flows["s"])]
    cols = [c for c in order if c in set(flows["d"])]
    table = (flows.groupby(["s", "d"])["v"].sum(min_count=1)
             .unstack("d").reindex(index=rows, columns=cols))
    present = (flows.groupby(["s", "d"]).size().unstack("d")
               .reindex(index=rows, columns=cols).notna())
    grid = table.to_numpy(dtype=float)
    data = np.ma.masked_invalid(grid)

    positive = grid[np.isfinite(grid) & (grid > 0)]
    vmax = float(positive.max()) if positive.size else 1.0
    vmin = float(positive.min()) if positive.size else 1.0
    log = vmax / vmin >= 100

    if note is not None:
        subtitle = _add_note(subtitle, note)
    with _report_style():
        fig, ax = _report_figure(title, subtitle, source)
        cmap = mpl.colormaps[_CMAP].with_extremes(bad="white",
                                                  under=mpl.colormaps[_CMAP](0.0))
        if log:
            norm = mcolors.LogNorm(vmin=10 ** math.floor(math.log10(vmin)),
                                   vmax=vmax)
        else:
            norm = mcolors.Normalize(vmin=0, vmax=vmax)
        mesh = ax.pcolormesh(np.arange(len(cols) + 1), np.arange(len(rows) + 1),
                             data, cmap=cmap, norm=norm, edgecolors="white",
                             linewidth=1.5)
        ax.set_xlim(0, len(cols))
        ax.set_ylim(len(rows), 0)  # first row at the top
        ax.set_xticks(np.arange(len(cols)) + 0.5, cols)
        ax.set_yticks(np.arange(len(rows)) + 0.5, rows)
        ax.xaxis.tick_top()
        ax.xaxis.set_label_position("top")
        ax.tick_params(length=0)
        ax.set_xlabel("To (destination country)")
        ax.set_ylabel("From (source country)")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)

        height_pt = 2.6 * 72 / max(len(rows), 1)
        width_pt = 5.5 * 72 / max(len(cols), 1)
        size = max(5.0, min(9.0, height_pt * 0.45, width_pt / 4.2))
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if not present.iat[i, j]:
                    continue
                v = grid[i, j]
                if np.isfinite(v):
                    label, colour = format_bytes(v), _text_colour(cmap(norm(v)))
                else:
                    label, colour = "n/a", "#555555"
                ax.text(j + 0.5, i + 0.5, label, ha="center", va="center",
                        fontsize=size, color=colour, gid=GID_CELL_LABEL)
                if r == c and r not in (UNKNOWN, OTHER):
                    ax.add_patch(Rectangle((j + 0.03, i + 0.03), 0.94, 0.94,
                                           fill=False, edgecolor=_DOMESTIC_EDGE,
                                           linewidth=2.2, gid=GID_DOMESTIC,
                                           zorder=3))

        unit_size, unit = next(((s, u) for s, u in _SI if vmax >= s), (1, "B"))
        bar = fig.colorbar(mesh, ax=ax, pad=0.02, fraction=0.05, aspect=25,
                           extend="neither")
        bar.outline.set_visible(False)
        if log:
            bar.ax.yaxis.set_major_locator(mticker.LogLocator(base=10))
            bar.ax.yaxis.set_minor_locator(mticker.NullLocator())
            bar.ax.yaxis.set_major_formatter(
                mticker.FuncFormatter(lambda x, _: format_bytes(x)))
            bar.set_label("Total transferred (bytes, log scale)")
        else:
            bar.ax.yaxis.set_major_locator(mticker.MaxNLocator(nbins=5))
            bar.ax.yaxis.set_major_formatter(mticker.FuncFormatter(
                lambda x, _: f"{x / unit_size:,.3g}"))
            bar.set_label(f"Total transferred ({unit})")
        bar.ax.tick_params(length=0)
        if any(r == c and r not in (UNKNOWN, OTHER)
               for r in rows for c in cols):
            ax.legend([Patch(facecolor="none", edgecolor=_DOMESTIC_EDGE,
                             linewidth=2.2)], ["Domestic (same country)"],
                      loc="upper left", bbox_to_anchor=(0, -0.02),
                      borderaxespad=0, handlelength=1.2)
        return _finish(fig)


# --------------------------------------------------------------------------
# actor_timeline
# --------------------------------------------------------------------------

def actor_timeline(df: pd.DataFrame, *, ts: str = "ts", actor: str = "actor_id",
                   country: str = "access_country", title: str,
                   subtitle: str | None = None, source: str,
                   max_actors: int = 20,
                   marker: str | pd.Timestamp | None = None,
                   marker_label: str | None = None) -> Figure:
    """Each event as a tick on its actor's row, coloured by country.

    Rows are actors, the one with the earliest event at the top.  When
    there are more than `max_actors`, the busiest (most events) are shown
    and the others are counted in the subtitle.  Times are shown in UTC.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per event, e.g. the ``cross_border_access`` query result.
    ts : str
        Column with the event time (timestamps; with a zone, shown in UTC).
    actor : str
        Column with the actor (e.g. ``actor_id`` or ``roster_actor_id``);
        NULL is shown as ``unknown``.
    country : str
        Column with the country to colour by; NULL is ``unknown`` (grey).
        At most 8 named countries (the colour-blind-safe palette).
    title, subtitle, source : str
        As in :func:`investigate.charts.monthly_bars`.
    max_actors : int
        The most rows drawn (default 20).
    marker, marker_label :
        A date drawn as a dashed vertical line, with an optional label
        (e.g. the date of a promise).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Missing columns, no rows, missing or unparsable times, too many
        countries, a marker outside the charted days.
    """
    _check_frame(df, [ts, actor, country])
    title = _check_text("title", title, required=True)
    subtitle = _check_text("subtitle", subtitle, required=False)
    source = _check_text("source", source, required=True)
    if (not isinstance(max_actors, int) or isinstance(max_actors, bool)
            or max_actors < 1):
        raise ValueError(f"max_actors must be a positive integer, got {max_actors!r}")

    events = pd.DataFrame({"t": _utc_naive(df[ts], ts), "a": _labels(df[actor]),
                           "c": _labels(df[country])})
    stats = events.groupby("a")["t"].agg(["size", "min"])
    busiest = sorted(stats.index, key=lambda a: (-stats.at[a, "size"],
                                                 stats.at[a, "min"], a))
    shown = busiest[:max_actors]
    hidden = busiest[max_actors:]
    if hidden:
        n_hidden = int(stats.loc[hidden, "size"].sum())
        subtitle = _add_note(subtitle, f"Not shown: {_plural(len(hidden), 'more actor')} "
                                       f"with {_plural(n_hidden, 'event')}")
    actors = sorted(shown, key=lambda a: (stats.at[a, "min"], a))
    row = {a: i for i, a in enumerate(actors)}
    events = events[events["a"].isin(row)]
    counts = events["c"].value_counts()
    countries = sorted(counts.index, key=lambda c: (c == UNKNOWN, -counts[c], c))

    lo = events["t"].min().normalize()
    hi = events["t"].max().normalize() + pd.Timedelta(days=1)
    when = _parse_marker(marker, marker_label, lo, hi)

    with _report_style():
        palette = _palette()
        named = [c for c in countries if c != UNKNOWN]
        if len(named) > len(palette):
            raise ValueError(
                f"{len(named)} countries in {country!r} but only {len(palette)} "
                "distinguishable colours; filter or group countries in the query")
        colours = dict(zip(named, palette))
        colours[UNKNOWN] = _UNKNOWN_COLOR
        fig, ax = _report_figure(title, subtitle, source)
        n = len(actors)
        row_pt = 2.6 * 72 / n
        handles = []
        for c in countries:
            sel = events[events["c"] == c]
            x = mdates.date2num(sel["t"].dt.to_pydatetime())
            y = sel["a"].map(row).to_numpy(dtype=float)
            line, = ax.plot(x, y, linestyle="none", marker="|",
                            markersize=max(3.0, min(10.0, row_pt * 0.7)),
                            markeredgewidth=1.0, color=colours[c], label=c,
                            zorder=2)
            handles.append(Line2D([], [], linestyle="none", marker="|",
                                  markersize=10, markeredgewidth=2,
                                  color=colours[c]))
        ax.set_yticks(np.arange(n), actors)
        ax.tick_params(axis="y", labelsize=max(6.0, min(9.0, row_pt * 0.7)))
        headroom = 1.2 if marker_label is not None else 0.0
        ax.set_ylim(n - 0.5, -0.5 - headroom)
        ax.spines["left"].set_visible(False)
        ax.set_xlim(mdates.date2num(lo.to_pydatetime()),
                    mdates.date2num(hi.to_pydatetime()))
        locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
            locator, show_offset=False))
        _legend_above(ax, handles, countries)
        if when is not None:
            _draw_marker(ax, when, marker_label)
        return _finish(fig)


# --------------------------------------------------------------------------
# coverage_chart
# --------------------------------------------------------------------------

def _days(values: pd.Series, column: str) -> pd.Series:
    """Parse to midnight timestamps (the UTC day)."""
    try:
        d = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"column {column!r} must hold dates: {exc}") from exc
    if d.isna().any():
        raise ValueError(f"column {column!r} has missing dates")
    if d.dt.tz is not None:
        d = d.dt.tz_convert("UTC").dt.tz_localize(None)
    return d.dt.normalize().reset_index(drop=True)


def coverage_chart(df: pd.DataFrame, *, day: str = "day",
                   table: str = "table_name", events: str = "events",
                   source_format: str | None = None,
                   gaps: pd.DataFrame | None = None,
                   gap_start: str = "gap_start", gap_end: str = "gap_end",
                   title: str, subtitle: str | None = None,
                   source: str) -> Figure:
    """Events per day, one step line per table, with the gaps shaded.

    A day without a row in `df` counts as zero events (the ``coverage``
    query has no row for a silent day).  Each gap (e.g. from the
    ``coverage_gaps`` query) is shaded from the start of `gap_start` to the
    end of `gap_end` (both days inclusive) and labelled with its length in
    days; the chart's date range is widened to show gaps outside the days
    with events.

    Parameters
    ----------
    df : pandas.DataFrame
        E.g. the ``coverage`` query result; rows are summed per day and line.
    day : str
        Column with the (UTC) day.
    table : str
        Column naming the line (one line per table).
    events : str
        Numeric column with the number of events that day.
    source_format : str, optional
        Column to split the lines further (one per table and format,
        labelled ``table / format``).
    gaps : pandas.DataFrame, optional
        Gap rows with `gap_start` and `gap_end` days; may be empty.  When it
        also has the `table` (and `source_format`) column, a gap is tinted
        in the colour of its line, otherwise grey.
    gap_start, gap_end : str
        Column names in `gaps`.
    title, subtitle, source : str
        As in :func:`investigate.charts.monthly_bars`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Missing columns, no rows, non-numeric or negative counts, more
        lines than colours, a gap that ends before it starts.
    """
    columns = [day, table, events] + ([source_format] if source_format else [])
    _check_frame(df, columns)
    title = _check_text("title", title, required=True)
    subtitle = _check_text("subtitle", subtitle, required=False)
    source = _check_text("source", source, required=True)

    days = _days(df[day], day)
    counts = _numeric(df[events], events).reset_index(drop=True)
    if (counts < 0).any():
        raise ValueError(f"column {events!r} has negative values")
    names = _labels(df[table])
    if source_format:
        names = names + " / " + _labels(df[source_format])
    frame = pd.DataFrame({"d": days, "s": names, "v": counts.fillna(0)})

    spans = pd.DataFrame({"start": pd.Series(dtype="datetime64[ns]"),
                          "end": pd.Series(dtype="datetime64[ns]"),
                          "s": pd.Series(dtype="string")})
    if gaps is not None:
        if not isinstance(gaps, pd.DataFrame):
            raise TypeError(f"gaps must be a pandas DataFrame, got {type(gaps).__name__}")
        need = [gap_start, gap_end]
        missing = [c for c in need if c not in gaps.columns]
        if missing:
            raise ValueError(f"gaps: missing column(s) {missing!r}; columns "
                             f"present: {list(gaps.columns)!r}")
        if not gaps.empty:
            gs = _days(gaps[gap_start], gap_start)
            ge = _days(gaps[gap_end], gap_end)
            if (ge < gs).any():
                raise ValueError(f"gaps: {gap_end!r} before {gap_start!r}")
            key = pd.Series([pd.NA] * len(gaps), dtype="string")
            if table in gaps.columns and (not source_format
                                          or source_format in gaps.columns):
                key = _labels(gaps[table])
                if source_format:
                    key = key + " / " + _labels(gaps[source_format])
            spans = (pd.DataFrame({"start": gs, "end": ge, "s": key})
                     .sort_values(["start", "end"], kind="stable")
                     .reset_index(drop=True))

    first = min([frame["d"].min()] + list(spans["start"]))
    last = max([frame["d"].max()] + list(spans["end"]))
    calendar = pd.date_range(first, last, freq="D")
    table_ = (frame.groupby(["d", "s"])["v"].sum().unstack("s")
              .reindex(calendar).fillna(0.0))
    totals = table_.sum()
    order = sorted(table_.columns, key=lambda c: (-totals[c], c))

    with _report_style():
        palette = _palette()
        if len(order) > len(palette):
            raise ValueError(
                f"{len(order)} lines but only {len(palette)} distinguishable "
                "colours; chart fewer tables or formats")
        colours = dict(zip(order, palette))
        fig, ax = _report_figure(title, subtitle, source)
        edges = mdates.date2num(
            pd.date_range(first, last + pd.Timedelta(days=1), freq="D")
            .to_pydatetime())
        for name in order:
            y = table_[name].to_numpy(dtype=float)
            ax.plot(edges, np.append(y, y[-1]), drawstyle="steps-post",
                    color=colours[name], linewidth=1.2, label=name, zorder=3)

        peak = float(table_.to_numpy().max()) if table_.size else 0.0
        locator = mticker.MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10],
                                      integer=True, min_n_ticks=3)
        ticks = [t for t in locator.tick_values(0, peak or 1.0) if t >= 0]
        top_tick = min(t for t in ticks if t >= (peak or 1.0))
        # Fixed ticks: the band for the gap labels above top_tick must not
        # make the locator pick another step (the axis ends on a gridline).
        ax.yaxis.set_major_locator(
            mticker.FixedLocator([t for t in ticks if t <= top_tick]))
        ax.yaxis.set_major_formatter(_ThousandsFormatter())
        ax.set_ylim(0, top_tick * (1.16 if len(spans) else 1.0))
        ax.spines["left"].set_bounds(0, top_tick)
        ax.set_ylabel("Events per day (UTC)")
        ax.set_xlim(edges[0], edges[-1])
        xlocator = mdates.AutoDateLocator(minticks=3, maxticks=9)
        ax.xaxis.set_major_locator(xlocator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(
            xlocator, show_offset=False))

        # Gap labels sit in the band above the data; labels closer than
        # ~9 % of the width to the previous one go one level down.
        width = edges[-1] - edges[0]
        last_x: list[float] = []
        for g in spans.itertuples(index=False):
            x0 = mdates.date2num(g.start.to_pydatetime())
            x1 = mdates.date2num((g.end + pd.Timedelta(days=1)).to_pydatetime())
            colour = colours.get(g.s, _GAP_COLOR) if pd.notna(g.s) else _GAP_COLOR
            ax.axvspan(x0, x1, facecolor=colour, alpha=0.25, edgecolor=colour,
                       linewidth=0.8, zorder=1, gid=GID_GAP)
            n_days = int(round(x1 - x0))
            centre = (x0 + x1) / 2
            level = next((i for i, x in enumerate(last_x)
                          if abs(centre - x) > 0.09 * width), len(last_x))
            if level == len(last_x):
                last_x.append(centre)
            else:
                last_x[level] = centre
            frac = (centre - edges[0]) / width
            ha = "left" if frac < 0.05 else "right" if frac > 0.95 else "center"
            ax.annotate(_plural(n_days, "day"), xy=(centre, 1),
                        xycoords=ax.get_xaxis_transform(),
                        xytext=(0, -2 - 11 * level), textcoords="offset points",
                        ha=ha, va="top", fontsize=8, color="#333333",
                        annotation_clip=False, in_layout=False,
                        gid=GID_GAP_LABEL)
        handles = [Line2D([], [], color=colours[n], linewidth=2) for n in order]
        labels = list(order)
        if len(spans):
            handles.append(Patch(facecolor=_GAP_COLOR, alpha=0.5))
            labels.append("Shaded: days without events")
        _legend_above(ax, handles, labels)
        return _finish(fig)
