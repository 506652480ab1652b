"""Delimited text: CSV, TSV, and tables separated by runs of spaces.

Options (detection fills them in, the recipe overrides): ``delimiter`` (a character, or ``tab``,
``comma``, ``semicolon``, ``pipe``, ``whitespace``), ``header`` (first row names the columns; without
one the columns are ``column_1``, ``column_2``...), ``quoting`` (honour ``"..."`` quoting; default on
except for tabs and whitespace), ``infer_types`` (turn ``12``, ``1.5``, ``true`` and empty cells into
numbers, booleans and None; off by default so values stay strings exactly as written), ``ragged``
(pad short rows with None and keep extra cells under ``_extra`` instead of quarantining them).

Rows are dicts keyed by column name; locations are ``display:line`` of the row's first line.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from typing import Any

from datamill.io.decoding import GBK_NOTE, RAW_LIMIT, decode_gbk, raw_prefix
from datamill.io.report import ReadReport
from datamill.io.rows import RawRow
from datamill.io.sniff_delimited import WHITESPACE, resolve_delimiter
from datamill.io.streams import ByteSource, iter_lines, strip_bom

_WS_SPLIT = re.compile(r"[ \t]+")
_INT = re.compile(r"^[+-]?\d+$")
_FIELD_LIMIT = 2**31 - 1
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


class _LineFeed:
    """Hands decoded lines to ``csv.reader`` and remembers where the current row started."""

    def __init__(self, stream: ByteSource, report: ReadReport) -> None:
        first, self.consumed = strip_bom(stream, report)
        self._lines = iter_lines(stream, first)
        self.lineno = 0
        self.raw: list[str] = []
        self.raw_chars = 0
        self.bad: str | None = None
        self.recovered = False

    def begin_row(self) -> None:
        self.raw = []
        self.raw_chars = 0
        self.bad = None
        self.recovered = False

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.lineno += 1
        start = self.consumed
        self.consumed += len(line) + 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            recovered = decode_gbk(line)
            if recovered is not None:
                text = recovered
                self.recovered = True
            else:
                text = line.decode("utf-8", "replace")
                self.bad = self.bad or f"invalid UTF-8 at byte {start + exc.start}"
        if self.raw_chars < RAW_LIMIT:
            self.raw.append(text)
            self.raw_chars += len(text)
        return text + "\n"


def _names(fields: list[str]) -> list[str]:
    names: list[str] = []
    for i, field in enumerate(fields):
        name = field.strip() or f"column_{i + 1}"
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def infer_value(value: str) -> Any:
    """``12`` -> 12, ``1.5`` -> 1.5, ``true``/``false`` -> bool, ``""`` -> None; anything else unchanged."""
    if value == "":
        return None
    lower = value.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    return value


def _fields(reader: Iterator[list[str]] | None, feed: _LineFeed, whitespace: bool) -> list[str]:
    if whitespace or reader is None:
        text = next(feed).rstrip("\r\n").strip()
        return _WS_SPLIT.split(text) if text else []
    return next(reader)


def read_delimited(
    stream: ByteSource, display: str, options: Mapping[str, Any], report: ReadReport
) -> Iterator[RawRow]:
    """Rows of a delimited file; see the module docstring for the options."""
    delimiter = resolve_delimiter(options.get("delimiter") or ",")
    whitespace = delimiter == WHITESPACE
    quoting = bool(options.get("quoting", delimiter not in ("\t", WHITESPACE)))
    header = bool(options.get("header", True))
    infer = bool(options.get("infer_types", False))
    ragged = bool(options.get("ragged", False))
    # Cells can be large (a whole article in one cell); the csv module's default limit is 128 KiB and
    # exceeding it aborts the file. The limit is process-wide, so it is only ever raised, never lowered.
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    feed = _LineFeed(stream, report)
    reader = None if whitespace else csv.reader(
        feed, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE
    )
    names: list[str] | None = None
    while True:
        line, offset = feed.lineno + 1, feed.consumed
        feed.begin_row()
        location = f"{display}:{line}"
        try:
            fields = _fields(reader, feed, whitespace)
        except StopIteration:
            return
        except csv.Error as exc:
            report.errors += 1
            yield RawRow(None, location, error=f"malformed CSV: {exc}", raw=raw_prefix("\n".join(feed.raw)),
                         offset=offset)
            continue
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            report.blank_lines += 1
            continue
        if feed.bad is not None:
            report.errors += 1
            yield RawRow(None, location, error=feed.bad, raw=raw_prefix("\n".join(feed.raw)), offset=offset)
            continue
        if names is None:
            if header:
                names = _names(fields)
                continue
            names = [f"column_{i + 1}" for i in range(len(fields))]
        value: dict[str, Any]
        if len(fields) != len(names):
            if not ragged:
                report.errors += 1
                yield RawRow(None, location, error=f"expected {len(names)} columns, got {len(fields)}",
                             raw=raw_prefix("\n".join(feed.raw)), offset=offset)
                continue
            value = dict(zip(names, fields, strict=False))
            for name in names[len(fields) :]:
                value[name] = None
            if len(fields) > len(names):
                value["_extra"] = fields[len(names) :]
        else:
            value = dict(zip(names, fields, strict=True))
        if infer:
            value = {k: infer_value(v) if isinstance(v, str) else v for k, v in value.items()}
        note = None
        if feed.recovered:
            report.recover(GBK_NOTE)
            note = f"recovered: {GBK_NOTE}"
        report.rows += 1
        yield RawRow(value, location, note=note, offset=offset)
