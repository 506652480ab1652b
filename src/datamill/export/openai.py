"""``openai``: OpenAI chat ``messages`` JSON Lines (UTF-8, not ASCII-escaped), as XTuner's ``openai_map_fn``,
OpenAI fine-tuning and seeds 000/004 read them.

Rows: ``{"messages": [{"role", "content"}, ...]}`` with ``system``/``user``/``assistant``/``tool`` roles,
``tool_calls`` (``arguments`` as a JSON string) and ``tool_call_id`` kept, and ``tools`` when the
record has schemas. ``cot: field`` writes ``reasoning_content`` on the assistant message. Only
sft/chat/cot records (preference data goes to ``trl`` or the LLaMA-Factory formats).

``xtuner: true`` refuses what XTuner's ``openai_map_fn`` cannot map (tool turns raise
``NotImplementedError`` there): ``tool_calls_unsupported``. ``id_field`` writes the record id too.
"""

from __future__ import annotations

from typing import IO, Any, ClassVar

from pydantic import Field

from datamill.export.base import RowWriter
from datamill.export.jsonl import JsonlRowWriter
from datamill.export.rules import Rules
from datamill.export.shape import Mode
from datamill.export.target import TargetExporter, TargetOptions
from datamill.export.tool_calls import openai_tool_calls
from datamill.records import Message, Record
from datamill.steps.base import Drop, Params

#: message keys written besides role and content
KEPT_KEYS = ("name", "tool_call_id")


def openai_message(message: Message, reasoning_field: str) -> Message:
    out: Message = {"role": message["role"], "content": message["content"]}
    if message.get("tool_calls"):
        out["tool_calls"] = openai_tool_calls(message["tool_calls"])
    for key in (*KEPT_KEYS, reasoning_field):
        if message.get(key) is not None:
            out[key] = message[key]
    return out


class OpenaiOptions(TargetOptions):
    alternation: bool = Field(default=True, description="require user/assistant alternation (XTuner pairs them)")
    xtuner: bool = Field(default=False, description="refuse tool turns, which XTuner's openai_map_fn cannot map")
    id_field: str | None = Field(default=None, description="also write the record id under this key")


class OpenaiExporter(TargetExporter):
    """OpenAI messages JSONL (XTuner openai_map_fn, OpenAI fine-tuning)."""

    name = "openai"
    description = "OpenAI messages JSONL: {messages: [{role, content}], tools?} (XTuner openai_map_fn)"
    Options = OpenaiOptions
    extension = ".jsonl"
    supported_modes: ClassVar[tuple[Mode, ...]] = ("sft",)

    def __init__(self, options: Params) -> None:
        super().__init__(options)
        assert isinstance(options, OpenaiOptions)
        self.opts = options
        self.rules = Rules(alternation=options.alternation, tools=not options.xtuner)

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        messages = [{"role": "system", "content": ex.system}] if ex.system else []
        messages += [openai_message(m, self.reasoning_field) for m in ex.messages]
        row: dict[str, Any] = {}
        if self.opts.id_field:
            row[self.opts.id_field] = record.get("id")
        row["messages"] = messages
        if ex.tools:
            row["tools"] = ex.tools
        return row

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh)
