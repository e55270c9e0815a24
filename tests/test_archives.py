"""Archives (.zip, .tar, .tar.gz): members load as the same files would, nothing is written
under a member's name, bombs and damaged archives are refused, the private copies go away."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

from investigate import UnreadableInputError, Workspace, ingest, ingest_file
from investigate.case import ingest_case
from investigate.cli import main
from investigate.errors import RejectedRecordError
from investigate.loaders import archives, base
from investigate.loaders.base import iter_ingest

from .test_batch_ingest import HDR, V2, flow_files, trail_files
from .test_loaders_generic import GOOD, HEADER, MAPPING

# Every table a load writes, with file paths cut to the file's own name: a member's path is
# "<archive>!<name>", the same file's on disk "<folder>/<name>".
BASENAME = "regexp_replace({}, '^.*[!/]', '')"
TABLES = {
    "transfer_events": f"SELECT * REPLACE ({BASENAME.format('source_file')} AS source_file) FROM transfer_events ORDER BY ALL",
    "access_events": f"SELECT * REPLACE ({BASENAME.format('source_file')} AS source_file) FROM access_events ORDER BY ALL",
    "rejects": f"SELECT * REPLACE ({BASENAME.format('source_file')} AS source_file) FROM rejects ORDER BY ALL",
    "set_apart": f"SELECT * REPLACE ({BASENAME.format('source_file')} AS source_file) FROM set_apart ORDER BY ALL",
    "ingests": f"SELECT * EXCLUDE (loaded_at, checked_at) REPLACE ({BASENAME.format('path')} AS path) FROM ingests ORDER BY ALL",
}


def tables(ws):
    return {name: ws.sql(sql).fetchall() for name, sql in TABLES.items()}


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def pack(archive: Path, files: dict, kind: str | None = None) -> Path:
    """An archive of ``{name: bytes}`` (kind from the name: .zip, .tar, .tar.gz/.tgz)."""
    kind = kind or ("zip" if archive.name.endswith(".zip") else
                    "tar" if archive.name.endswith(".tar") else "tar.gz")
    if kind == "zip":
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
    else:
        with tarfile.open(archive, "w:gz" if kind == "tar.gz" else "w") as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return archive


def folder_files(folder: Path) -> dict:
    return {f.name: f.read_bytes() for f in sorted(folder.iterdir())}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """TMPDIR for the members' private copies, in the test's folder, with every copy made
    checked as it is made: a generated name, in a directory only we can read."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    made = []
    real = archives.Archive._copy

    def spy(self, m, src, compressed):
        assert stat.S_IMODE(os.stat(self._dir).st_mode) == 0o700
        assert self._dir.parent == where
        real(self, m, src, compressed)
        if m.path is not None:
            assert re.fullmatch(r"\d{6}(\.[a-z0-9]+)*", m.path.name), m.path.name
            assert m.path.parent == self._dir and stat.S_IMODE(os.stat(m.path).st_mode) == 0o600
            made.append(m.path)

    monkeypatch.setattr(archives.Archive, "_copy", spy)
    yield where, made
    assert not list(where.iterdir()), "a private copy was left behind"
    assert not [p for p in made if p.exists()]


def member(path) -> str:
    """A member's name, from its path in the workspace."""
    return str(path).split("!", 1)[1]


def snapshot(root: Path) -> set:
    return {p.relative_to(root) for p in root.rglob("*")}


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz", ".tgz", ".tar"])
@pytest.mark.parametrize("fmt, make", [("vpc_flow", flow_files), ("cloudtrail", trail_files)])
def test_members_load_as_the_files_would(tmp_path, private_tmp, suffix, fmt, make):
    folder = make(tmp_path / "in")
    archive = pack(tmp_path / f"export{suffix}", {f"AWSLogs/111/{n}": d for n, d in folder_files(folder).items()})
    direct, packed = Workspace.open(None), Workspace.open(None)
    expected = ingest(direct, [folder], fmt)
    got = ingest(packed, archive, fmt)
    assert tables(packed) == tables(direct)
    assert [(Path(r.path).name, r.rows_read, r.rows_loaded, r.rows_rejected, r.rows_set_apart, r.sha256)
            for r in got] == [(Path(r.path).name, r.rows_read, r.rows_loaded, r.rows_rejected,
                               r.rows_set_apart, r.sha256) for r in expected]
    assert [r.path for r in got] == [f"{archive}!AWSLogs/111/{n}" for n in sorted(os.listdir(folder))]
    kind = "zip" if suffix == ".zip" else "tar" if suffix == ".tar" else "tar.gz"
    assert all(r.note.endswith(f"from {kind} archive {archive.name}, sha256 {sha(archive)}") for r in got)
    assert packed.sql("SELECT count(*) FROM ingests WHERE path LIKE ?", [f"{archive}!%"]).fetchone()[0] == len(got)
    # Members are known by their own bytes: the archive again, or the files, add nothing.
    again = ingest(packed, archive, fmt) + ingest(packed, [folder], fmt)
    assert all(r.skipped and "already ingested" in r.note for r in again)
    assert tables(packed) == tables(direct)


def test_a_csv_with_its_mapping_and_other_members_skipped_by_name(tmp_path, private_tmp):
    csv = (HEADER + "\n" + "\n".join(GOOD) + "\nbad,not-a-time,x,,GET,o,OK,1,\n").encode()
    (tmp_path / "access.csv").write_bytes(csv)
    archive = pack(tmp_path / "siem.zip", {"export/access.csv": csv, "export/README.md": b"hello",
                                           "export/notes.pdf": b"%PDF", ".DS_Store": b"\0"})
    direct, packed = Workspace.open(None), Workspace.open(None)
    one = ingest_file(direct, tmp_path / "access.csv", "csv", mapping=MAPPING)
    out = list(iter_ingest(packed, archive, "csv", mapping=MAPPING))
    assert tables(packed) == tables(direct)
    loaded, readme, pdf, hidden = (r for _, r, _ in out)
    assert (loaded.rows_read, loaded.rows_loaded, loaded.rows_rejected) == (one.rows_read, 3, 1)
    assert readme.skipped and readme.note.startswith("not loaded: not a csv file by its name")
    assert pdf.skipped and hidden.skipped and "hidden" in hidden.note
    # One result for the whole archive from ingest_file: the members summed, the archive's hash.
    whole = ingest_file(Workspace.open(None), archive, "csv", mapping=MAPPING)
    assert (whole.path, whole.sha256, whole.table) == (str(archive), sha(archive), "access_events")
    assert (whole.rows_read, whole.rows_loaded, whole.rows_rejected) == (4, 3, 1)
    assert whole.rejects[0].reason.startswith("access.csv: ")


def test_format_auto_tells_each_member_and_skips_a_readme(tmp_path, private_tmp):
    flows = flow_files(tmp_path / "flows", n=2)
    trails = trail_files(tmp_path / "trails", n=2)
    members = {**{f"flows/{n}": d for n, d in folder_files(flows).items()},
               **{f"trails/{n}": d for n, d in folder_files(trails).items()},
               "README.md": b"# Export\nThese are the logs you asked for.\n"}
    archive = pack(tmp_path / "export.tar.gz", members)
    ws = Workspace.open(None)
    out = list(iter_ingest(ws, archive, "auto"))
    assert [e for _, _, e in out] == [None] * 5
    notes = {Path(member(p)).name: r.note for p, r, _ in out}
    assert notes["README.md"].startswith("format not recognised; from tar.gz archive export.tar.gz")
    assert notes["flow-00.log"].startswith("format auto: vpc_flow")
    assert notes["trail-0.json.gz"].startswith("format auto: cloudtrail")
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 4


def test_names_that_escape_links_and_devices_create_nothing(tmp_path, private_tmp):
    outside = tmp_path / "outside"
    outside.mkdir()
    flow = (HDR + "\n" + V2.format(src="198.51.100.1", sp=1, start=1714644901, end=1714644960) + "\n").encode()
    absolute = f"/tmp/investigate-archive-test-{os.getpid()}.log"
    zpath = tmp_path / "escape.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("../../evil.log", flow)
        zf.writestr(absolute, flow.replace(b"ACCEPT", b"REJECT"))
        zf.writestr("..\\..\\evil2.log", flow + flow[len(HDR) + 1:])
        zf.writestr("C:\\Windows\\evil3.log", flow + b"\n")
        zf.writestr("new\nline\u202egol.log", flow + b"\n\n")
        link = zipfile.ZipInfo("link.log")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, str(outside / "x.log"))
        fifo = zipfile.ZipInfo("fifo.log")
        fifo.external_attr = (stat.S_IFIFO | 0o600) << 16
        zf.writestr(fifo, b"")
    tpath = tmp_path / "escape.tar"
    with tarfile.open(tpath, "w") as tf:
        for name, kind, target in [("d", tarfile.SYMTYPE, str(outside)), ("up", tarfile.SYMTYPE, "../../.."),
                                   ("hard.log", tarfile.LNKTYPE, "/etc/passwd"), ("dev", tarfile.CHRTYPE, ""),
                                   ("pipe", tarfile.FIFOTYPE, "")]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            tf.addfile(info)
        for i, name in enumerate(("d/evil.log", "up/tmp/evil.log", "../../../evil.log")):
            data = flow.replace(b"198.51.100.1", f"198.51.100.{i + 2}".encode())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    wsfile = tmp_path / "ws.duckdb"
    before = snapshot(tmp_path)
    with Workspace.open(str(wsfile)) as ws:
        zout = list(iter_ingest(ws, zpath, "vpc_flow"))
        tout = list(iter_ingest(ws, tpath, "vpc_flow"))
        paths = [r[0] for r in ws.sql("SELECT path FROM ingests ORDER BY path").fetchall()]
    # Nothing was written anywhere but the workspace (and its write-ahead log while open).
    assert {p for p in snapshot(tmp_path) - before if not p.name.startswith("ws.duckdb")} == set()
    assert not list(outside.iterdir()) and not Path(absolute).exists()
    assert not (tmp_path.parent / "evil.log").exists() and not (tmp_path.parent.parent / "evil.log").exists()
    assert [e for _, _, e in zout + tout] == [None] * 15
    # The odd names load under their own names (nothing is written under them), escaped where
    # they would break a line or reorder what is shown.
    assert f"{zpath}!../../evil.log" in paths and f"{zpath}!{absolute}" in paths
    assert f"{zpath}!..\\..\\evil2.log" in paths and f"{zpath}!C:\\Windows\\evil3.log" in paths
    assert f"{zpath}!new\\x0aline\\u202egol.log" in paths
    assert {f"{tpath}!d/evil.log", f"{tpath}!up/tmp/evil.log", f"{tpath}!../../../evil.log"} <= set(paths)
    skipped = {member(p): r.note for p, r, _ in zout + tout if r.skipped}
    assert skipped["link.log"].startswith(f"not loaded: a symbolic link (to '{outside / 'x.log'}'); links are never followed")
    assert skipped["fifo.log"].startswith("not loaded: a FIFO, not a file")
    assert skipped["d"].startswith("not loaded: a symbolic link") and skipped["up"].startswith("not loaded: a symbolic link")
    assert skipped["hard.log"].startswith("not loaded: a hard link (to '/etc/passwd')")
    assert skipped["dev"].startswith("not loaded: a character device") and skipped["pipe"].startswith("not loaded: a FIFO")


def test_a_zip_bomb_is_refused_and_the_workspace_is_unchanged(tmp_path, private_tmp, capsys):
    good = (HDR + "\n" + V2.format(src="198.51.100.1", sp=1, start=1714644901, end=1714644960) + "\n").encode()
    zeros = bytes(50 * 1024 * 1024)
    bomb = pack(tmp_path / "bomb.zip", {"bomb.log": zeros})
    assert bomb.stat().st_size < 200_000
    wsfile = tmp_path / "ws.duckdb"
    with Workspace.open(str(wsfile)) as ws:
        ingest(ws, pack(tmp_path / "good.zip", {"good.log": good}), "vpc_flow")
        before = tables(ws)
        with pytest.raises(UnreadableInputError) as err:
            ingest(ws, bomb, "vpc_flow")
        assert tables(ws) == before
    text = str(err.value)
    assert text.startswith(f"{bomb}!bomb.log: refused as a likely decompression (zip) bomb")
    assert "above the limit of 200:1" in text and "extract it with your own tools" in text
    ratio = int(re.search(r"a ratio of ([\d,]+):1", text).group(1).replace(",", ""))
    unpacked = int(re.search(r"had unpacked to ([\d,]+) bytes", text).group(1).replace(",", ""))
    assert ratio > 200 and unpacked < 20 * 1024 * 1024  # stopped while streaming, not after
    # The CLI says so and exits non-zero; the other members of an archive still load.
    mixed = pack(tmp_path / "mixed.zip", {"a.log": good, "bomb.log": zeros, "c.log": good.replace(b"ACCEPT", b"REJECT")})
    assert main(["ingest", str(tmp_path / "cli.duckdb"), str(mixed), "--format", "vpc_flow"]) == 2
    out, errors = capsys.readouterr()
    assert "a.log: read 1, loaded 1" in out and "c.log: read 1, loaded 1" in out
    assert f"error: {mixed}!bomb.log: refused as a likely decompression (zip) bomb" in errors


def test_tar_gz_bombs_whole_and_member(tmp_path, private_tmp, monkeypatch):
    ws = Workspace.open(None)
    whole = pack(tmp_path / "bomb.tar.gz", {"bomb.log": bytes(50 * 1024 * 1024)})
    with pytest.raises(UnreadableInputError, match=r"bomb.tar.gz: refused: the archive unpacks to more than 200 times"):
        ingest(ws, whole, "vpc_flow")
    # A bomb hidden behind incompressible data passes the whole-archive ratio, not its own.
    hidden = pack(tmp_path / "hidden.tar.gz", {"noise.log": os.urandom(2 * 1024 * 1024),
                                               "bomb.log": bytes(50 * 1024 * 1024)})
    out = list(iter_ingest(ws, hidden, "auto"))
    assert out[0][1].skipped and out[0][1].note.startswith("format not recognised")
    assert [member(p) for p, _, e in out if e is not None] == ["bomb.log"]
    assert "a ratio of" in str(out[1][2]) and "200:1" in str(out[1][2])
    # The absolute cap, and the cap on entries.
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(UnreadableInputError, match=r"noise.log: refused: it unpacks to more than 1,000 bytes"):
        ingest(ws, hidden, "vpc_flow")
    monkeypatch.setattr(archives, "MAX_MEMBERS", 2)
    many = pack(tmp_path / "many.zip", {f"f{i}.log": b"x" for i in range(3)})
    with pytest.raises(UnreadableInputError, match=r"many.zip: refused: it has 3 entries, more than the 2"):
        ingest(ws, many, "vpc_flow")
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 0


def test_overlapping_zip_members_are_refused(tmp_path, private_tmp):
    data = bytes(1024 * 1024)
    raw = pack(tmp_path / "two.zip", {"a.log": data, "b.log": data}).read_bytes()
    # The second entry of the central directory made to point at the first's data.
    second = raw.index(b"PK\x01\x02", raw.index(b"PK\x01\x02") + 4)
    patched = raw[:second + 42] + (0).to_bytes(4, "little") + raw[second + 46:]
    (tmp_path / "overlap.zip").write_bytes(patched)
    with pytest.raises(UnreadableInputError, match="members overlap one another"):
        ingest(Workspace.open(None), tmp_path / "overlap.zip", "vpc_flow")


@pytest.mark.parametrize("suffix, says", [(".zip", "central directory"), (".tar.gz", "gzip stream ends early"),
                                          (".tar", "tar archive ends early")])
def test_a_truncated_archive_is_refused_with_nothing_loaded(tmp_path, private_tmp, suffix, says):
    folder = flow_files(tmp_path / "in", n=4)
    whole = pack(tmp_path / f"whole{suffix}", folder_files(folder)).read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole[: len(whole) * 2 // 3 + 7])
    ws = Workspace.open(None)
    out = list(iter_ingest(ws, cut, "vpc_flow"))
    assert len(out) == 1 and out[0][0] == cut and out[0][1] is None
    assert str(out[0][2]).startswith(f"{cut.absolute()}: ") and says in str(out[0][2])
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 0


def test_a_damaged_member_fails_alone_and_errors_name_the_member(tmp_path, private_tmp):
    good = (HDR + "\n" + V2.format(src="198.51.100.1", sp=1, start=1714644901, end=1714644960) + "\n").encode()
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.log", good)
        zf.writestr("b.log", good.replace(b"ACCEPT", b"REJECT"))
        zf.writestr("cut.log.gz", gzip.compress(good * 50)[:-30])  # a gzip member cut short
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"REJECT")] ^= 1  # b.log's bytes no longer match its CRC
    path.write_bytes(bytes(raw))
    ws = Workspace.open(None)
    out = list(iter_ingest(ws, path, "vpc_flow"))
    assert [(member(p), e is None) for p, _, e in out] == [("a.log", True), ("b.log", False), ("cut.log.gz", False)]
    assert str(out[1][2]).startswith(f"{path}!b.log: cannot be read from the archive (Bad CRC-32")
    # The copy's path never shows: the error names the member.
    assert str(out[2][2]).startswith(f"{path}!cut.log.gz: the gzip stream ends early")
    assert "investigate-archive-" not in str(out[2][2])


def test_a_member_failing_in_a_batch_gets_its_own_error(tmp_path, private_tmp):
    folder = flow_files(tmp_path / "in", n=6)
    archive = pack(tmp_path / "flows.zip", folder_files(folder))
    ws = Workspace.open(None)
    with pytest.raises(RejectedRecordError) as err:
        ingest(ws, archive, "vpc_flow", strict=True)
    assert str(err.value).startswith(f"{archive}!flow-04.log:7: 5 fields")
    assert ws.sql("SELECT count(DISTINCT source_file), count(*) FROM transfer_events").fetchone() == (4, 10)


def test_nested_archives_are_not_expanded(tmp_path, private_tmp):
    flow = flow_files(tmp_path / "in", n=1) / "flow-00.log"
    inner_zip = pack(tmp_path / "inner.zip", {"flow.log": flow.read_bytes()}).read_bytes()
    inner_tgz = pack(tmp_path / "inner.tgz", {"flow.log": flow.read_bytes()}).read_bytes()
    outer = pack(tmp_path / "outer.zip", {"inner.zip": inner_zip, "inner.log": inner_tgz,
                                          "flow.log": flow.read_bytes()})
    ws = Workspace.open(None)
    out = {member(p): r for p, r, e in iter_ingest(ws, outer, "auto")}
    assert out["inner.zip"].skipped and out["inner.zip"].note.startswith("not loaded: an archive inside the archive")
    assert out["inner.log"].skipped and out["inner.log"].note.startswith("not loaded: an archive inside the archive (tar.gz)")
    assert out["flow.log"].rows_loaded == 1


def test_private_copies_go_on_an_interrupt(tmp_path, private_tmp, monkeypatch):
    folder = flow_files(tmp_path / "in", n=3)
    archive = pack(tmp_path / "flows.zip", folder_files(folder))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    real_load = base._load
    monkeypatch.setattr(base, "_load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(Workspace.open(None), archive, "vpc_flow")
    where, made = private_tmp
    assert made and not list(where.iterdir())
    # Abandoning the results half way cleans up too.
    monkeypatch.setattr(base, "_load", real_load)
    results = iter_ingest(Workspace.open(None), archive, "vpc_flow")
    next(results)
    assert list(where.iterdir())
    results.close()
    assert not list(where.iterdir())


def test_cli_case_and_folder(tmp_path, private_tmp, capsys):
    trails = trail_files(tmp_path / "in", n=3)
    archive = pack(tmp_path / "export.zip", {f"AWSLogs/{n}": d for n, d in folder_files(trails).items()})
    ws = tmp_path / "ws.duckdb"
    assert main(["ingest", str(ws), str(archive), "--format", "cloudtrail"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (f"trail-0.json.gz: read 3, loaded 3, rejected 0 -> access_events "
                        f"(from zip archive export.zip, sha256 {sha(archive)})")
    assert len(lines) == 3
    # A case manifest names the archive like any input; a folder with a format picks it up.
    (tmp_path / "case.yml").write_text("inputs:\n  - {path: export.zip, format: cloudtrail}\n")
    with Workspace.open(None) as w:
        load = ingest_case(w, tmp_path / "case.yml")
        assert [r.rows_loaded for r in load.results] == [3, 3, 3]
    sub = tmp_path / "delivery"
    sub.mkdir()
    archive.rename(sub / "export.zip")
    with Workspace.open(None) as w:
        assert [Path(r.path).name for r in ingest(w, sub, "cloudtrail")] == [f"trail-{i}.json.gz" for i in range(3)]


def test_an_empty_archive_says_so(tmp_path, private_tmp):
    empty = pack(tmp_path / "empty.zip", {})
    (result,) = ingest(Workspace.open(None), empty, "vpc_flow")
    assert result.skipped and result.note == "a zip archive with no files in it" and result.sha256 == sha(empty)


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_a_tar_damaged_inside_stops_there_and_says_so(tmp_path, private_tmp, suffix):
    folder = flow_files(tmp_path / "in", n=3)
    tar = pack(tmp_path / "whole.tar", folder_files(folder)).read_bytes()
    third = tar.index(b"flow-02.log")  # its header's name field: the header checksum no longer matches
    damaged = tar[:third] + b"FLOW" + tar[third + 4:]
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(gzip.compress(damaged) if suffix == ".tar.gz" else damaged)
    ws = Workspace.open(None)
    out = list(iter_ingest(ws, path, "vpc_flow"))
    assert [member(p) if e is None else p for p, _, e in out] == ["flow-00.log", "flow-01.log.gz", path]
    assert str(out[-1][2]).startswith(f"{path}: the tar archive is damaged after 2 whole member(s)")
    assert ws.sql("SELECT count(*) FROM ingests").fetchone()[0] == 2
