"""Instants as integer milliseconds since the Unix epoch, and their texts.

Integers keep arithmetic exact (no float rounding) and make the texts
reproducible; every formatter here is pure.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SGT = timezone(timedelta(hours=8))  # Asia/Singapore: UTC+08:00, no DST


def day_start_ms(d: date) -> int:
    """Milliseconds at 00:00:00Z of ``d``."""
    return (d - date(1970, 1, 1)).days * DAY_MS


def to_datetime(ms: int, tz: timezone = timezone.utc) -> datetime:
    """Aware datetime of ``ms`` in ``tz`` (exact: no float division)."""
    return (_EPOCH + timedelta(milliseconds=ms)).astimezone(tz)


def iso_ms(ms: int) -> str:
    """``2021-09-14T03:12:45.123Z``: the ground-truth and audit-log form."""
    dt = to_datetime(ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def iso_z(ms: int) -> str:
    """``2021-09-14T03:12:45Z`` (seconds precision)."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset_utc(ms: int) -> str:
    """``2021-09-14T03:12:45+00:00`` (seconds precision)."""
    return to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_offset_sgt(ms: int) -> str:
    """``2021-09-14T11:12:45+08:00``: the same instant in Singapore time."""
    return to_datetime(ms, SGT).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def sgt_local(ms: int) -> str:
    """``14.09.2021 11:12:45``: naive Singapore wall-clock time."""
    return to_datetime(ms, SGT).strftime("%d.%m.%Y %H:%M:%S")


def month(ms: int) -> str:
    """UTC calendar month ``YYYY-MM``."""
    return to_datetime(ms).strftime("%Y-%m")


def utc_date(ms: int) -> date:
    """UTC calendar date."""
    return to_datetime(ms).date()


def days(start: date, end: date):
    """Dates from ``start`` up to but excluding ``end``."""
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)
