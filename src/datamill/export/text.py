"""``text``: a plain-text pretraining corpus, one document per line (or JSON Lines with ``jsonl: true``).

Seed 002's PT data and LLaMA-Factory's wiki_demo.txt are one document per line, so a newline inside
a document would split it: ``newlines: escape`` (default) writes it as the two characters ``\\n``,
``space`` replaces it with a space. ``jsonl: true`` writes ``{"text": ...}`` lines instead (the
newlines kept, LLaMA-Factory's c4_demo shape), and ``id_field`` adds the record id there.
Only pretrain records (``text``); an empty document is refused (``empty_text``).
"""

from __future__ import annotations

import re
from typing import IO, Any, ClassVar, Literal

from pydantic import Field

from datamill.export.base import RowWriter
from datamill.export.jsonl import JsonlRowWriter
from datamill.export.shape import Mode
from datamill.export.target import TargetExporter, TargetOptions
from datamill.records import Record
from datamill.steps.base import Drop

_NEWLINE = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")


class TextOptions(TargetOptions):
    jsonl: bool = Field(default=False, description='write {"text": ...} JSON Lines instead of plain lines')
    newlines: Literal["escape", "space"] = Field(
        default="escape", description=r"plain text: a newline inside a document becomes \n (escape) or a space"
    )
    id_field: str | None = Field(default=None, description="jsonl: also write the record id under this key")


class LinesRowWriter(RowWriter):
    joinable = "lines"

    def write(self, row: Any) -> None:
        self.fh.write(row.encode("utf-8") + b"\n")


class TextExporter(TargetExporter[TextOptions]):
    """Pretraining text: one document per line, or {"text"} JSON Lines."""

    name = "text"
    description = "pretraining text: one document per line (newlines escaped), or {text} JSONL"
    extension = ".txt"
    supported_modes: ClassVar[tuple[Mode, ...]] = ("pretrain",)

    def __init__(self, options: TextOptions) -> None:
        super().__init__(options)
        self.extension = ".jsonl" if options.jsonl else ".txt"  # type: ignore[misc]

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        if self.options.jsonl:
            row: dict[str, Any] = {"text": ex.text}
            if self.options.id_field:
                row[self.options.id_field] = record.get("id")
            return row
        replacement = "\\n" if self.options.newlines == "escape" else " "
        return _NEWLINE.sub(lambda _: replacement, ex.text)  # a function: no escape processing

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh) if self.options.jsonl else LinesRowWriter(fh)

