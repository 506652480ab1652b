"""Streaming reader for JSON documents: an array of objects, concatenated objects, or keyed records.

The file is never loaded whole: text is decoded incrementally into a buffer and values are taken off
its front with ``json.JSONDecoder.raw_decode``; when a value runs past the end of the buffer, the
buffer grows (doubling, so a 9 MB record costs linear time) and the value is decoded again. Consumed
text is dropped as reading goes on.

Shapes (``options["json_shape"]`` forces one; otherwise ``[`` means an array, and for ``{`` the first
object decides, see :func:`_object_shape`):

* ``array``: ``[{...}, {...}]``, rows ``display#0``, ``display#1``...
* ``objects``: ``{...}{...}`` or pretty-printed objects one after another (a single object is one row)
* ``keyed``: ``{"k1": {...}, "k2": {...}}``: each value is a row and gets its key as ``_key``.

After a syntax error the reader resynchronises at the next line indented like the first value (how
pretty-printed files are laid out); a single-line document that breaks is reported once with the
rest of the file skipped. Values that are not objects become error rows.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from datamill.io.decoding import RAW_LIMIT, json_type_name, raw_prefix
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow
from datamill.io.streams import ByteSource, strip_bom

_CHUNK = 1 << 20
_WS = " \t\r\n"
#: A value whose text exceeds this without completing is reported as broken (bounds memory).
MAX_VALUE_CHARS = 512 << 20
#: A first top-level object up to this size is parsed whole to decide between keyed and concatenated.
SHAPE_WINDOW = 16 << 20


class _Broken(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Buffer:
    """Decoded text with a read position; tracks the byte offset of the position."""

    def __init__(self, stream: ByteSource, report: ReadReport) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        first, self.base_offset = strip_bom(stream, report)  # base_offset: byte offset of text[0]
        self.text = self.decoder.decode(first, final=not first)
        self.eof = not first
        self.pos = 0
        self._mark = (0, self.base_offset)  # (position, its byte offset): offsets are computed incrementally
        self.json = json.JSONDecoder(strict=False)
        self.replaced = "\ufffd" in self.text and b"\xef\xbf\xbd" not in first

    def fill(self, at_least: int = _CHUNK) -> bool:
        """Append at least ``at_least`` more bytes of text; False at the end of the stream."""
        if self.eof:
            return False
        parts = []
        got = 0
        while got < at_least:
            data = self.stream.read(max(_CHUNK, at_least - got))
            if not data:
                self.eof = True
                break
            got += len(data)
            parts.append(self.decoder.decode(data))
            self.replaced = self.replaced or ("\ufffd" in parts[-1] and b"\xef\xbf\xbd" not in data)
        if self.eof:
            parts.append(self.decoder.decode(b"", final=True))
        self.text += "".join(parts)
        return got > 0

    def compact(self) -> None:
        if self.pos > _CHUNK and self.pos * 2 > len(self.text):
            self.base_offset = self.byte_offset(self.pos)
            self.text = self.text[self.pos :]
            self.pos = 0
            self._mark = (0, self.base_offset)

    def byte_offset(self, pos: int) -> int:
        """Byte offset in the file of text position ``pos`` (cheap for increasing positions)."""
        mark_pos, mark_offset = self._mark
        if pos < mark_pos:
            return self.base_offset + len(self.text[:pos].encode("utf-8", "surrogatepass"))
        offset = mark_offset + len(self.text[mark_pos:pos].encode("utf-8", "surrogatepass"))
        self._mark = (pos, offset)
        return offset

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end); moves the position onto it."""
        while True:
            text, pos = self.text, self.pos
            while pos < len(text) and text[pos] in _WS:
                pos += 1
            self.pos = pos
            if pos < len(text):
                return text[pos]
            if not self.fill():
                return ""

    def value(self, max_chars: int = MAX_VALUE_CHARS) -> Any:
        """Decode the value at the position (after :meth:`peek`) and move past it."""
        start = self.pos
        while True:
            try:
                value, end = self.json.raw_decode(self.text, start)
            except json.JSONDecodeError as exc:
                # Running off the end of the buffer shows as an unterminated string or an error at the
                # very end; then read more and try again. Anything else is a real syntax error.
                unterminated = exc.msg.startswith("Unterminated string")
                if (unterminated or exc.pos >= len(self.text) - 32) and not self.eof:
                    if len(self.text) - start > max_chars:
                        raise _Broken(f"a value longer than {max_chars} characters", exc.pos) from None
                    self.fill(max(_CHUNK, len(self.text) - start))
                    continue
                if unterminated or exc.pos >= len(self.text.rstrip()):
                    raise _Broken("truncated JSON at the end of the file", len(self.text)) from None
                raise _Broken(f"invalid JSON: {exc.msg}", exc.pos) from None
            self.pos = end
            return value

    def resync(self, pattern: re.Pattern[str], start: int) -> bool:
        """Move to the next match of ``pattern`` at or after ``start``; False when there is none."""
        while True:
            match = pattern.search(self.text, start)
            if match:
                self.pos = match.end()
                return True
            start = max(start, len(self.text) - 256)
            if not self.fill():
                self.pos = len(self.text)
                return False


def _row(
    value: Any, buf: _Buffer, start: int, display: str, index: int, report: ReadReport, key: str | None = None
) -> RawRow:
    location = f"{display}#{index}"
    offset = buf.byte_offset(start)
    if not isinstance(value, dict):
        report.errors += 1
        what = f"the value of key {key!r} is" if key is not None else "got"
        return RawRow(None, location, error=f"not a JSON object ({what} {json_type_name(value)})",
                      raw=raw_prefix(buf.text[start : start + RAW_LIMIT]), offset=offset)
    report.rows += 1
    if key is not None:
        value = {"_key": key, **value}
    return RawRow(value, location, offset=offset)


def _broken_row(
    buf: _Buffer, broken: _Broken, start: int, display: str, index: int, report: ReadReport
) -> RawRow:
    report.errors += 1
    raw = raw_prefix(buf.text[start : start + RAW_LIMIT])
    return RawRow(None, f"{display}#{index}", error=broken.message, raw=raw, offset=buf.byte_offset(start))


def _indent_pattern(buf: _Buffer, start: int, opener: str) -> re.Pattern[str] | None:
    """A pattern for the start of the next value laid out like the one at ``start``, or None (one line)."""
    line_start = buf.text.rfind("\n", 0, start) + 1
    indent = buf.text[line_start:start]
    if indent.strip(" \t"):
        return None
    return re.compile(r"\n" + re.escape(indent) + "(?=" + re.escape(opener) + ")")


def read_json_values(
    stream: ByteSource, display: str, options: Mapping[str, Any], report: ReadReport
) -> Iterator[RawRow]:
    """Rows of a JSON document; see the module docstring for the shapes."""
    buf = _Buffer(stream, report)
    first = buf.peek()
    if not first:
        return
    shape = options.get("json_shape") or ("array" if first == "[" else _object_shape(buf))
    if shape == "array":
        rows = _array(buf, display, report)
    elif shape == "keyed":
        rows = _keyed(buf, display, report)
    else:
        rows = _objects(buf, display, report)
    yield from rows
    if buf.replaced:
        report.notes.append("invalid UTF-8 bytes were replaced with U+FFFD")


def _object_shape(buf: _Buffer) -> str:
    """``keyed`` or ``objects`` for a document that starts with ``{``.

    When the first object fits in :data:`SHAPE_WINDOW` it decides: followed by more values it is the
    first of several objects; alone, it holds keyed records when it has two or more entries and every
    value is an object. A larger first object is judged by its first two entries (both objects: keyed).
    """
    start = buf.pos
    try:
        first = buf.value(SHAPE_WINDOW)
        alone = buf.peek() == ""
        records = isinstance(first, dict) and all(isinstance(v, dict) for v in first.values())
        keyed = records and len(first) >= 2
        return "keyed" if alone and keyed else "objects"
    except _Broken as broken:
        if not broken.message.startswith("a value longer than"):
            return "objects"
    finally:
        buf.pos = start
    return _keyed_prefix(buf)


def _keyed_prefix(buf: _Buffer) -> str:
    """``keyed`` when the document starts with two ``"key": {...}`` entries, else ``objects``."""
    start = buf.pos
    try:
        buf.pos += 1
        for seen in range(2):
            if buf.peek() != '"':
                return "objects"
            buf.value()
            if buf.peek() != ":":
                return "objects"
            buf.pos += 1
            if buf.peek() != "{":
                return "objects"
            buf.value()
            if seen == 0:
                if buf.peek() != ",":
                    return "objects"
                buf.pos += 1
        return "keyed"
    except _Broken:
        return "objects"
    finally:
        buf.pos = start


def _array(buf: _Buffer, display: str, report: ReadReport) -> Iterator[RawRow]:
    buf.pos += 1  # the "["
    index = 0
    pattern: re.Pattern[str] | None = None
    while True:
        char = buf.peek()
        if char == "]":
            buf.pos += 1
            break
        if not char:
            report.notes.append("the JSON array is not closed with ']'")
            return
        start = buf.pos
        if pattern is None and index == 0:
            pattern = _indent_pattern(buf, start, char)
        try:
            value = buf.value()
        except _Broken as broken:
            yield _broken_row(buf, broken, start, display, index, report)
            index += 1
            if pattern is None or not buf.resync(pattern, max(broken.pos, start + 1)):
                if buf.peek():
                    report.notes.append(f"could not resynchronise after {display}#{index - 1}; rest skipped")
                return
            continue
        yield _row(value, buf, start, display, index, report)
        index += 1
        buf.compact()
        char = buf.peek()
        if char == ",":
            buf.pos += 1
        elif char not in ("]", ""):
            stray = _Broken(f"expected ',' or ']' after value {index - 1}, found {char!r}", buf.pos)
            yield _broken_row(buf, stray, buf.pos, display, index, report)
            index += 1
            if pattern is None or not buf.resync(pattern, buf.pos):
                return
    if buf.peek():
        report.notes.append("text after the end of the JSON array was ignored")


def _objects(buf: _Buffer, display: str, report: ReadReport) -> Iterator[RawRow]:
    index = 0
    pattern = re.compile(r"\n(?=[{\[])")
    while True:
        char = buf.peek()
        if not char:
            return
        start = buf.pos
        try:
            value = buf.value()
        except _Broken as broken:
            yield _broken_row(buf, broken, start, display, index, report)
            index += 1
            if not buf.resync(pattern, max(broken.pos, start + 1)):
                return
            continue
        yield _row(value, buf, start, display, index, report)
        index += 1
        buf.compact()
        if buf.peek() == ",":  # tolerate "{...},\n{...}"
            buf.pos += 1


def _keyed(buf: _Buffer, display: str, report: ReadReport) -> Iterator[RawRow]:
    buf.peek()
    buf.pos += 1  # the "{"
    index = 0
    pattern: re.Pattern[str] | None = None
    while True:
        char = buf.peek()
        if char == "}":
            buf.pos += 1
            break
        if not char:
            report.notes.append("the top-level JSON object is not closed with '}'")
            return
        start = buf.pos
        if pattern is None and index == 0:
            pattern = _indent_pattern(buf, start, '"')
        try:
            key = buf.value()
            if not isinstance(key, str) or buf.peek() != ":":
                raise _Broken("expected a \"key\": value entry", buf.pos)
            buf.pos += 1
            buf.peek()
            value_start = buf.pos
            value = buf.value()
        except _Broken as broken:
            yield _broken_row(buf, broken, start, display, index, report)
            index += 1
            if pattern is None or not buf.resync(pattern, max(broken.pos, start + 1)):
                return
            continue
        yield _row(value, buf, value_start, display, index, report, key=key)
        index += 1
        buf.compact()
        if buf.peek() == ",":
            buf.pos += 1
    if buf.peek():
        report.notes.append("text after the end of the top-level JSON object was ignored")
