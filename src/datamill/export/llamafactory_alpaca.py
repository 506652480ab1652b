"""``llamafactory-alpaca``: LLaMA-Factory's alpaca formatting, with a ``dataset_info.json`` entry per file.

Rows (a JSON array per file, UTF-8):

* sft: ``{instruction, input, output, system, history}``; ``history`` holds the earlier
  ``[user, assistant]`` pairs, ``input`` is ``""`` (the whole last user turn is the instruction);
* preference (``ranking: true``): ``{instruction, input, chosen, rejected, system, history}``; with
  ``pair_style: output_list``: ``output: [chosen, rejected]`` instead (seed 002's reward-model shape of
  the older LLaMA-Efficient-Tuning, which current LLaMA-Factory no longer reads);
* kto: the sft row plus ``kto_tag`` (true: desirable answer);
* pretrain: ``{text}`` (entry columns ``{prompt: text}``, as LLaMA-Factory's c4_demo).

Alpaca has no place for tool calls, a system turn after the first, or several answers per pair, so
those records are refused (``tool_calls_unsupported``, ``system_not_first``,
``multi_turn_continuation``); the sharegpt formatting takes tool calls.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from datamill.export.llamafactory_base import LlamaFactoryExporter, LlamaFactoryOptions
from datamill.export.rules import Rules
from datamill.export.target import Prepared
from datamill.records import Message, Record
from datamill.steps.base import Drop


class AlpacaOptions(LlamaFactoryOptions):
    pair_style: Literal["columns", "output_list"] = Field(
        default="columns",
        description="preference rows: chosen/rejected columns (LLaMA-Factory) or output: [chosen, rejected] "
        "(seed 002, older LLaMA-Efficient-Tuning)",
    )


def _pairs(messages: list[Message]) -> list[list[str]]:
    return [[messages[i]["content"], messages[i + 1]["content"]] for i in range(0, len(messages) - 1, 2)]


class LlamaFactoryAlpacaExporter(LlamaFactoryExporter[AlpacaOptions]):
    """LLaMA-Factory alpaca files (sft, ranking, kto, pretrain) + dataset_info.json."""

    name = "llamafactory-alpaca"
    description = "LLaMA-Factory alpaca JSON (instruction/input/output/system/history; ranking; kto; pretrain)"
    formatting: ClassVar[str] = "alpaca"
    rules: Rules = Rules(alternation=True, tools=False)

    def convert(self, record: Record) -> Any | Drop:
        ex = self.prepare(record)
        if isinstance(ex, Drop):
            return ex
        if ex.mode == "pretrain":
            return {"text": ex.text}
        return self._row(ex)

    def _row(self, ex: Prepared) -> dict[str, Any] | Drop:
        messages = ex.messages
        if ex.mode == "preference":
            if len(ex.chosen) != 1 or len(ex.rejected) != 1:
                return Drop("multi_turn_continuation")
            history, last_user = messages[:-1], messages[-1]["content"]
        else:
            history, last_user = messages[:-2], messages[-2]["content"]
        row: dict[str, Any] = {"instruction": last_user, "input": ""}
        if ex.mode == "preference":
            chosen, rejected = ex.chosen[0]["content"], ex.rejected[0]["content"]
            if self.options.pair_style == "output_list":
                row["output"] = [chosen, rejected]
            else:
                row["chosen"], row["rejected"] = chosen, rejected
        else:
            row["output"] = messages[-1]["content"]
        row["system"] = ex.system
        row["history"] = _pairs(history)
        if ex.mode == "kto":
            row["kto_tag"] = ex.label
        return row

    def entry_body(self) -> dict[str, Any]:
        mode = self.modes.resolved
        if mode == "pretrain":
            return {"columns": {"prompt": "text"}}
        columns: dict[str, str] = {"prompt": "instruction", "query": "input"}
        body: dict[str, Any] = {"formatting": "alpaca"}
        if mode == "preference":
            body["ranking"] = True
            if self.options.pair_style == "output_list":
                columns["response"] = "output"
            else:
                columns.update(chosen="chosen", rejected="rejected")
        else:
            columns["response"] = "output"
        columns.update(system="system", history="history")
        if mode == "kto":
            columns["kto_tag"] = "kto_tag"
        body["columns"] = columns
        return body
