"""Plain text: one document per non-empty line (``text-lines``) or the whole file as one (``text-file``).

Rows are ``{"text": ...}``. Lines keep their leading and trailing spaces (only the line ending is
removed); blank lines are counted, not rows. Invalid UTF-8 is recovered as GBK when that yields Chinese
text, otherwise the line becomes an error row (``text-file``: the bytes are replaced and noted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from datamill.io.decoding import GBK_NOTE, decode_gbk, raw_prefix
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow
from datamill.io.streams import ByteSource, iter_lines, read_all, strip_bom


def read_text(
    stream: ByteSource, display: str, options: Mapping[str, Any], report: ReadReport
) -> Iterator[RawRow]:
    """Rows of a text file; ``options["text_unit"]`` is ``line`` (default) or ``file``."""
    if options.get("text_unit", "line") == "file":
        yield _whole_file(stream, display, report)
        return
    lineno = 0
    first, offset = strip_bom(stream, report)
    for line in iter_lines(stream, first):
        lineno += 1
        start = offset
        offset += len(line) + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip():
            report.blank_lines += 1
            continue
        location = f"{display}:{lineno}"
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            recovered = decode_gbk(line)
            if recovered is None:
                report.errors += 1
                yield RawRow(None, location, error=f"invalid UTF-8 at byte {start + exc.start}",
                             raw=raw_prefix(line), offset=start)
                continue
            report.recover(GBK_NOTE)
            report.rows += 1
            yield RawRow({"text": recovered}, location, note=f"recovered: {GBK_NOTE}", offset=start)
            continue
        report.rows += 1
        yield RawRow({"text": text}, location, offset=start)


def _whole_file(stream: ByteSource, display: str, report: ReadReport) -> RawRow:
    first, _ = strip_bom(stream, report)
    data = first + read_all(stream)
    note = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        recovered = decode_gbk(data)
        if recovered is not None:
            text, note = recovered, f"recovered: {GBK_NOTE}"
            report.recover(GBK_NOTE)
        else:
            text, note = data.decode("utf-8", "replace"), "recovered: invalid UTF-8 replaced with U+FFFD"
            report.recover("invalid UTF-8 replaced")
    report.rows += 1
    return RawRow({"text": text}, display, note=note, offset=0)
