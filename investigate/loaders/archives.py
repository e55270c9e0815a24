"""Archives as inputs: a ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` export, loaded member by member.

An archive is known by its content, not its name: a zip starts with ``PK\\x03\\x04`` (or is an
empty zip's end record), a tar has ``ustar`` at byte 257 of its first block, plain or inside
gzip. :func:`base.iter_ingest` loads each regular-file member as if it were a file of its own:
the same format (``auto`` tells each member's), the same batching, each member all or nothing,
known by the sha256 of its own bytes (a member already ingested is skipped like any file). Its
path in the workspace is ``<archive path>!<member name>``; every member's result names the
archive and the archive's sha256.

Nothing is ever written under a member's own name, so no name can reach outside (``../..``,
``/etc/x``, ``C:\\x``, backslashes): each member is copied, as it is read, to a file with a
generated name (a number and the member's last suffixes, ``000001.json.gz``) in a private
temporary directory (mode 0700, below ``TMPDIR``), loaded from there, and removed once loaded;
the directory goes when the archive is done, on an error or an interrupt too. Links (symbolic
or hard), devices, FIFOs and sockets are never followed nor created: they are skipped with a
note. Archives inside the archive are not expanded (skipped with a note): each level multiplies
what a small file can unpack to, and nesting is how the classic bombs are built; extract one
and ingest it on its own.

Bombs: a member is refused, while it is being read (the bytes it actually unpacks to are
counted; the size its header declares is never trusted), once it unpacks to more than
:data:`RATIO_LIMIT` times its compressed size (past its first :data:`RATIO_GRACE_BYTES`) or to
more than :data:`MAX_MEMBER_BYTES`; an archive of more than :data:`MAX_MEMBERS` entries, whose
members overlap one another inside a zip (the "non-recursive" zip bomb), or that unpacks as a
whole to more than :data:`RATIO_LIMIT` times its size is refused whole. The limits are module
constants; an archive you trust beyond them can be extracted with your own tools and the
extracted files ingested.

Damage: the archive is read once, to the end, before any member loads (hashing it): a zip
whose central directory is missing (truncated), a ``.tar.gz`` whose gzip stream ends early or
is corrupt, a tar without its end-of-archive blocks, is refused with nothing loaded. Damage
only found while reading members (a zip member whose CRC does not match, a tar header that is
garbage) fails that member (zip: the others still load) or stops the archive there (tar: the
stream cannot be followed past it), and the members before it stay loaded, each whole.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InvestigateError, UnreadableInputError
from .sources import CHUNK, GZIP_MAGIC

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"     # an empty zip is only its end record
TAR_MAGIC = b"ustar"                # at byte 257 of a tar header (POSIX and GNU)
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")

RATIO_LIMIT = 200                   # a member may unpack to this many times its compressed size
RATIO_GRACE_BYTES = 1 << 20         # ... once past this much: a small file may compress very well
MAX_MEMBER_BYTES = 32 << 30         # a member may never unpack to more than this
MAX_MEMBERS = 100_000               # entries of one archive (folders and links included)

_TAR_BUFSIZE = 10240                # what tarfile reads ahead of a member's data in stream mode
_TAR_SLACK = 16 << 10               # compressed bytes a tar member's count may miss because of it
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_TRUST = ("If you trust the archive, extract it with your own tools and ingest the extracted "
          "file(s)")


def kind_of_head(head: bytes) -> str | None:
    """``zip``, ``tar.gz`` or ``tar`` from a file's first bytes (a few KB), or None."""
    if head.startswith(ZIP_MAGIC) or head.startswith(ZIP_EMPTY_MAGIC):
        return "zip"
    if head.startswith(GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(wbits=31).decompress(head, 512)
        except zlib.error:
            return None
        return "tar.gz" if inner[257:262] == TAR_MAGIC else None
    return "tar" if head[257:262] == TAR_MAGIC else None


def kind_of(path) -> str | None:
    """What kind of archive a file is, from its content; None for any other file (or one that
    cannot be read: reading it as a file gives the usual error)."""
    try:
        p = Path(path)
        if not p.is_file():
            return None
        with open(p, "rb") as fh:
            return kind_of_head(fh.read(4096))
    except OSError:
        return None


def archive_name(path) -> bool:
    """Whether a file found in a folder is named like an archive (a folder walk with a format
    picks these up along with the format's own files)."""
    return Path(path).name.lower().endswith(ARCHIVE_SUFFIXES)


def display_name(name: str) -> str:
    """A member's name as shown and recorded: as written, but control and bidirectional
    characters escaped (a name cannot break a line of output or reorder what is shown)."""
    return _UNSAFE_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                             else f"\\u{ord(m.group()):04x}", name)


def _base(name: str) -> str:
    return re.split(r"[/\\]", name.rstrip("/\\"))[-1]


def _suffixes(name: str) -> str:
    """The member's last suffixes (``.json.gz``), for the private copy's generated name: only
    letters and digits, so the copy's name is ours whatever the member's."""
    base = _base(name)
    m = re.search(r"(?:\.[A-Za-z0-9]{1,10}){1,3}$", base)
    return m.group(0).lower() if m and m.start() > 0 else ""


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return str(n)


def renamed(exc: Exception, copy: str, display: str) -> Exception:
    """An error raised on a member's private copy, naming the member instead."""
    text = str(exc)
    if copy in text:
        exc.args = (text.replace(copy, display),)
    if getattr(exc, "path", None) == copy:
        exc.path = display
    return exc


class _Truncated(Exception):
    pass


class _Refused(Exception):
    """A member that must not be loaded (a bomb, too large): the archive goes on."""


class _Damaged(Exception):
    """A member that cannot be read to its end."""


class _Gunzip:
    """A gzip file read piece by piece, never more than asked for at once whatever the ratio
    (``zlib`` with ``max_length``), following concatenated members and zero padding as
    ``gzip`` does; ``consumed`` counts the compressed bytes used so far."""

    def __init__(self, fh, on_raw=None):
        self._fh = fh
        self._on_raw = on_raw
        self._d = zlib.decompressobj(wbits=31)
        self._in = b""
        self.raw_read = 0

    @property
    def consumed(self) -> int:
        return self.raw_read - len(self._in)

    def _fill(self) -> bytes:
        data = self._fh.read(1 << 16)
        self.raw_read += len(data)
        if data and self._on_raw is not None:
            self._on_raw(data)
        return data

    def read(self, n: int = -1) -> bytes:
        n = CHUNK if n is None or n < 0 else n
        while True:
            if self._d.eof:
                self._in = self._in.lstrip(b"\0")
                while not self._in:
                    more = self._fill()
                    if not more:
                        return b""  # the end, every gzip member whole
                    self._in = more.lstrip(b"\0")
                self._d = zlib.decompressobj(wbits=31)
            if not self._in:
                self._in = self._fill()
                if not self._in:
                    out = self._d.decompress(b"", n)  # what zlib still holds
                    if out:
                        return out
                    if self._d.eof:
                        continue
                    raise _Truncated()
            out = self._d.decompress(self._in, n)
            self._in = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
            if out:
                return out


@dataclass
class Member:
    """One entry of an archive, as handed to the loaders: a private copy to load (``path``),
    or a note saying why it is not loaded, or the error that refused it."""

    name: str                               # as written in the archive (control chars escaped)
    display: str                            # "<archive path>!<name>": its path in the workspace
    path: Path | None = None                # the private copy, while it exists
    note: str = ""
    error: UnreadableInputError | None = None


class Archive:
    """An archive opened read-only: hashed and checked on entering, its members copied one by
    one into a private temporary directory, removed on leaving."""

    def __init__(self, path, kind: str):
        self.path = Path(path).absolute()
        self.kind = kind
        self.sha256 = ""
        self.size = 0
        self.content_bytes: int | None = None
        self.data_end = 0       # just past the last byte of the (tar) content that is not zero
        self.entries = 0
        self._zip: zipfile.ZipFile | None = None
        self._dir: Path | None = None
        self._seq = 0
        self._out = 0       # bytes every member copied so far unpacked to
        self._copies: set[Path] = set()

    @property
    def note(self) -> str:
        """What each member's result says of the archive."""
        return f"from {self.kind} archive {self.path.name}, sha256 {self.sha256}"

    # -- opening -------------------------------------------------------------------------------

    def __enter__(self) -> "Archive":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> "Archive":
        """Hash and check the archive, and make the private directory for its members' copies."""
        try:
            self._survey()
            if self.kind == "zip":
                self._open_zip()
            try:
                self._dir = Path(tempfile.mkdtemp(prefix="investigate-archive-"))  # mode 0700
            except OSError as exc:
                raise InvestigateError(
                    f"{self.path}: cannot make a private temporary directory for its members under "
                    f"{tempfile.gettempdir()} ({exc.strerror or exc}); set TMPDIR to a writable "
                    "directory") from None
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove every copy and the private directory; close the archive."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._copies.clear()

    def _fail(self, problem: str) -> UnreadableInputError:
        return UnreadableInputError(self.path, problem)

    def _survey(self) -> None:
        """Hash the archive (the bytes on disk), and read a gzip stream to its end: a truncated
        or corrupt archive is refused before any member loads."""
        digest = hashlib.sha256()
        tail = b""
        try:
            with open(self.path, "rb") as fh:
                self.size = os.fstat(fh.fileno()).st_size
                if self.kind == "tar.gz":
                    gz = _Gunzip(fh, digest.update)
                    content = 0
                    limit = RATIO_LIMIT * self.size + RATIO_GRACE_BYTES
                    while piece := gz.read(CHUNK):
                        self._note_data(content, piece)
                        content += len(piece)
                        tail = (tail + piece)[-1024:]
                        if content > limit:
                            raise self._fail(
                                f"refused: the archive unpacks to more than {RATIO_LIMIT} times its "
                                f"size ({_size(content)} so far from {_size(self.size)}, the limit of "
                                f"archives.RATIO_LIMIT), the mark of a decompression bomb; nothing of "
                                f"it was loaded. {_TRUST}")
                    self.content_bytes = content
                    self.size = gz.raw_read
                else:
                    size = 0
                    while chunk := fh.read(CHUNK):
                        digest.update(chunk)
                        if self.kind == "tar":
                            self._note_data(size, chunk)
                        size += len(chunk)
                        tail = (tail + chunk)[-1024:]
                    self.size = self.content_bytes = size
        except UnreadableInputError:
            raise
        except PermissionError:
            raise self._fail("permission denied (the file is not readable by this user)") from None
        except _Truncated:
            raise self._fail(f"the gzip stream ends early: the archive is truncated ({self.size:,} "
                             "bytes on disk); nothing of it was loaded; ask for a complete copy "
                             "of the export") from None
        except zlib.error as exc:
            raise self._fail(f"the gzip stream is corrupt ({exc}); nothing of it was loaded; ask "
                             "for a fresh copy of the export") from None
        except OSError as exc:
            raise self._fail(f"cannot be read ({exc.strerror or exc})") from None
        self.sha256 = digest.hexdigest()
        if self.kind in ("tar", "tar.gz") and (self.content_bytes % 512 or tail.strip(b"\0")):
            raise self._fail(
                f"the tar archive ends early: it is truncated ({self.content_bytes:,} bytes of tar, "
                "without the zero blocks a whole tar ends with); nothing of it was loaded; ask "
                "for a complete copy of the export")

    def _note_data(self, offset: int, piece: bytes) -> None:
        data = piece.rstrip(b"\0")
        if data:
            self.data_end = offset + len(data)

    def _open_zip(self) -> None:
        broken = ("the zip archive's table of contents (its central directory, at the end of the "
                  "file) is missing or damaged: the file is probably truncated; nothing of it was "
                  "loaded; ask for a complete copy of the export")
        try:
            # The entry count, from the end record, before zipfile reads every entry into
            # memory: a zip claiming millions of entries is refused without reading them.
            end_record = getattr(zipfile, "_EndRecData", None)
            if end_record is not None:
                with open(self.path, "rb") as fh:
                    end = end_record(fh)
                if end is None:
                    raise self._fail(broken)
                self._check_count(end[zipfile._ECD_ENTRIES_TOTAL])
            self._zip = zipfile.ZipFile(self.path, "r")
        except UnreadableInputError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise self._fail(f"{broken} ({exc})") from None
        infos = self._zip.infolist()
        self._check_count(len(infos))
        # Entries whose data overlap (each at least its compressed size long, before the next
        # entry's header) are how a zip packs one compressed kernel into many large members.
        ordered = sorted(infos, key=lambda i: i.header_offset)
        for a, b in zip(ordered, ordered[1:] + [None]):
            end_of_a = a.header_offset + 30 + a.compress_size
            limit = b.header_offset if b is not None else self.size
            if end_of_a > limit:
                raise self._fail(
                    f"refused: its members overlap one another inside the file ({a.filename!r} "
                    f"runs into {b.filename if b else 'the end of the file'!r}), the construction of "
                    f"a zip bomb (or a damaged archive); nothing of it was loaded. {_TRUST}")

    def _check_count(self, n: int) -> None:
        if n > MAX_MEMBERS:
            raise self._fail(
                f"refused: it has {n:,} entries, more than the {MAX_MEMBERS:,} one archive may have "
                f"(archives.MAX_MEMBERS); nothing of it was loaded. Extract it with your own tools "
                "and ingest the folder")

    # -- members -------------------------------------------------------------------------------

    def members(self, loader=None):
        """Each entry but folders, in archive order: a :class:`Member` with a private copy to
        load, or with a note (skipped) or an error (refused). The copy of a member stays until
        :meth:`prune` (or leaving the archive) removes it. Raises UnreadableInputError when the
        archive cannot be read past some point (members before it have been handed out)."""
        entries = self._zip_members(loader) if self.kind == "zip" else self._tar_members(loader)
        yield from entries

    def prune(self, keep=()) -> None:
        """Remove the private copies of members that are done (all but ``keep``)."""
        keep = {str(p) for p in keep}
        for copy in list(self._copies):
            if str(copy) not in keep:
                copy.unlink(missing_ok=True)
                self._copies.discard(copy)

    def _member(self, name: str) -> Member:
        shown = display_name(name)
        return Member(name=shown, display=f"{self.path}!{shown}")

    def _skip_by_name(self, m: Member, loader) -> bool:
        base = _base(m.name)
        if base.startswith("."):
            m.note = "not loaded: a hidden file (as in a folder)"
        elif base.lower().endswith(ARCHIVE_SUFFIXES):
            m.note = _nested_note(base)
        elif loader is not None and not loader.accepts(PurePosixPath(base)):
            m.note = f"not loaded: not a {loader.name} file by its name (as in a folder)"
        return bool(m.note)

    def _zip_members(self, loader):
        for info in self._zip.infolist():
            if info.is_dir():
                continue
            m = self._member(info.filename)
            # The Unix file type, where the zip was made on Unix (create_system 3); other
            # systems' attributes say nothing of links or devices.
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFLNK:
                try:
                    with self._zip.open(info) as fh:
                        target = f" (to {display_name(fh.read(4096).decode('utf-8', 'replace'))!r})"
                except Exception:  # what it points to is only said, never used
                    target = ""
                m.note = f"not loaded: a symbolic link{target}; links are never followed"
            elif kind == stat.S_IFDIR:
                continue
            elif kind not in (0, stat.S_IFREG):
                m.note = f"not loaded: {_special(kind)}, not a file"
            elif self._skip_by_name(m, loader):
                pass
            elif info.flag_bits & 0x1:
                m.error = UnreadableInputError(m.display, "encrypted: the archive's password is needed "
                                                          "to read it; extract it with your own tools "
                                                          "and ingest the extracted file")
            else:
                try:
                    with self._zip.open(info) as src:
                        self._copy(m, src, lambda: info.compress_size)
                except _Refused as exc:
                    m.error = UnreadableInputError(m.display, str(exc))
                except (_Damaged, zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError,
                        EOFError, zlib.error) as exc:
                    m.error = UnreadableInputError(
                        m.display, f"cannot be read from the archive ({exc}): the member is damaged "
                                   "or stored in a way this reader does not know; nothing of it was "
                                   "loaded; ask for a fresh copy of the export")
            yield m

    def _tar_members(self, loader):
        loaded = 0
        with open(self.path, "rb") as fh:
            gz = _Gunzip(fh) if self.kind == "tar.gz" else None
            try:
                with tarfile.open(fileobj=gz or fh, mode="r|", bufsize=_TAR_BUFSIZE) as tf:
                    for ti in tf:
                        self.entries += 1
                        self._check_count(self.entries)
                        if ti.isdir():
                            continue
                        m = self._member(ti.name)
                        if ti.issym():
                            m.note = (f"not loaded: a symbolic link (to {display_name(ti.linkname)!r}); "
                                      "links are never followed")
                        elif ti.islnk():
                            m.note = (f"not loaded: a hard link (to {display_name(ti.linkname)!r}); "
                                      "links are never followed (the member it names is read on its own)")
                        elif not ti.isreg():
                            m.note = f"not loaded: {_tar_special(ti)}, not a file"
                        elif not self._skip_by_name(m, loader):
                            start = gz.consumed if gz else 0
                            compressed = (lambda: gz.consumed - start + _TAR_SLACK) if gz else None
                            try:
                                self._copy(m, tf.extractfile(ti), compressed)
                            except _Refused as exc:
                                m.error = UnreadableInputError(m.display, str(exc))
                        loaded += m.path is not None
                        yield m
                    # tarfile ends quietly at an entry header it cannot read; what lies after
                    # the point it stopped at must be the closing zero blocks, nothing else.
                    if tf.offset < self.data_end:
                        raise self._fail(
                            f"the tar archive is damaged after {loaded:,} whole member(s): it cannot be "
                            f"read past byte {tf.offset:,} of {self.content_bytes:,} (an entry header "
                            "that is not valid, or another archive appended after its end); those "
                            "members were loaded, nothing after them was; ask for a fresh copy of "
                            "the export")
            except UnreadableInputError:
                raise
            except (tarfile.TarError, _Damaged, _Truncated, zlib.error, EOFError, OSError) as exc:
                detail = str(exc) or ("the gzip stream ends early" if isinstance(exc, _Truncated)
                                      else type(exc).__name__)
                raise self._fail(
                    f"the tar archive is damaged after {loaded:,} whole member(s) ({detail}): those "
                    "were loaded, nothing after them was; ask for a fresh copy of the export") from None

    def _copy(self, m: Member, src, compressed) -> None:
        """Copy a member, as it is read, to a private file with a generated name, counting the
        bytes it unpacks to (refused past the limits); ``m.path`` is set once it is whole."""
        self._seq += 1
        copy = self._dir / f"{self._seq:06d}{_suffixes(m.name)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(copy, flags, 0o600)
        except OSError as exc:
            raise _Refused(f"cannot be copied to the temporary directory {self._dir.parent} "
                           f"({exc.strerror or exc}); set TMPDIR to a disk with room") from None
        produced = 0
        done = False
        try:
            with os.fdopen(fd, "wb") as out:
                first = True
                while True:
                    try:
                        chunk = src.read(CHUNK)
                    except (_Refused, _Truncated):
                        raise
                    except Exception as exc:
                        raise _Damaged(str(exc) or type(exc).__name__) from None
                    if not chunk:
                        break
                    if first:
                        first = False
                        nested = kind_of_head(chunk[:4096])
                        if nested:
                            m.note = _nested_note(nested)
                            return
                    produced += len(chunk)
                    self._out += len(chunk)
                    self._check(m, produced, compressed)
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise _Refused(f"cannot be copied to the temporary directory {self._dir.parent} "
                                       f"({exc.strerror or exc}); set TMPDIR to a disk with room") from None
            done = True
            m.path = copy
            self._copies.add(copy)
        finally:
            if not done:
                copy.unlink(missing_ok=True)

    def _check(self, m: Member, produced: int, compressed) -> None:
        if produced > MAX_MEMBER_BYTES:
            raise _Refused(f"refused: it unpacks to more than {_size(MAX_MEMBER_BYTES)}, the most one "
                           f"member of an archive may (archives.MAX_MEMBER_BYTES); nothing of it was "
                           f"loaded. {_TRUST}")
        if compressed is not None and produced > RATIO_GRACE_BYTES:
            packed = max(compressed(), 1)
            if produced > RATIO_LIMIT * packed:
                raise _Refused(
                    f"refused as a likely decompression (zip) bomb: it had unpacked to {produced:,} bytes "
                    f"from {packed:,} compressed when it was stopped, a ratio of {produced // packed:,}:1, "
                    f"above the limit of {RATIO_LIMIT}:1 (archives.RATIO_LIMIT); nothing of it was "
                    f"loaded. {_TRUST}")
        if self._out > RATIO_LIMIT * self.size + RATIO_GRACE_BYTES:
            raise self._fail(
                f"refused: its members unpack to more than {RATIO_LIMIT} times the archive's size "
                f"({_size(self._out)} so far from {_size(self.size)}; archives.RATIO_LIMIT), the mark "
                f"of a decompression bomb; nothing from {m.display} on was loaded. {_TRUST}")


def _nested_note(kind: str) -> str:
    return (f"not loaded: an archive inside the archive ({kind}); nested archives are not expanded, "
            "since each level multiplies what a small file can unpack to; extract it and ingest it "
            "on its own")


def _special(kind: int) -> str:
    return {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
            stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}.get(kind, "a special entry")


def _tar_special(ti: tarfile.TarInfo) -> str:
    if ti.ischr():
        return "a character device"
    if ti.isblk():
        return "a block device"
    if ti.isfifo():
        return "a FIFO"
    return f"a special entry (tar type {ti.type!r})"


def combined(path, results: list):
    """One result for a whole archive (what :func:`base.ingest_file` returns for one): the
    members' counts summed, their rejects with the member named. The archive's sha256 is the
    one its members carry (taken once, when it was opened), or, for an archive without files,
    its own result's."""
    from .base import LoadResult, Reject

    sha256 = next((r.archive_sha256 for r in results if r.archive_sha256), None) or results[0].sha256
    loaded = [r for r in results if not r.skipped]
    tables = {r.table for r in loaded}
    formats = {r.format for r in loaded} or {r.format for r in results}
    out = LoadResult(path=str(Path(path).absolute()), format=formats.pop() if len(formats) == 1 else "several",
                     table=tables.pop() if len(tables) == 1 else None, sha256=sha256,
                     skipped=not loaded)
    out.rows_read = sum(r.rows_read for r in loaded)
    out.rows_loaded = sum(r.rows_loaded for r in loaded)
    out.rows_rejected = sum(r.rows_rejected for r in loaded)
    out.rows_set_apart = sum(r.rows_set_apart for r in loaded)
    out.rejects = [Reject(j.record, f"{Path(r.path).name}: {j.reason}", j.raw) for r in loaded for j in r.rejects]
    starts = [r.ts_min for r in loaded if r.ts_min is not None]
    ends = [r.ts_max for r in loaded if r.ts_max is not None]
    out.ts_min, out.ts_max = (min(starts) if starts else None), (max(ends) if ends else None)
    out.note = (f"archive of {len(results)} member(s): {len(loaded)} loaded, {len(results) - len(loaded)} "
                "skipped (ingest() gives each member's result)")
    return out
