"""Reference tables read from CSV or XLSX (investigate.enrich.tables)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest

from investigate.enrich.tables import cell_text, read_rows
from investigate.errors import ReferenceFileError

from .conftest import SAMPLES

NETWORK = (("cidr", "country"), ("org", "site", "kind"))


def _workbook(path, sheets: dict[str, list[list]]):
    """Write an .xlsx with one sheet per entry, rows given from row 1 (None = empty cell)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


# --- XLSX -------------------------------------------------------------------------------------

def test_xlsx_values_read_as_a_person_reads_them(tmp_path):
    path = _workbook(tmp_path / "inventory.xlsx", {"Networks": [
        [],
        [],
        [" cidr ", "country", "org", None, "since", "hosts", "active", "share", "at"],
        ["10.20.0.0/16", " US ", "Ironbridge Cloud", None, datetime(2022, 6, 17), 65534, True, 0.25,
         datetime(2022, 6, 17, 9, 30)],
        [None, None, None],
        ["10.30.0.0/16", "SG", None, None, date(2021, 7, 1), 12.0, False, 0.1 + 0.2, time(8, 0)],
        ["", "  ", None],
    ]})
    assert read_rows(path, *NETWORK) == [
        ("Networks!4", {"cidr": "10.20.0.0/16", "country": "US", "org": "Ironbridge Cloud",
                        "since": "2022-06-17", "hosts": "65534", "active": "true", "share": "0.25",
                        "at": "2022-06-17T09:30:00"}),
        ("Networks!6", {"cidr": "10.30.0.0/16", "country": "SG", "org": None,
                        "since": "2021-07-01", "hosts": "12", "active": "false", "share": "0.3",
                        "at": "08:00:00"}),
    ]


def test_xlsx_is_detected_by_content_not_by_name(tmp_path):
    path = _workbook(tmp_path / "inventory.csv", {"Sheet1": [["cidr", "country"], ["10.0.0.0/8", "US"]]})
    assert read_rows(path, *NETWORK) == [("Sheet1!2", {"cidr": "10.0.0.0/8", "country": "US"})]


def test_xlsx_rows_are_padded_to_the_header(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"S": [["cidr", "country", "org", "site"], ["10.0.0.0/8"]]})
    assert read_rows(path, *NETWORK) == [("S!2", {"cidr": "10.0.0.0/8", "country": None, "org": None,
                                                  "site": None})]


def test_xlsx_uses_the_only_sheet_with_the_columns(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"Notes": [["Exported by the network team"]],
                                           "Data": [["cidr", "country"], ["10.0.0.0/8", "US"]]})
    assert read_rows(path, *NETWORK) == [("Data!2", {"cidr": "10.0.0.0/8", "country": "US"})]


def test_xlsx_first_sheet_wins_when_it_has_the_columns(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"A": [["cidr", "country"], ["10.0.0.0/8", "US"]],
                                           "B": [["cidr", "country"], ["10.9.0.0/16", "CN"]]})
    assert [w for w, _ in read_rows(path, *NETWORK)] == ["A!2"]


def test_xlsx_refuses_to_guess_between_sheets(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"Notes": [["hello"]],
                                           "A": [["cidr", "country"]], "B": [["cidr", "country"]]})
    with pytest.raises(ReferenceFileError, match=r"t\.xlsx: .*several sheets have them \('A', 'B'\)"):
        read_rows(path, *NETWORK)


def test_xlsx_missing_columns_names_the_file_and_sheet(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"Inventory": [["network", "country", "owner"], ["10.0.0.0/8", "US"]]})
    with pytest.raises(ReferenceFileError) as err:
        read_rows(path, *NETWORK)
    assert str(err.value) == (f"{path}: sheet 'Inventory': missing column(s) cidr; the sheet has network, "
                              "country, owner; expected cidr, country, org, site, kind")


def test_xlsx_title_above_the_header_gets_a_hint(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"S": [["Network inventory 2022"], [], ["cidr", "country"]]})
    with pytest.raises(ReferenceFileError, match="row 3 looks like the header: delete the rows above it"):
        read_rows(path, *NETWORK)


def test_xlsx_empty_workbook(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"Sheet1": []})
    with pytest.raises(ReferenceFileError, match="missing column.*the sheet has no header"):
        read_rows(path, *NETWORK)


def test_xlsx_formula_error_is_refused(tmp_path):
    path = _workbook(tmp_path / "t.xlsx", {"S": [["cidr", "country"], ["10.0.0.0/8", "#N/A"]]})
    with pytest.raises(ReferenceFileError, match=r"t\.xlsx:S!2: column country holds the Excel error #N/A"):
        read_rows(path, *NETWORK)


def test_cell_text():
    assert [cell_text(v) for v in (None, "", " x ", 3, 3.0, 2.5, True, False, 1e20)] == \
        [None, None, "x", "3", "3", "2.5", "true", "false", "100000000000000000000"]
    assert cell_text(datetime(2022, 6, 17)) == "2022-06-17"
    assert cell_text(datetime(2022, 6, 17, 0, 0, 1)) == "2022-06-17T00:00:01"


# --- damaged and foreign files ----------------------------------------------------------------

def test_old_xls_says_to_save_as_xlsx_or_csv(tmp_path):
    path = tmp_path / "inventory.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(ReferenceFileError, match=r"inventory\.xls: an old binary Excel file.*\.xlsx.*CSV"):
        read_rows(path, *NETWORK)


def test_password_protected_workbook(tmp_path):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(ReferenceFileError, match=r"secret\.xlsx: the workbook is password-protected"):
        read_rows(path, *NETWORK)


def test_corrupt_zip(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 50)
    with pytest.raises(ReferenceFileError, match=r"broken\.xlsx: a ZIP file but not a readable \.xlsx"):
        read_rows(path, *NETWORK)


def test_truncated_workbook(tmp_path):
    whole = _workbook(tmp_path / "whole.xlsx", {"S": [["cidr", "country"]] + [["10.0.0.0/8", "US"]] * 500})
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ReferenceFileError, match=r"cut\.xlsx: "):
        read_rows(path, *NETWORK)


def _zip_with(path, member: str, text: str):
    """A ZIP file holding one member: the shape of a workbook, without being one."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, text)
    return path


def test_zip_that_is_not_a_workbook(tmp_path):
    path = _zip_with(tmp_path / "bundle.xlsx", "readme.txt", "not a workbook")
    with pytest.raises(ReferenceFileError, match=r"bundle\.xlsx: a ZIP file but not a readable \.xlsx"):
        read_rows(path, *NETWORK)


def test_opendocument_spreadsheet(tmp_path):
    path = _zip_with(tmp_path / "inventory.ods", "mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(ReferenceFileError, match=r"\.ods\); save it as \.xlsx or CSV"):
        read_rows(path, *NETWORK)


def test_unreadable_file(tmp_path):
    with pytest.raises(ReferenceFileError, match=r"cannot be read"):
        read_rows(tmp_path, *NETWORK)  # a directory
    with pytest.raises(ReferenceFileError, match=r"missing\.csv: cannot be read"):
        read_rows(tmp_path / "missing.csv", *NETWORK)


# --- CSV: exactly as reference files were read before XLSX (the same rows, the same messages) ----

CSV_CASES = {
    "plain": ("cidr,country,org\n10.0.0.0/8,US,Acme\n10.1.0.0/16,SG,\n",
              [("2", {"cidr": "10.0.0.0/8", "country": "US", "org": "Acme"}),
               ("3", {"cidr": "10.1.0.0/16", "country": "SG", "org": None})]),
    "bom_crlf_blank_lines": ("\ufeffcidr,country\r\n\r\n10.0.0.0/8,US\r\n,\r\n 10.1.0.0/16 , sg \r\n",
                             [("3", {"cidr": "10.0.0.0/8", "country": "US"}),
                              ("5", {"cidr": "10.1.0.0/16", "country": "sg"})]),
    "quoted_multiline": ('cidr,country,org\n10.0.0.0/8,US,"Acme,\nInc."\n10.1.0.0/16,SG,x\n',
                         [("3", {"cidr": "10.0.0.0/8", "country": "US", "org": "Acme,\nInc."}),
                          ("4", {"cidr": "10.1.0.0/16", "country": "SG", "org": "x"})]),
    "short_and_long_rows": ("cidr,country,org\n10.0.0.0/8\n10.1.0.0/16,SG,x,extra,more\n",
                            [("2", {"cidr": "10.0.0.0/8", "country": None, "org": None}),
                             ("3", {"cidr": "10.1.0.0/16", "country": "SG", "org": "x"})]),
    "spaced_header_and_empty_name": (" cidr , country ,,org\n10.0.0.0/8,US,,x\n,,,\n",
                                     [("2", {"cidr": "10.0.0.0/8", "country": "US", "": None, "org": "x"})]),
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_csv_rows(tmp_path, name):
    path = tmp_path / f"{name}.csv"
    text, expected = CSV_CASES[name]
    path.write_text(text, encoding="utf-8", newline="")
    assert read_rows(path, *NETWORK) == expected


@pytest.mark.parametrize("content, message", [
    (b"network,country\n10.0.0.0/8,US\n",
     "{path}: missing column(s) cidr; the file has network, country; expected cidr, country, org, site, kind"),
    (b"", "{path}: missing column(s) cidr, country; the file has no header; expected cidr, country, org, site, kind"),
    (b"cidr,country\n10.0.0.0/8,\xff\xfe\n", "{path}: not UTF-8 text (invalid start byte at byte 24)"),
])
def test_csv_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ReferenceFileError) as err:
        read_rows(path, *NETWORK)
    assert str(err.value) == message.format(path=path)


def test_sample_reference_files():
    rows = read_rows(SAMPLES / "reference" / "staff_roster.csv", ("actor_id", "home_country"),
                     ("display_name", "team", "employer", "aliases"))
    assert rows[0] == ("2", {"actor_id": "abrooks", "display_name": "Avery Brooks", "home_country": "US",
                             "team": "trust-safety", "employer": "ReelRiver Ltd.",
                             "aliases": "avery.brooks@reelriver.example"})
    lines = (SAMPLES / "reference" / "staff_roster.csv").read_text().splitlines()
    assert len(rows) == len([ln for ln in lines[1:] if ln.strip()])
