"""``openai``: OpenAI chat ``messages`` JSON Lines (UTF-8, not ASCII-escaped), as XTuner's ``openai_map_fn``,
OpenAI fine-tuning and seeds 000/004 read them.

Rows: ``{"messages": [{"role", "content"}, ...]}`` with ``system``/``user``/``assistant``/``tool`` roles,
``tool_calls`` (``arguments`` as a JSON string) and ``tool_call_id`` kept, and ``tools`` when the
record has schemas. ``cot: field`` writes ``reasoning_content`` on the assistant message. Only
sft/chat/cot records (preference data goes to ``trl`` or the LLaMA-Factory formats).

``xtuner: true`` refuses what XTuner's ``openai_map_fn`` cannot map (tool turns raise
``NotImplementedError`` there): ``tool_calls_unsupported``. ``id_field`` writes the record id too.

``dataset_info: true`` also writes a LLaMA-Factory ``dataset_info.json`` next to the files, one entry per
file in the shape seed 000 registers its OpenAI files with (formatting ``sharegpt``, ``columns:
{messages: messages}``, tags ``role``/``content``/``user``/``assistant``/``system``) with ``file_sha1``;
tool turns are then refused, since LLaMA-Factory reads only role and content from these rows.
"""

from __future__ import annotations

from typing import IO, Any, ClassVar

from pydantic import Field

from datamill.export.base import ExportedFile, RowWriter
from datamill.export.jsonl import JsonlRowWriter
from datamill.export.rules import Rules
from datamill.export.shape import Mode
from datamill.export.target import TargetExporter, TargetOptions
from datamill.export.tool_calls import openai_tool_calls
from datamill.records import Message, Record
from datamill.steps.base import Drop

#: LLaMA-Factory reads these rows as sharegpt with OpenAI's keys (``dataset_info: true``)
LLAMAFACTORY_BODY: dict[str, Any] = {
    "formatting": "sharegpt",
    "columns": {"messages": "messages"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
             "system_tag": "system"},
}

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
    dataset_info: bool = Field(default=False, description="also write a LLaMA-Factory dataset_info.json (sharegpt "
                               "formatting with role/content tags, as seed 000 registers these files); refuses "
                               "tool turns")
    dataset_name: str | None = Field(default=None, description="dataset_info.json key prefix (default: file stem)")


class OpenaiExporter(TargetExporter[OpenaiOptions]):
    """OpenAI messages JSONL (XTuner openai_map_fn, OpenAI fine-tuning)."""

    name = "openai"
    description = "OpenAI messages JSONL: {messages: [{role, content}], tools?} (XTuner openai_map_fn)"
    extension = ".jsonl"
    supported_modes: ClassVar[tuple[Mode, ...]] = ("sft",)

    def __init__(self, options: OpenaiOptions) -> None:
        super().__init__(options)
        self.rules = Rules(alternation=options.alternation, tools=not (options.xtuner or options.dataset_info))

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        messages = [{"role": "system", "content": ex.system}] if ex.system else []
        messages += [openai_message(m, self.reasoning_field) for m in ex.messages]
        row: dict[str, Any] = {}
        if self.options.id_field:
            row[self.options.id_field] = record.get("id")
        row["messages"] = messages
        if ex.tools:
            row["tools"] = ex.tools
        return row

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh)

    def finalize(self, files: list[ExportedFile], out_dir: str) -> dict[str, str]:
        if not self.options.dataset_info:
            return {}
        from datamill.export.llamafactory_info import INFO_NAME, build_entries, render

        return {INFO_NAME: render(build_entries(files, out_dir, LLAMAFACTORY_BODY, self.options.dataset_name))}
