"""Big JSON Lines files read by several workers: byte ranges aligned to line starts.

A local, uncompressed JSON Lines file holding more than two shards' worth of records is cut into ranges
of about one shard each. Each boundary moves forward to the start of the next line, so every line
belongs to exactly one range (the one its first byte is in) and is read once. Record ids and locations
must not depend on the split (``<input>:<row>``, ``file:line``), so a cheap first pass counts each
range's lines and blank lines in parallel (blank lines are not rows), and every range starts numbering
where the ranges before it ended. A UTF-8 BOM is stripped only at the start of the file.

Not split: compressed files and archive members (no random access), CSV/TSV (quoted fields may hold
newlines), other encodings than UTF-8, and inputs with ``limit``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from datamill.io.compression import archive_kind, split_compression
from datamill.io.detect import HEAD_BYTES, sniff
from datamill.io.report import ReadReport
from datamill.io.rows import FileDetection, RawRow
from datamill.io.sources import SourceFile
from datamill.io.streams import UTF8_BOM, iter_lines

#: below this many bytes per range splitting is not worth a task
MIN_RANGE_BYTES = 4 << 20
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zXZ\x00", b"PK\x03\x04")


@dataclass(frozen=True)
class ByteRange:
    """Lines whose first byte is in ``[start, end)``; numbering starts at ``first_line`` (1-based lines
    before it) and ``first_row`` (rows before it)."""

    index: int
    start: int
    end: int
    first_line: int = 0
    first_row: int = 0


def local_path(source: SourceFile) -> str | None:
    url = source.url
    if url.startswith("file://"):
        url = url[len("file://"):]
    return None if "://" in url else url


def splittable(source: SourceFile, limit: int | None) -> int:
    """The file's size when it can be read in ranges, else 0."""
    path = local_path(source)
    if path is None or limit is not None or source.file_format not in ("auto", "jsonl"):
        return 0
    name = os.path.basename(path)
    if split_compression(name)[1] is not None or archive_kind(name) is not None:
        return 0
    encoding = str(source.options.get("encoding") or "utf-8").lower().replace("_", "-")
    if encoding not in ("utf-8", "utf8", "utf-8-sig"):
        return 0
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES + 1)
    except OSError:
        return 0
    if head.startswith(_COMPRESSED_MAGIC):
        return 0
    detection = sniff(name, head[:HEAD_BYTES], len(head) <= HEAD_BYTES, source.options, source.file_format)
    return size if detection.file_format == "jsonl" and not detection.options.get("encoding") else 0


def plan_ranges(path: str, size: int, target: int) -> list[ByteRange]:
    """Ranges of about ``target`` bytes, each boundary moved to the start of the next line."""
    target = max(target, MIN_RANGE_BYTES)
    count = max(1, round(size / target))
    starts = [0]
    with open(path, "rb") as fh:
        for k in range(1, count):
            nominal = k * size // count
            if nominal <= starts[-1]:
                continue
            fh.seek(nominal - 1)
            position = nominal - 1
            while True:  # the first line start at or after the nominal boundary
                block = fh.read(1 << 16)
                if not block:
                    position = size
                    break
                newline = block.find(b"\n")
                if newline >= 0:
                    position += newline + 1
                    break
                position += len(block)
            if starts[-1] < position < size:
                starts.append(position)
    ends = [*starts[1:], size]
    return [ByteRange(i, s, e) for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


class RangeStream:
    """A binary stream over ``[start, end)`` of a file (``read`` returns b"" at ``end``)."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self._fh: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._fh.seek(start)
        self._left = end - start

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._fh.read(self._left if n is None or n < 0 else min(n, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._fh.close()


def _lines(path: str, r: ByteRange) -> Iterator[bytes]:
    stream = RangeStream(path, r.start, r.end)
    try:
        first = stream.read(1 << 20)
        if r.start == 0 and first.startswith(UTF8_BOM):
            first = first[len(UTF8_BOM):]
        yield from iter_lines(stream, first)
    finally:
        stream.close()


def count_range(path: str, r: ByteRange) -> tuple[int, int]:
    """(lines, blank lines) of the range, exactly as the JSON Lines reader counts them."""
    lines = blanks = 0
    for line in _lines(path, r):
        lines += 1
        if not line.strip():
            blanks += 1
    return lines, blanks


def numbered(ranges: list[ByteRange], counts: list[tuple[int, int]]) -> list[ByteRange]:
    """The ranges with ``first_line``/``first_row`` from the counts of the ranges before each."""
    out = []
    line = row = 0
    for r, (lines, blanks) in zip(ranges, counts, strict=True):
        out.append(ByteRange(r.index, r.start, r.end, line, row))
        line += lines
        row += lines - blanks
    return out


def target_bytes(path: str, shard_size: int) -> int:
    """About one shard's bytes: the mean line length of the file's first 64 KiB times ``shard_size``."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    lines = max(1, head.count(b"\n"))
    return len(head) // lines * shard_size


class RangeRows:
    """The rows of one byte range, with the counters ``ingest`` reads from a row stream."""

    def __init__(self, source: SourceFile, r: ByteRange) -> None:
        from datamill.io.readers.jsonl import read_jsonl

        path = local_path(source)
        assert path is not None
        self.report = ReadReport()
        self._stream = RangeStream(path, r.start, r.end)
        self._rows = read_jsonl(self._stream, source.display, source.options, self.report,
                                first_line=r.first_line, first_offset=r.start)
        self.detection_description = f"jsonl, bytes {r.start}-{r.end} (range {r.index})"
        #: how each part was read, as ``RowStream.detections`` (options are checked by the whole file's read)
        self.detections: list[tuple[str, FileDetection]] = []

    def __iter__(self) -> Iterator[RawRow]:
        return self._rows

    @property
    def blank_lines(self) -> int:
        return self.report.blank_lines

    @property
    def bom(self) -> bool:
        return self.report.bom
