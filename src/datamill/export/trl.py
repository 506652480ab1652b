"""``trl``: TRL's conversational dataset types, JSON Lines (UTF-8).

* sft (language modeling, conversational): ``{"messages": [...], "tools"?: [...]}``;
* preference (DPO/ORPO/reward, conversational, explicit prompt): ``{"prompt": [...], "chosen": [...],
  "rejected": [...]}``, the system turn inside ``prompt``;
* kto (unpaired preference): ``{"prompt": [...], "completion": [assistant turn], "label": bool}``;
* pretrain (language modeling, standard): ``{"text": ...}``.

Messages are OpenAI-shaped (``tool_calls`` with string arguments); ``cot: field`` writes
``reasoning_content``, which reasoning models' chat templates (Qwen3) read. TRL applies the model's
chat template, which may require alternation (the default here, ``alternation: false`` to relax).
"""

from __future__ import annotations

from typing import IO, Any

from pydantic import Field

from datamill.export.base import RowWriter
from datamill.export.jsonl import JsonlRowWriter
from datamill.export.openai import openai_message
from datamill.export.rules import Rules
from datamill.export.target import PreferenceOptions, Prepared, TargetExporter
from datamill.records import Message, Record
from datamill.steps.base import Drop, Params


class TrlOptions(PreferenceOptions):
    alternation: bool = Field(default=True, description="require user/assistant alternation (most chat templates)")


def trl_row(ex: Prepared, reasoning_field: str) -> dict[str, Any]:
    """The TRL row of a prepared example (also what the ``hf`` exporter stores)."""
    if ex.mode == "pretrain":
        return {"text": ex.text}

    def msgs(messages: list[Message]) -> list[Message]:
        return [openai_message(m, reasoning_field) for m in messages]

    system = [{"role": "system", "content": ex.system}] if ex.system else []
    if ex.mode == "preference":
        row: dict[str, Any] = {"prompt": system + msgs(ex.messages), "chosen": msgs(ex.chosen),
                               "rejected": msgs(ex.rejected)}
    elif ex.mode == "kto":
        row = {"prompt": system + msgs(ex.messages[:-1]), "completion": msgs(ex.messages[-1:]), "label": ex.label}
    else:
        row = {"messages": system + msgs(ex.messages)}
    if ex.tools:
        row["tools"] = ex.tools
    return row


class TrlExporter(TargetExporter):
    """TRL conversational datasets: SFT messages, DPO prompt/chosen/rejected, KTO, text."""

    name = "trl"
    description = "TRL JSONL: SFT {messages}; DPO {prompt, chosen, rejected}; KTO {prompt, completion, label}"
    Options = TrlOptions
    extension = ".jsonl"

    def __init__(self, options: Params) -> None:
        super().__init__(options)
        assert isinstance(options, TrlOptions)
        self.rules = Rules(alternation=options.alternation)

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        return ex if isinstance(ex, Drop) else trl_row(ex, self.reasoning_field)

    def writer(self, fh: IO[bytes]) -> RowWriter:
        return JsonlRowWriter(fh)
