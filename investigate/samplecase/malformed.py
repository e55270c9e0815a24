"""The deliberately malformed records planted among the good ones.

Each bad record is scheduled by date: the writer emits it just before the
first good record of that UTC day or later (or at the end of the file), so
bad records sit among good ones at any scale. Their content is benign
(public content read by US/SG staff) so that a too-lenient loader which
accepts one does not move any planted fact much; the ground truth never
counts them.

No bad record contains a newline, so CSV data record n is line n + 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Callable


@dataclass(frozen=True)
class Bad:
    """One malformed record.

    Attributes
    ----------
    on : date
        Written before the first good record on or after this UTC day.
    problem : str
        Short description, copied to ``ground_truth.json``.
    make : callable
        Turns the benign, well-formed cells into the bad line (no terminator).
    """

    on: date
    problem: str
    make: Callable[[list[str]], str]


def _join(cells: list[str], sep: str) -> str:
    # Benign cells never need quoting; refuse rather than write a wrong line.
    assert all(sep not in c and '"' not in c and "\n" not in c for c in cells), cells
    return sep.join(cells)


def _set(i: int, value: str, sep: str) -> Callable[[list[str]], str]:
    def make(cells: list[str]) -> str:
        cells = list(cells)
        cells[i] = value
        return _join(cells, sep)
    return make


def _cut(n: int, sep: str) -> Callable[[list[str]], str]:
    return lambda cells: _join(cells[:n], sep)


def _extra(value: str, sep: str) -> Callable[[list[str]], str]:
    return lambda cells: _join([*cells, value], sep)


# Platform audit: event_uuid,event_time,principal,client_ip,operation,object,
#                 result,bytes_out,rows_returned,user_agent,session_id
AUDIT_BAD = (
    Bad(date(2021, 10, 5), "bytes_out is not an integer: '12kb'", _set(7, "12kb", ",")),
    Bad(date(2021, 11, 2), "too few fields: 6 of 11 (truncated row)", _cut(6, ",")),
    Bad(date(2022, 1, 18), "empty event_time", _set(1, "", ",")),
    Bad(date(2022, 2, 28), "unparseable event_time '2022-02-30T25:61:00Z'",
        _set(1, "2022-02-30T25:61:00Z", ",")),
    Bad(date(2022, 5, 10), "too many fields: 12 of 11", _extra("unexpected", ",")),
    Bad(date(2022, 9, 21), "unparseable event_time '21/09/2022 03:12'",
        _set(1, "21/09/2022 03:12", ",")),
)

# APAC gateway: Zeit;Benutzer;Quell-IP;Aktion;Ressource;Status;Bytes;Datensaetze;ID
GATEWAY_BAD = (
    Bad(date(2021, 12, 7), "unparseable Zeit '31.02.2022 10:00:00'",
        _set(0, "31.02.2022 10:00:00", ";")),
    Bad(date(2022, 4, 19), "Bytes is not an integer: 'n/a'", _set(6, "n/a", ";")),
    Bad(date(2022, 10, 11), "too few fields: 5 of 9 (truncated row)", _cut(5, ";")),
)


def _truncated_json(cells: list[str]) -> str:
    text = json.dumps(json.loads(cells[0]), separators=(",", ":"))
    return text[: len(text) * 3 // 5]


def _json_array(cells: list[str]) -> str:
    return json.dumps(list(json.loads(cells[0]).values()), separators=(",", ":"))


# Edge flows: the single cell is the benign record's JSON text.
FLOW_BAD = (
    Bad(date(2021, 12, 15), "truncated JSON object", _truncated_json),
    Bad(date(2022, 8, 9), "JSON array, not an object", _json_array),
)
