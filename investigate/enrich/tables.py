"""Reading a reference table (network inventory, roster, catalogue) from CSV or an Excel workbook.

Analysts keep these tables in spreadsheets, so a ``.xlsx`` is read as it is rather than asking for
an export. The format is decided by the file's content, not its name. Either way the result is the
same: ``(where, row)`` pairs, ``where`` naming the line (CSV: ``"12"``) or sheet and row (XLSX:
``"Sheet1!12"``) for error messages, ``row`` mapping the stripped header names to stripped text
values (empty cells -> None). Fully empty rows are skipped. Every error names the file.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path

from ..errors import ReferenceFileError

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: old .xls, or an encrypted .xlsx
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # how Office stores a password-protected .xlsx
_ODS_MIMETYPE = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
_EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")


def read_rows(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> list[tuple[str, dict]]:
    """The rows of a reference table as ``(where, row)`` pairs.

    Parameters
    ----------
    path : a CSV file (UTF-8, optional BOM) or an Excel ``.xlsx`` workbook (detected by content).
    required : columns the table must have; a missing one is an error listing what the file has.
    optional : further columns the table may have (named in the error message only).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReferenceFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith(_ZIP_MAGIC):
        return _xlsx_rows(path, data, required, optional)
    if data.startswith(_OLE_MAGIC):
        raise ReferenceFileError(_ole_problem(path, data))
    return _csv_rows(path, data, required, optional)


def _missing_columns(path: Path, header: list[str], required, optional, place: str = "") -> str | None:
    """The error message for missing required columns, or None when all are there."""
    missing = [c for c in required if c not in header]
    if not missing:
        return None
    has = "the sheet has" if place else "the file has"
    return (f"{path}: {place}missing column(s) {', '.join(missing)}; {has} "
            f"{', '.join(h for h in header if h) or 'no header'}; expected {', '.join(required + optional)}")


# --- CSV --------------------------------------------------------------------------------------

def _csv_rows(path: Path, data: bytes, required, optional) -> list[tuple[str, dict]]:
    """CSV rows exactly as ``reference._read_csv_rows`` reads them, with ``where`` as text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    # The CSV message lists the header as is (empty names included), as it always has.
    missing = [c for c in required if c not in header]
    if missing:
        raise ReferenceFileError(f"{path}: missing column(s) {', '.join(missing)}; the file has "
                                 f"{', '.join(header) or 'no header'}; expected {', '.join(required + optional)}")
    reader.fieldnames = header
    rows = []
    for row in reader:
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k is not None}
        if not any(clean.values()):
            continue
        rows.append((str(reader.line_num), {k: (v or None) for k, v in clean.items()}))
    return rows


# --- Excel ------------------------------------------------------------------------------------

def _ole_problem(path: Path, data: bytes) -> str:
    """Why a Compound File cannot be read: a password-protected workbook, or the old .xls format."""
    if _ENCRYPTED_STREAM in data:
        return (f"{path}: the workbook is password-protected (encrypted); remove the password "
                "in Excel and save again, or save the sheet as CSV")
    return (f"{path}: an old binary Excel file (.xls) or other Office 97-2003 file; open it in "
            "Excel or LibreOffice and save it as .xlsx (Excel Workbook) or CSV (UTF-8)")


def _open_workbook(path: Path, data: bytes):
    import openpyxl  # only needed for workbooks; keeps CSV-only use free of the import cost

    if _ODS_MIMETYPE in data[:100]:
        raise ReferenceFileError(f"{path}: an OpenDocument spreadsheet (.ods); save it as .xlsx or CSV")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl reports a damaged archive with many exception types
        raise ReferenceFileError(f"{path}: a ZIP file but not a readable .xlsx workbook (corrupt, "
                                 f"or another kind of archive): {type(exc).__name__}: {exc}") from None


def cell_text(value) -> str | None:
    """A cell value as the text a person reads in Excel (ints without ``.0``, ISO dates,
    ``true``/``false``); empty -> None."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.15g}"  # Excel shows 15 significant digits: 0.1+0.2 reads 0.3
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip() or None


def _sheet_rows(sheet):
    """(row number, cells) for every row of a read-only sheet, gaps included as empty rows."""
    sheet.reset_dimensions()  # don't trust the file's recorded used range: read what is there
    return enumerate(sheet.iter_rows(min_row=1), start=1)


def _is_empty(cells) -> bool:
    return all(cell_text(c.value) is None for c in cells)


def _header(sheet) -> tuple[int, list[str]] | None:
    """(row number, stripped names) of the sheet's first non-empty row, or None if it is blank."""
    for number, cells in _sheet_rows(sheet):
        if not _is_empty(cells):
            return number, [cell_text(c.value) or "" for c in cells]
    return None


def _choose_sheet(path: Path, workbook, required, optional):
    """The first worksheet, or else the only worksheet with the required columns."""
    sheets = workbook.worksheets
    if not sheets:
        raise ReferenceFileError(f"{path}: the workbook has no worksheet")

    def fits(header) -> bool:
        return header is not None and _missing_columns(path, header[1], required, optional) is None

    first = _header(sheets[0])
    if fits(first):
        return sheets[0], first
    others = [(s, h) for s in sheets[1:] if fits(h := _header(s))]
    if len(others) == 1:
        return others[0]
    if others:  # guessing between them could read the wrong table
        names = ", ".join(repr(s.title) for s, _ in others)
        raise ReferenceFileError(f"{path}: the first sheet {sheets[0].title!r} lacks the columns "
                                 f"{', '.join(required)} and several sheets have them ({names}); "
                                 "move the table to the first sheet")
    return sheets[0], first  # reported as missing columns, naming the first sheet


def _xlsx_rows(path: Path, data: bytes, required, optional) -> list[tuple[str, dict]]:
    workbook = _open_workbook(path, data)
    try:
        sheet, header = _choose_sheet(path, workbook, required, optional)
        return _read_sheet(path, sheet, header, required, optional)
    except ReferenceFileError:
        raise
    except Exception as exc:  # a sheet's XML can be damaged even when the workbook opened
        raise ReferenceFileError(f"{path}: the workbook cannot be read (corrupt?): "
                                 f"{type(exc).__name__}: {exc}") from None
    finally:
        workbook.close()


def _read_sheet(path: Path, sheet, header, required, optional) -> list[tuple[str, dict]]:
    place = f"sheet {sheet.title!r}: "
    header_row, names = header or (0, [])
    problem = _missing_columns(path, names, required, optional, place)
    if problem:
        raise ReferenceFileError(problem + _header_hint(path, sheet, required, optional))
    rows = []
    for number, cells in _sheet_rows(sheet):
        if number <= header_row:
            continue
        where = f"{sheet.title}!{number}"
        row = {name: None for name in names if name}
        for name, cell in zip(names, cells):
            if name:  # a column without a header name carries no field (often stray formatting)
                row[name] = _cell_value(path, where, name, cell)
        if any(v is not None for v in row.values()):
            rows.append((where, row))
    return rows


def _header_hint(path: Path, sheet, required, optional, scan: int = 30) -> str:
    """When a later row holds the columns (a title above the table), say so: the header must be
    the first non-empty row, because rows above it would otherwise be dropped unseen."""
    for number, cells in _sheet_rows(sheet):
        if number > scan:
            break
        names = [cell_text(c.value) or "" for c in cells]
        if _missing_columns(path, names, required, optional) is None:
            return (f"; row {number} looks like the header: delete the rows above it "
                    "(the header must be the first non-empty row)")
    return ""


def _cell_value(path: Path, where: str, column: str, cell) -> str | None:
    """A cell's text; a formula error (#N/A, #REF!, ...) is refused rather than read as a value."""
    if getattr(cell, "data_type", None) == "e" and cell.value in _EXCEL_ERRORS:
        raise ReferenceFileError(f"{path}:{where}: column {column} holds the Excel error {cell.value}; "
                                 "fix the formula or type the value")
    return cell_text(cell.value)
