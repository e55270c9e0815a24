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


# -- the native variant (exports_native/) ------------------------------------------------------
# Same idea, other shapes: ``make`` gets the benign record in the native form (a CloudTrail
# event as a dict, a pgaudit entry or a web log line as text) and returns the bad one. Each
# kind's writer decides where the record goes (a position in a daily CloudTrail file, a line
# of a monthly log); the record numbers are the loaders' (event position in its CloudTrail
# file, line number of the web log, first line of the pgaudit entry).

@dataclass(frozen=True)
class NativeBad:
    """One malformed record of a native log.

    Attributes
    ----------
    on : date
        Written with the first good record on or after this UTC day (or at the end).
    problem : str
        Short description, copied to ``ground_truth.json`` (``native_rejects``).
    make : callable
        Turns the benign record (a dict or a text, per kind) into the bad record.
    """

    on: date
    problem: str
    make: Callable


def _without(key: str) -> Callable[[dict], dict]:
    return lambda rec: {k: v for k, v in rec.items() if k != key}


def _with(key: str, value) -> Callable[[dict], dict]:
    return lambda rec: {**rec, key: value}


# CloudTrail: events inside a daily {"Records": [...]} file.
CLOUDTRAIL_BAD = (
    NativeBad(date(2021, 11, 23), "event without eventTime", _without("eventTime")),
    NativeBad(date(2022, 7, 26), "unreadable eventTime '2022-07-26T24:61:00Z'",
              _with("eventTime", "2022-07-26T24:61:00Z")),
)


def _cut_after_command(entry: str) -> str:
    # '... AUDIT: SESSION,1,1,READ,SELECT,TABLE,...' -> '... AUDIT: SESSION,1,1,READ,SELECT'
    head, audit = entry.split("AUDIT: ", 1)
    return head + "AUDIT: " + ",".join(audit.split(",")[:5])


def _cut_inside_statement(entry: str) -> str:
    # The benign entry's statement is quoted and spans lines; keep it up to its last line,
    # without the closing quote: the file was cut off there.
    return entry.rsplit("\n", 1)[0]


# pgaudit: entries of the us-prod server log. The first sits among other entries; the second
# is the last entry of a monthly file (``at_end``), cut off inside its quoted statement.
PGAUDIT_BAD = (
    NativeBad(date(2021, 12, 14), "AUDIT entry cut after the command (5 of 10 fields)",
              _cut_after_command),
    NativeBad(date(2022, 4, 1), "AUDIT entry cut off inside its quoted statement (end of file)",
              _cut_inside_statement),
)
PGAUDIT_AT_END = frozenset({PGAUDIT_BAD[1]})


def _unclosed_agent(line: str) -> str:
    return line[:-1]  # drop the closing quote of the user agent


def _german_month(line: str) -> str:
    # The gateway's German UI leaked into a log line: 'Okt' is no English month abbreviation.
    return line.replace("/Oct/", "/Okt/", 1)


# Web (nginx combined) lines of the APAC gateway log.
# The writer dates each benign line on the bad record's own day (morning in Singapore), so the
# German month is there at any scale.
WEB_BAD = (
    NativeBad(date(2021, 10, 19), "month name in German: 'Okt'", _german_month),
    NativeBad(date(2022, 2, 15), "user agent's quote never closed", _unclosed_agent),
)
