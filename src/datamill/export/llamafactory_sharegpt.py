"""``llamafactory-sharegpt``: LLaMA-Factory's sharegpt formatting, with a ``dataset_info.json`` entry per file.

Rows (a JSON array per file, UTF-8): ``{conversations: [{from, value}], system, tools}`` with speakers
``human``/``gpt``/``function_call``/``observation``; the system prompt goes to the ``system`` column
and tool schemas to ``tools`` as JSON text (as LLaMA-Factory's glaive_toolcall demo). A tool call is
a ``function_call`` turn whose value is ``{"name", "arguments"}`` JSON (a list for parallel calls),
followed by one ``observation`` turn.

* preference (``ranking: true``): ``conversations`` is the context (ending with the human turn) and
  ``chosen``/``rejected`` are single ``{from, value}`` turns;
* kto: the sft row plus ``kto_tag``;
* pretrain records are refused (use llamafactory-alpaca, whose pretrain rows are ``{text}``).

LLaMA-Factory skips conversations whose turns do not alternate human/observation with
gpt/function_call; such records are refused here with the reason (see ``datamill.export.rules``),
and so are tool calls with text beside them (``tool_call_with_text``) and several tool results in a
row (``consecutive_tool_turns``), which this formatting cannot hold.
"""

from __future__ import annotations

from typing import Any, ClassVar

from datamill.export.llamafactory_base import LlamaFactoryExporter, LlamaFactoryOptions
from datamill.export.rules import Rules
from datamill.export.shape import Mode
from datamill.export.tool_calls import function_call_value, tools_text
from datamill.records import Message, Record
from datamill.steps.base import Drop

TAGS = {
    "role_tag": "from",
    "content_tag": "value",
    "user_tag": "human",
    "assistant_tag": "gpt",
    "observation_tag": "observation",
    "function_tag": "function_call",
    "system_tag": "system",
}
_SPEAKER = {"user": "human", "assistant": "gpt", "tool": "observation"}


def sharegpt_turn(message: Message) -> dict[str, str]:
    """One ``{from, value}`` turn; an assistant turn with tool calls becomes a ``function_call`` turn
    (a ``<think>`` block rendered in front of it stays in front, where LLaMA-Factory looks for it)."""
    calls = message.get("tool_calls")
    if message["role"] == "assistant" and calls:
        prefix = message.get("content") or ""
        return {"from": "function_call", "value": prefix + function_call_value(calls)}
    return {"from": _SPEAKER[message["role"]], "value": message["content"]}


class LlamaFactorySharegptExporter(LlamaFactoryExporter[LlamaFactoryOptions]):
    """LLaMA-Factory sharegpt files (sft with tools, ranking, kto) + dataset_info.json."""

    name = "llamafactory-sharegpt"
    description = "LLaMA-Factory sharegpt JSON (conversations from/value + system + tools; ranking; kto)"
    formatting: ClassVar[str] = "sharegpt"
    supported_modes: ClassVar[tuple[Mode, ...]] = ("sft", "preference", "kto")
    rules: Rules = Rules(alternation=True, tools=True, text_with_tool_calls=False,
                                   parallel_tool_results=False)

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        row: dict[str, Any] = {"conversations": [sharegpt_turn(m) for m in ex.messages]}
        if ex.mode == "preference":
            if len(ex.chosen) != 1 or len(ex.rejected) != 1:
                return Drop("multi_turn_continuation")
            row["chosen"] = sharegpt_turn(ex.chosen[0])
            row["rejected"] = sharegpt_turn(ex.rejected[0])
        row["system"] = ex.system
        row["tools"] = tools_text(ex.tools)
        if ex.mode == "kto":
            row["kto_tag"] = ex.label
        return row

    def entry_body(self) -> dict[str, Any]:
        mode = self.modes.resolved
        columns = {"messages": "conversations", "system": "system", "tools": "tools"}
        body: dict[str, Any] = {"formatting": "sharegpt"}
        if mode == "preference":
            body["ranking"] = True
            columns.update(chosen="chosen", rejected="rejected")
        if mode == "kto":
            columns["kto_tag"] = "kto_tag"
        body["columns"] = columns
        body["tags"] = dict(TAGS)
        return body
