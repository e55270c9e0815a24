"""Input files as evidence: hash them, check compressed streams are whole, detect encoding.

Everything here reads the file once, in chunks, before any row is loaded: the sha256 recorded in
``ingests`` is the hash of the bytes as they sit on disk, and a truncated ``.gz``/``.zst`` is
refused before it can half-load.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnreadableInputError

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class SourceFile:
    """One input file as inspected before loading."""

    path: Path              # as given, made absolute
    sha256: str             # of the bytes on disk
    size: int               # bytes on disk
    compression: str        # "none", "gzip" or "zstd" (from the content, not the name)
    content_bytes: int      # bytes after decompression
    encoding: str           # "utf-8" or "utf-16", from a byte-order mark
    longest_line: int = 0   # bytes of its longest line, when at least CHUNK (else 0: shorter)

    @property
    def empty(self) -> bool:
        return self.content_bytes == 0


class _LongestLine:
    """The longest line of a stream, fed in chunks, when it is at least as long as a chunk:
    two searches per chunk (a shorter line lies inside one chunk and is never measured)."""

    def __init__(self):
        self.open = 0       # bytes since the last line break
        self.longest = 0

    def feed(self, data: bytes) -> None:
        first = data.find(b"\n")
        if first < 0:
            self.open += len(data)
        else:
            self.longest = max(self.longest, self.open + first)
            self.open = len(data) - data.rfind(b"\n") - 1
        self.longest = max(self.longest, self.open)


def _detect_compression(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _Gunzip:
    """Streaming gzip check that follows concatenated members, as ``gzip`` itself does."""

    def __init__(self):
        self._d = zlib.decompressobj(wbits=31)
        self.out = 0
        self.head = b""
        self.lines = _LongestLine()

    def feed(self, chunk: bytes) -> None:
        while chunk:
            if self._d.eof:
                if not chunk.strip(b"\0"):
                    return  # zero padding after the last member, as tape-era tools write
                self._d = zlib.decompressobj(wbits=31)
            # At most CHUNK out per call: a megabyte of a gzip bomb unpacks to a gigabyte.
            self._note(self._d.decompress(chunk, CHUNK))
            if self._d.eof:
                chunk = self._d.unused_data
            else:
                chunk = self._d.unconsumed_tail

    def _note(self, data: bytes) -> None:
        self.out += len(data)
        self.lines.feed(data)
        if len(self.head) < 4:
            self.head += data[:4]

    def finish(self) -> bool:
        return self._d.eof


class _Unzstd:
    def __init__(self):
        import zstandard  # imported here: only zstd inputs need it

        self._z = zstandard
        self._d = zstandard.ZstdDecompressor().decompressobj()
        self.out = 0
        self.head = b""
        self.lines = _LongestLine()

    def feed(self, chunk: bytes) -> None:
        while chunk:
            data = self._d.decompress(chunk)
            self.out += len(data)
            self.lines.feed(data)
            if len(self.head) < 4:
                self.head += data[:4]
            if self._d.eof and self._d.unused_data:
                chunk = self._d.unused_data
                self._d = self._z.ZstdDecompressor().decompressobj()
            else:
                chunk = b""

    def finish(self) -> bool:
        return self._d.eof


def inspect(path: str | os.PathLike) -> SourceFile:
    """Hash a file and check that it can be read to the end.

    Raises
    ------
    UnreadableInputError
        The file is missing, not a regular file, not readable, or a compressed stream in it is
        truncated or corrupt.
    """
    p = Path(path).absolute()
    if not p.exists():
        raise UnreadableInputError(p, "no such file")
    if p.is_dir():
        raise UnreadableInputError(p, "is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise UnreadableInputError(p, "permission denied (the file is not readable by this user)")
    digest = hashlib.sha256()
    size = 0
    checker = None
    compression = "none"
    head = b""
    lines = _LongestLine()
    try:
        with open(p, "rb") as fh:
            while chunk := fh.read(CHUNK):
                if size == 0:
                    compression = _detect_compression(chunk[:4])
                    checker = {"gzip": _Gunzip, "zstd": _Unzstd}.get(compression, lambda: None)()
                    head = chunk[:4]
                digest.update(chunk)
                size += len(chunk)
                if checker is not None:
                    checker.feed(chunk)
                else:
                    lines.feed(chunk)
    except PermissionError:
        raise UnreadableInputError(p, "permission denied (the file is not readable by this user)") from None
    except Exception as exc:  # zlib.error, zstd.ZstdError, OSError: all mean "cannot read it"
        if checker is not None:
            raise UnreadableInputError(p, f"the {compression} stream is corrupt ({exc}); "
                                          "ask for a fresh copy of the export") from None
        raise UnreadableInputError(p, f"cannot be read ({exc})") from None
    content_bytes = size
    if checker is not None:
        if not checker.finish():
            raise UnreadableInputError(
                p, f"the {compression} stream ends early: the file is truncated "
                   f"({size} bytes on disk); ask for a complete copy of the export")
        content_bytes = checker.out
        head = checker.head
        lines = checker.lines
    encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
    longest = lines.longest if lines.longest >= CHUNK else 0
    return SourceFile(path=p, sha256=digest.hexdigest(), size=size, compression=compression,
                      content_bytes=content_bytes, encoding=encoding, longest_line=longest)


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (a reference file, an input checked again after loading,
    an exported file)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableInputError(path, f"cannot be read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def head_bytes(source: SourceFile, n: int = 65536) -> bytes:
    """The first ``n`` bytes of a file's content (decompressed); all of it with ``n=-1``."""
    return read_head(source.path, source.compression, n)


def read_head(path: str | os.PathLike, compression: str, n: int = 65536) -> bytes:
    """The first ``n`` bytes of a file's content, decompressed as ``compression`` says."""
    if compression == "gzip":
        import gzip

        with gzip.open(path, "rb") as fh:
            return fh.read(n)
    if compression == "zstd":
        import zstandard

        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as fh:
            return fh.read(n)
    with open(path, "rb") as fh:
        return fh.read(n)


def header_fields(source: SourceFile, delimiter: str | None, quote: str = '"',
                  candidates: str = ",;\t|") -> tuple[str, list[str]]:
    """The delimiter and the field names of a delimited file, read from its first line.

    The header is the one line an export always gets right; a reader's whole-file sniffer can be
    led astray by the very malformed rows we want to report. With no delimiter given, the
    candidate that splits the header most often wins.
    """
    import csv

    head = head_bytes(source)
    text = head.decode("utf-16" if source.encoding == "utf-16" else "utf-8", errors="replace")
    first = (text.lstrip("\ufeff").splitlines() or [""])[0]  # (a file that is only a BOM has none)
    if delimiter is None:
        counts = {c: first.count(c) for c in candidates}
        best = max(counts, key=lambda c: counts[c])
        delimiter = best if counts[best] else ","
    if len(delimiter) == 1:
        fields = next(csv.reader([first], delimiter=delimiter, quotechar=quote or None), [])
    else:
        fields = first.split(delimiter)
    return delimiter, fields
