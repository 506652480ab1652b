"""Canonical records as JSON Lines (UTF-8, not ASCII-escaped)."""

from __future__ import annotations

from typing import IO, Any

import orjson

from datamill.export.base import Exporter, RowWriter
from datamill.records import Record
from datamill.steps.base import NoParams


class JsonlRowWriter(RowWriter):
    joinable = "lines"

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh)
        self._buf: list[bytes] = []

    def write(self, row: Any) -> None:
        self._buf.append(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS) + b"\n")
        if len(self._buf) >= 1024:
            self.fh.write(b"".join(self._buf))
            self._buf.clear()

    def close(self) -> None:
        if self._buf:
            self.fh.write(b"".join(self._buf))
            self._buf.clear()


class JsonArrayRowWriter(RowWriter):
    """A JSON array, one element per line: what LLaMA-Factory's .json files look like."""

    joinable = "json_array"

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__(fh)
        self._first = True

    def write(self, row: Any) -> None:
        self.fh.write((b"[\n" if self._first else b",\n") + orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS))
        self._first = False

    def close(self) -> None:
        self.fh.write(b"[]\n" if self._first else b"\n]\n")


class JsonlExporter(Exporter[NoParams]):
    """Canonical datamill records, one JSON object per line; re-readable with ``format: canonical``."""

    name = "jsonl"
    description = "canonical records as JSON Lines"
    extension = ".jsonl"
    passthrough = True

    def convert(self, record: Record) -> Any:
        return record

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh)
