"""``read_rows``: turn one :class:`SourceFile` into a stream of :class:`RawRow`.

Detects the container (unless the recipe set ``file_format``), opens compressed files and archive
members, transcodes non-UTF-8 text, and dispatches to the reader for the format. The returned
:class:`RowStream` is an iterator whose counters (``blank_lines``, ``recovered``, ``bom``, ``rows``,
``errors``) and ``detections`` are complete once it is exhausted.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from datamill.errors import FormatDetectionError
from datamill.io.compression import Member, MemberChoice, iter_members
from datamill.io.detect import HEAD_BYTES, sniff
from datamill.io.readers.csv import read_delimited
from datamill.io.readers.json_values import read_json_values
from datamill.io.readers.jsonl import read_jsonl
from datamill.io.readers.parquet import read_parquet
from datamill.io.readers.text import read_text
from datamill.io.report import ReadReport
from datamill.io.rows import FileDetection, RawRow
from datamill.io.sources import SourceFile
from datamill.io.streams import UTF8_NAMES, ByteSource, PeekableStream, TranscodingStream, read_all

Reader = Callable[[ByteSource, str, Mapping[str, Any], ReadReport], Iterator[RawRow]]

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "json": read_json_values,
    "csv": read_delimited,
    "tsv": read_delimited,
    "text-lines": read_text,
    "text-file": read_text,
}


class RowStream(Iterator[RawRow]):
    """The rows of one source, plus what was noticed while reading them."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.report = ReadReport()
        #: which archive members are read, and which were skipped (with the reason), for the notes
        self.members = MemberChoice(source.members, bool(source.options.get("allow_outside_paths", False)))
        #: ``(display, detection)`` for every file or archive member read, in order.
        self.detections: list[tuple[str, FileDetection]] = []
        self._rows = self._generate()

    def __iter__(self) -> RowStream:
        return self

    def __next__(self) -> RawRow:
        return next(self._rows)

    def close(self) -> None:
        """Stop early and release the open file."""
        self._rows.close()

    @property
    def detection_description(self) -> str | None:
        """How the container was decided, for the run log (``jsonl (confidence 1.00): ...``)."""
        if not self.detections:
            return None
        parts = []
        for display, det in self.detections[:3]:
            where = "" if display == self.source.display else f"{display}: "
            parts.append(f"{where}{det.file_format} (confidence {det.confidence:.2f}: {det.reason})")
        more = len(self.detections) - 3
        return "; ".join(parts) + (f"; and {more} more members" if more > 0 else "")

    @property
    def blank_lines(self) -> int:
        return self.report.blank_lines

    @property
    def recovered(self) -> dict[str, int]:
        return self.report.recovered

    @property
    def bom(self) -> bool:
        return self.report.bom

    @property
    def rows(self) -> int:
        return self.report.rows

    @property
    def errors(self) -> int:
        return self.report.errors

    def _generate(self) -> Generator[RawRow, None, None]:
        source = self.source
        if source.file_format == "hf":
            from datamill.io.readers.hf import read_hf

            detection = FileDetection("hf", 1.0, "a Hugging Face Hub dataset", {})
            self.detections.append((source.display, detection))
            yield from read_hf(source, self.report)
            return
        for member in iter_members(source.url, source.display, self.members):
            yield from self._read_member(member)

    def _read_member(self, member: Member) -> Iterator[RawRow]:
        source = self.source
        stream = member.stream if isinstance(member.stream, PeekableStream) else PeekableStream(member.stream)
        head = stream.peek_head(HEAD_BYTES + 1)
        try:
            detection = sniff(member.name, head[:HEAD_BYTES], len(head) <= HEAD_BYTES, source.options,
                              source.file_format)
        except FormatDetectionError as exc:
            if member.display == source.display:  # the file itself, not an archive member
                raise FormatDetectionError(f"{source.display}: {exc.message}", hint=exc.hint) from None
            self.members.skip(member.display.split("!", 1)[1], "binary data that is not Parquet")
            return
        self.detections.append((member.display, detection))
        options = dict(detection.options)
        if detection.file_format == "text-file":
            options["text_unit"] = "file"
        if detection.file_format == "parquet":
            yield from self._read_parquet(member, stream, options)
            return
        reader = READERS[detection.file_format]
        encoding = str(options.get("encoding") or "utf-8")
        data: ByteSource = stream
        if encoding.lower() not in UTF8_NAMES:
            data = TranscodingStream(stream, encoding)
        yield from reader(data, member.display, options, self.report)

    def _read_parquet(
        self, member: Member, stream: ByteSource, options: Mapping[str, Any]
    ) -> Iterator[RawRow]:
        if member.url is not None:
            import fsspec

            with fsspec.open(member.url, "rb") as handle:
                yield from read_parquet(handle, member.display, options, self.report)
        else:
            yield from read_parquet(io.BytesIO(read_all(stream)), member.display, options, self.report)


def read_rows(source: SourceFile) -> RowStream:
    """Rows of ``source``: detects the format when it is ``auto`` and never raises for a bad row.

    Raises :class:`~datamill.errors.InputError` when the file cannot be opened and
    :class:`~datamill.errors.FormatDetectionError` when its content cannot be recognised.
    """
    return RowStream(source)
