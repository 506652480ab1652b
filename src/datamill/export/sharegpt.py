"""``sharegpt``: ShareGPT/FastChat conversations with an ``id`` (seed 003's shape), a JSON array per file.

Rows: ``{"id": ..., "conversations": [{"from": "human"|"gpt", "value": ...}]}``; a system prompt is a
leading ``{"from": "system"}`` turn, tool calls are ``function_call`` turns followed by
``observation`` turns (as LLaMA-Factory reads them). ``id`` is the record's stable id (``source:row``),
or the original column named by ``id_from`` (e.g. ``meta.id``). Only sft/chat/cot records: FastChat's
trainer requires human/gpt alternation, so other conversations are refused with the reason.
"""

from __future__ import annotations

from typing import IO, Any, ClassVar

from pydantic import Field

from datamill.export.base import RowWriter
from datamill.export.jsonl import JsonArrayRowWriter, JsonlRowWriter
from datamill.export.llamafactory_sharegpt import sharegpt_turn
from datamill.export.rules import Rules
from datamill.export.shape import Mode
from datamill.export.target import TargetExporter, TargetOptions
from datamill.records import Record, get_field
from datamill.selectors import FieldPath
from datamill.steps.base import Drop


class SharegptOptions(TargetOptions):
    id_from: FieldPath = Field(default="id", description="field whose value becomes the row's id (dotted path)")
    jsonl: bool = Field(default=False, description="write JSON Lines instead of a JSON array")


class SharegptExporter(TargetExporter[SharegptOptions]):
    """ShareGPT conversations (human/gpt, system, function_call/observation) with an id."""

    name = "sharegpt"
    description = "ShareGPT JSON: {id, conversations: [{from: human|gpt, value}]} (seed 003, FastChat)"
    extension = ".json"
    supported_modes: ClassVar[tuple[Mode, ...]] = ("sft",)
    rules: Rules = Rules(alternation=True, tools=True, text_with_tool_calls=False)
    reasoning_field: ClassVar[str] = "reasoning"

    def __init__(self, options: SharegptOptions) -> None:
        super().__init__(options)
        self.extension = ".jsonl" if options.jsonl else ".json"  # type: ignore[misc]

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        turns = [{"from": "system", "value": ex.system}] if ex.system else []
        for m in ex.messages:
            turn: dict[str, Any] = sharegpt_turn(m)
            if self.reasoning_field in m:
                turn[self.reasoning_field] = m[self.reasoning_field]
            turns.append(turn)
        row: dict[str, Any] = {"id": str(get_field(record, self.options.id_from, record.get("id"))),
                               "conversations": turns}
        own = (record.get("meta") or {}).get("id") if self.options.id_from == "id" else None
        if own is not None and str(own) != row["id"]:
            self.note("ids: the row's own id is in meta.id (option id_from: meta.id writes it)")
        if ex.tools:
            row["tools"] = ex.tools
        return row

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh) if self.options.jsonl else JsonArrayRowWriter(fh)
