"""Splitting a file into records, as one text value per record, for the loaders to parse in SQL.

Two shapes cover what exports look like:

- **lines**: one record per physical line (JSON Lines, web and S3 access logs, flow logs). DuckDB
  reads the lines itself, streaming, and numbers them (the record number is the line number;
  blank lines are not records).
- **JSON documents**: a file that is one JSON value (or several, one after another) rather than
  one object per line: a ``{"Records": [...]}`` wrapper as CloudTrail delivers to S3, Azure's
  ``{"records": [...]}``, a top-level array, a single pretty-printed object, a MySQL audit file
  that is an array without its brackets. These are decoded in Python, value by value, and
  rewritten as JSON Lines in a temporary file; the record number is the record's position in
  the file (1 = the first event). Such files are small (CloudTrail writes one every five
  minutes); a very large one is refused with a message saying how to convert it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field

from ..errors import UnreadableInputError
from .sources import SourceFile, head_bytes, read_head
from .typed import Params

# Keys under which exporters wrap a list of records.
WRAPPER_KEYS = ("Records", "records", "value", "events", "logs")
_WRAPPER_START = re.compile(r'\s*\{\s*"(?:' + "|".join(WRAPPER_KEYS) + r')"\s*:\s*\[')
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
# Longest record read as a line (DuckDB sizes its read buffers from it, so it stays modest); a
# longer record is a reject with a reason, not a failed load.
MAX_LINE_BYTES = 4 * 1024 * 1024


# Reading a file in parts: DuckDB numbers lines (WITH ORDINALITY) on one thread only, and the
# parsing that follows in the same pipeline stays on that thread. A file read as several
# branches of a UNION ALL, each keeping the lines of one range of line numbers, is parsed on as
# many threads; each branch still scans the lines before its range, which is cheap next to
# parsing them. Files smaller than two parts are read in one piece.
PARTS = max(1, min(os.cpu_count() or 1, 4))
MIN_PART_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RecordFile:
    """One file of a batch as its records are read: ``no`` is its number in the batch (the
    ``__file`` column, from 1); ``path`` a rewritten copy to read instead (a JSON document as
    JSON Lines), or None."""

    no: int
    source: SourceFile
    path: str | None = None


# What a second pass leaves out, by file number: the SQL of the record numbers already loaded
# (None: none). A file not named is not read at all.
Exclude = dict[int, "str | None"]


def lines_sql(source: SourceFile, p: Params, path: str | None = None, parts: bool = True,
              exclude: Exclude | None = None, file_no: int = 1) -> str:
    """SELECT ``__file`` (``file_no``), ``__rec`` (line number) and ``__line`` (text, no line
    ending) for every non-blank line of the file, streamed by DuckDB (on several threads for a
    large file, unless ``parts`` is false: counting the lines is quicker in one piece).
    ``exclude``: what a streamed loader's second pass leaves out (see :data:`Exclude`)."""
    if exclude is not None and file_no not in exclude:
        return "(SELECT NULL::INTEGER AS __file, NULL::BIGINT AS __rec, NULL::VARCHAR AS __line WHERE false)"
    file = path or str(source.path)
    compression = "none" if path else source.compression
    content = os.path.getsize(path) if path else source.content_bytes
    # DuckDB reads through buffers sized from the longest line allowed (64 MB for 4 MB lines),
    # one per file of a batch being read; no line is longer than its file, so a small file
    # gets buffers its own size.
    longest = min(MAX_LINE_BYTES, max(content + 1, 1 << 16))
    buffer = f", buffer_size={2 * longest}" if longest < MAX_LINE_BYTES else ""
    # suffix() and a regex that stops at the first non-blank character: rtrim()/trim() walk
    # every line in full, which made reading several times slower.
    read = (f"SELECT ordinality AS __rec, line FROM read_csv("
            f"{p.add(file)}, columns={{'line': 'VARCHAR'}}, header=false, "
            f"delim='\\0', quote='', escape='', auto_detect=false, strict_mode=false, "
            f"compression={p.add(compression)}, max_line_size={longest}{buffer}) WITH ORDINALITY")
    bounds = parts and part_bounds(file, compression, content)
    if bounds:
        branches = []
        for lo, hi in zip([0, *bounds], [*bounds, None]):
            where = f"__rec > {p.add(lo, 'BIGINT')}"
            if hi is None:
                branches.append(f"SELECT * FROM ({read}) WHERE {where}")
            else:
                # Exactly hi - lo lines match, so the LIMIT only stops the scan once they are read.
                branches.append(f"SELECT * FROM (SELECT * FROM ({read}) WHERE {where} "
                                f"AND __rec <= {p.add(hi, 'BIGINT')} LIMIT {p.add(hi - lo, 'BIGINT')})")
        read = " UNION ALL ".join(branches)
    skip = f" AND __rec NOT IN ({exclude[file_no]})" if exclude and exclude[file_no] else ""
    return (f"(SELECT {int(file_no)}::INTEGER AS __file, __rec, "
            f"CASE WHEN suffix(line, chr(13)) THEN left(line, -1) ELSE line END AS __line "
            f"FROM ({read}) WHERE regexp_matches(line, '\\S'){skip})")


def batch_lines_sql(files: list[RecordFile], p: Params, parts: bool = True,
                    exclude: Exclude | None = None) -> str:
    """:func:`lines_sql` of several files at once (one branch each, told apart by ``__file``):
    a batch of small files is read, typed and written by one statement, planned once."""
    read = [f for f in files if exclude is None or f.no in exclude]
    if not read:
        return lines_sql(files[0].source, p, exclude={}, file_no=files[0].no)
    return "(" + " UNION ALL ".join(
        f"SELECT * FROM {lines_sql(f.source, p, path=f.path, parts=parts, exclude=exclude, file_no=f.no)}"
        for f in read) + ")"


def part_bounds(file: str, compression: str, content_bytes: int, parts: int | None = None) -> list[int]:
    """Line numbers at which a file's parts end (the last part runs to the end of the file),
    estimated from the mean length of the lines in its first 64 KB; empty when the file is read
    in one piece. Only the balance between the parts depends on the estimate, never which line
    is read, or how often."""
    parts = PARTS if parts is None else parts
    parts = min(parts, content_bytes // MIN_PART_BYTES)
    if parts < 2:
        return []
    head = read_head(file, compression, 65536)
    newlines = head.count(b"\n")
    if not newlines:
        return []
    lines = content_bytes * newlines / (head.rindex(b"\n") + 1)
    return sorted({b for b in (round(lines * i / parts) for i in range(1, parts)) if b > 0})


def _read_text(source: SourceFile) -> str:
    if source.content_bytes > MAX_DOCUMENT_BYTES:
        raise UnreadableInputError(
            source.path, f"one JSON document of {source.content_bytes:,} bytes is too large to read "
                         "at once; convert it to JSON Lines first (e.g. jq -c '.Records[]')")
    data = head_bytes(source, -1)
    encoding = "utf-16" if source.encoding == "utf-16" else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableInputError(source.path, f"not UTF-8 text (byte {exc.start}); JSON must be "
                                                "UTF-8 (RFC 8259)") from None


def is_line_oriented(source: SourceFile, lines: int = 5) -> bool:
    """True when one of the first few non-blank lines is a complete JSON object that is not a
    wrapper (a JSON Lines file whose first line is cut or broken is still JSON Lines: read as a
    document, everything after the bad line would be one reject)."""
    head = head_bytes(source, 1 << 20)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if _WRAPPER_START.match(text):  # e.g. CloudTrail's {"Records": [...]}: no need to parse it
        return False
    seen = [line.strip() for line in text.splitlines()[:1000] if line.strip()][:lines]
    for line in seen:
        # The marks of a document: an array, a pretty-printed object, values followed by
        # commas (MySQL's audit log is an array without its brackets).
        if line.startswith("[") or line == "{" or line.endswith(","):
            return False
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a broken line: the next ones say what the file is
        return isinstance(value, dict) and not any(isinstance(value.get(k), list) for k in WRAPPER_KEYS)
    return not seen


@dataclass
class DocumentRecords:
    """Records found in a JSON document file, rewritten as JSON Lines."""

    path: str                       # the temporary JSON Lines file
    count: int = 0                  # records written
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (record, reason, raw)

    def cleanup(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


def document_records(source: SourceFile, wrapper_keys=WRAPPER_KEYS, tmpdir: str | None = None) -> DocumentRecords:
    """Decode every JSON value in the file and write its records, one per line.

    A wrapper object contributes the elements of its list; an array its elements; any other
    value is one record. Values may follow each other separated by white space or commas (MySQL
    writes its audit log as an array without brackets). A top-level array, or a wrapper's list,
    is entered and decoded element by element, so a file cut part-way still gives every record
    before the cut. Where the text stops being JSON, the rest of the file is one reject naming
    the line, since no record boundary can be trusted after it.
    """
    text = _read_text(source)
    decoder = json.JSONDecoder()
    fd, path = tempfile.mkstemp(suffix=".jsonl", prefix="investigate-records-", dir=tmpdir)
    out = DocumentRecords(path)
    try:
        _split_document(text, fd, out, decoder, wrapper_keys)
    except BaseException:
        out.cleanup()  # never leave a copy of the evidence behind in the temp directory
        raise
    return out


def _record_line(record) -> str:
    try:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        line.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate escape ("\ud800") decodes to text UTF-8 cannot hold; written as an
        # escape again, the record keeps its meaning.
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
    return line + "\n"


def _split_document(text: str, fd: int, out: DocumentRecords, decoder: json.JSONDecoder,
                    wrapper_keys) -> None:
    wrapper_start = re.compile(r'\{\s*"(?:' + "|".join(map(re.escape, wrapper_keys)) + r')"\s*:\s*\[')
    pos, end = 0, len(text)
    closing = ""  # what closes the array we are inside: "]" (an array), "]}" (a wrapper), or ""
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        while True:
            while pos < end and text[pos] in " \t\r\n,\ufeff":
                pos += 1
            if pos >= end:
                break
            if closing and text.startswith("]", pos):
                pos = _after_members(text, pos + 1, decoder) if closing == "]}" else pos + 1
                closing = ""
                continue
            if not closing:
                if text[pos] == "[":
                    closing, pos = "]", pos + 1
                    continue
                m = wrapper_start.match(text, pos)
                if m:
                    closing, pos = "]}", m.end()
                    continue
            start = pos
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                out.count += 1
                line = text.count("\n", 0, pos) + 1  # where the bad record starts
                out.problems.append((out.count, f"not valid JSON from line {line} on ({exc.msg}); "
                                                "the rest of the file cannot be split into records",
                                     text[pos:pos + 200]))
                break
            except RecursionError:
                out.count += 1
                out.problems.append((out.count, "a JSON value nested too deeply to read (over about "
                                                "a thousand levels); the rest of the file cannot be "
                                                "split into records", text[pos:pos + 200]))
                break
            if not closing and isinstance(value, dict):
                wrapped = next((value[k] for k in wrapper_keys if isinstance(value.get(k), list)), None)
                if wrapped is not None:
                    for record in wrapped:
                        out.count += 1
                        fh.write(_record_line(record))
                    continue
            elif not closing and isinstance(value, list):
                for record in value:
                    out.count += 1
                    fh.write(_record_line(record))
                continue
            # One record: kept as written when it is one line (its own bytes, and no cost of
            # writing it again), else written again on one line.
            out.count += 1
            written = text[start:pos]
            if "\n" in written or "\r" in written or "\u2028" in written or "\u2029" in written:
                written = _record_line(value)
            else:
                written += "\n"
            fh.write(written)


def _after_members(text: str, pos: int, decoder: json.JSONDecoder) -> int:
    """Past the rest of a wrapper object once its list is read: further ``"key": value``
    members (a next-page token, a count) and the closing brace."""
    end = len(text)
    while pos < end:
        while pos < end and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= end or text[pos] == "}":
            return pos + 1
        try:
            _, pos = decoder.raw_decode(text, pos)      # the key
            while pos < end and text[pos] in " \t\r\n:":
                pos += 1
            _, pos = decoder.raw_decode(text, pos)      # its value
        except json.JSONDecodeError:
            return pos  # left for the main loop to report
    return pos
