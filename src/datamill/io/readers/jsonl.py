"""JSON Lines: one JSON object per line, read fast and forgivingly.

The hot path is ``orjson.loads`` on each line of large binary chunks (CRLF needs no work: ``\\r`` is
JSON whitespace). Anything that fails goes to a slow path that says why, or repairs the line and says
how (``RawRow.note``, counted in ``report.recovered``):

* blank line: counted in ``report.blank_lines``, not a row;
* NUL bytes: removed when the rest parses ("removed NUL bytes"), else an error row;
* invalid UTF-8: recovered when the line is plausible GBK Chinese ("decoded as GBK"), else the error
  ``invalid UTF-8 at byte N`` (N: byte offset in the file);
* a UTF-8 BOM at the start of a later line (files joined with ``cat``): stripped ("BOM inside the file");
* raw control characters (tabs, newlines) inside strings: accepted ("unescaped control characters");
* truncated or invalid JSON, or a value that is not an object (``null``, ``[1, 2]``, ``"str"``, ``42``):
  error rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from datamill.io.decoding import GBK_NOTE, decode_gbk, json_type_name, raw_prefix
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow
from datamill.io.streams import UTF8_BOM, ByteSource, iter_lines, strip_bom

NUL_NOTE = "removed NUL bytes"
BOM_NOTE = "UTF-8 BOM stripped"
INNER_BOM_NOTE = "BOM inside the file"
CONTROL_NOTE = "unescaped control characters"


def read_jsonl(
    stream: ByteSource, display: str, options: Mapping[str, Any], report: ReadReport, *,
    first_line: int = 0, first_offset: int = 0,
) -> Iterator[RawRow]:
    """Rows of a JSON Lines stream; locations are ``display:line`` (1-based), offsets byte offsets.

    A stream that starts inside a file (a byte range at a line start) says how many lines and bytes come
    before it (``first_line``, ``first_offset``); only a stream at the file's start may begin with a BOM.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    lineno = first_line
    if first_offset:
        first, offset = stream.read(1 << 20), first_offset
    else:
        first, offset = strip_bom(stream, report)
    bom = offset > 0 and not first_offset
    for line in iter_lines(stream, first):
        lineno += 1
        start = offset
        offset += len(line) + 1
        try:
            value = loads(line)
        except decode_error:
            row = _slow_line(line, display, lineno, start, report)
            if row is None:
                continue
        else:
            if type(value) is not dict:
                row = _not_object(value, line, display, lineno, start)
            else:
                row = RawRow(value, f"{display}:{lineno}", offset=start)
        if row.error is None:
            report.rows += 1
            if bom and lineno == 1 and row.note is None:
                row.note = BOM_NOTE
        else:
            report.errors += 1
        yield row


def _not_object(value: Any, line: bytes, display: str, lineno: int, start: int) -> RawRow:
    return RawRow(None, f"{display}:{lineno}", error=f"not a JSON object (got {json_type_name(value)})",
                  raw=raw_prefix(line.rstrip(b"\r")), offset=start)


def _slow_line(line: bytes, display: str, lineno: int, start: int, report: ReadReport) -> RawRow | None:
    """Explain (or repair) a line orjson rejected; None for a blank line."""
    location = f"{display}:{lineno}"
    body = line.rstrip(b"\r")
    if not body.strip():
        report.blank_lines += 1
        return None
    if b"\x00" in body:
        cleaned = body.replace(b"\x00", b"")
        nuls = len(body) - len(cleaned)
        if not cleaned.strip():
            return RawRow(None, location, error=f"line holds only NUL bytes ({nuls})", raw=raw_prefix(body),
                          offset=start)
        row = _parse(cleaned, location, start, report)
        if row.error is None:
            report.recover(NUL_NOTE)
            row.note = f"recovered: {NUL_NOTE}"
        else:
            row.error = f"{row.error}; the line also holds {nuls} NUL bytes"
            row.raw = raw_prefix(body)
        return row
    if body.startswith(UTF8_BOM):
        row = _parse(body[len(UTF8_BOM) :], location, start, report)
        if row.error is None and row.note is None:
            report.recover(INNER_BOM_NOTE)
            row.note = f"recovered: {INNER_BOM_NOTE}"
        return row
    return _parse(body, location, start, report)


def _lenient(text: str) -> Any:
    """Parse allowing raw control characters in strings (what ``json`` calls ``strict=False``)."""
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


def _parse(body: bytes, location: str, start: int, report: ReadReport) -> RawRow:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = decode_gbk(body)
        if text is not None:
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                report.recover(GBK_NOTE)
                return RawRow(value, location, note=f"recovered: {GBK_NOTE}", offset=start)
        if exc.end == len(body.rstrip()) and exc.reason == "unexpected end of data":
            error = f"truncated JSON: the line ends inside a UTF-8 character at byte {start + exc.start}"
        else:
            error = f"invalid UTF-8 at byte {start + exc.start}"
        return RawRow(None, location, error=error, raw=raw_prefix(body), offset=start)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "control character" in exc.msg:
            value = _lenient(body.decode("utf-8"))
            if isinstance(value, dict):
                report.recover(CONTROL_NOTE)
                return RawRow(value, location, note=f"recovered: {CONTROL_NOTE}", offset=start)
        if exc.msg.startswith("unexpected end of data") or exc.msg.startswith("EOF while parsing"):
            error = f"truncated JSON: the line ends at column {exc.pos + 1} inside a value"
        else:
            error = f"invalid JSON: {exc.msg} at column {exc.pos + 1}"
        return RawRow(None, location, error=error, raw=raw_prefix(body), offset=start)
    if not isinstance(value, dict):
        return RawRow(None, location, error=f"not a JSON object (got {json_type_name(value)})",
                      raw=raw_prefix(body), offset=start)
    return RawRow(value, location, offset=start)
