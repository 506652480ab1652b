"""``text``: pretraining text, one document per row (kind ``pretrain``).

The text is the ``text`` column, or the column ``fields.text`` names. Rows read from plain text files
arrive as ``{"text": "..."}``. Every other column goes to ``meta``. A blank text is kept (blank is not
broken): ``length``/``empty_answer`` drop it and the exporters refuse it (``empty_text``); a missing,
``null`` or non-string text is quarantined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.formats.base import AdapterConfig, FormatAdapter
from datamill.formats.fields import leftover, required_str, resolve_columns
from datamill.records import Record

#: Columns that often ride along with pretraining text without making it something else.
METADATA_COLUMNS = frozenset(
    (
        "id",
        "url",
        "title",
        "source",
        "meta",
        "metadata",
        "timestamp",
        "date",
        "created_at",
        "lang",
        "language",
        "split",
        "dump",
        "file_path",
        "token_count",
        "score",
    )
)


class TextAdapter(FormatAdapter):
    """Plain documents: {text: ...} (+ metadata columns)."""

    name = "text"
    description = "pretraining text: a 'text' column (or fields.text)"
    specificity = 2

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.key = resolve_columns(self.name, {"text": "text"}, self.config.fields, {})["text"] or "text"
        self._explicit = "text" in self.config.fields

    def score(self, row: Mapping[str, Any]) -> float:
        if not isinstance(row.get(self.key), str):
            return 0.0
        if self._explicit:
            return 1.0
        return 0.9 if all(k == self.key or k in METADATA_COLUMNS for k in row) else 0.5

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [self.key] if self.key in row else []

    def to_record(self, row: Mapping[str, Any]) -> Record:
        record: Record = {"kind": self.config.kind or "pretrain", "text": required_str(row, self.key)}
        meta = leftover(row, (self.key,))
        if meta:
            record["meta"] = meta
        return record
