"""``alpaca``: ``instruction`` / ``input`` / ``output`` rows (Stanford Alpaca, LLaMA-Factory alpaca).

The prompt is ``instruction + "\\n" + input`` (each only when non-empty), as LLaMA-Factory builds it.
Optional ``system`` and ``history`` (``[[user, assistant], ...]``, earlier turns; the record is then
``chat``). Preference rows: ``output`` as ``[chosen, rejected]`` (LLaMA-Factory's old reward-model
format) or ``chosen``/``rejected`` string columns; KTO rows: a boolean column named by
``columns.kto_tag`` / ``fields.label``. Self-instruct seed tasks (``instruction`` + one-element
``instances: [{input, output}]``) are read too.

Column names come from ``options.columns`` (a dataset_info.json entry: prompt, query, response,
history, system, tools, chosen, rejected, kto_tag) and ``fields`` (prompt, input, answer, system,
history, reasoning, tools, chosen, rejected, label), which win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import CLOSE, COT_OPTIONS
from datamill.formats.fields import is_str, leftover, optional_str, resolve_columns, type_name
from datamill.formats.messages import (
    KTO_LABEL,
    answer_turn,
    finish,
    set_pair,
    system_and_history,
    text_message,
    tools_from,
)
from datamill.formats.preference import mark_tie
from datamill.records import Record

DEFAULTS: dict[str, str | None] = {
    "prompt": "instruction",
    "input": "input",
    "answer": "output",
    "system": "system",
    "history": "history",
    "reasoning": None,
    "tools": "tools",
    "chosen": "chosen",
    "rejected": "rejected",
    "label": None,
}


def _is_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)


class AlpacaAdapter(FormatAdapter):
    """instruction/input/output rows, with LLaMA-Factory's column variants."""

    name = "alpaca"
    description = "instruction / input / output (+ system, history); LLaMA-Factory alpaca columns"
    specificity = 3
    options: ClassVar[dict[str, str]] = {
        **COT_OPTIONS,
        "columns": "LLaMA-Factory dataset_info.json column names (prompt, query, response, ...)",
        "tags": "LLaMA-Factory dataset_info.json tags (role_tag, content_tag, user_tag, ...)",
    }

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.columns = resolve_columns(self.name, DEFAULTS, self.config.fields, self.config.options)
        self._mapped = [c for c in self.columns.values() if c]
        c = self.columns
        #: columns whose presence needs the general path (anything but instruction / input / output)
        self._special = frozenset(k for k in (c["system"], c["history"], c["tools"], c["chosen"], c["rejected"],
                                              c["label"], c["reasoning"], "instances") if k)
        self._used = frozenset(self._mapped)
        self._fast = self.config.kind is None and not self.config.options.get("cot_unsplittable", False)

    def score(self, row: Mapping[str, Any]) -> float:
        c = self.columns
        if not is_str(row, c["prompt"] or ""):
            return 0.0
        if c["answer"] and c["answer"] in row:
            answer = row[c["answer"]]
            score = 0.9 if isinstance(answer, str) or _is_pair(answer) else 0.4
        elif c["chosen"] in row and c["rejected"] in row:
            score = 0.9
        elif isinstance(row.get("instances"), list) and len(row["instances"]) == 1:
            score = 0.85
        else:
            return 0.2
        if c["input"] in row:
            score += 0.05
        return score

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        used = [c for c in self._mapped if c in row]
        return [*used, "instances"] if self.columns["answer"] not in row and "instances" in row else used

    def to_record(self, row: Mapping[str, Any]) -> Record:
        if self._fast:
            record = self._plain(row)
            if record is not None:
                return record
        return self._general(row)

    def _plain(self, row: Mapping[str, Any]) -> Record | None:
        """The common row (string instruction, optional string input, string output, nothing else mapped)
        built directly: the same record as :meth:`_general`, several times faster; None for anything else."""
        c = self.columns
        instruction = row.get(c["prompt"] or "")
        answer = row.get(c["answer"] or "")
        query = row.get(c["input"] or "", "")
        if type(instruction) is not str or type(answer) is not str or type(query) is not str \
                or not self._special.isdisjoint(row) or CLOSE in answer:
            return None
        prompt = f"{instruction}\n{query}" if instruction and query else instruction or query
        if not prompt.strip():
            return None
        record: Record = {"kind": "sft", "messages": [{"role": "user", "content": prompt},
                                                      {"role": "assistant", "content": answer}]}
        used = self._used
        meta = {k: v for k, v in row.items() if k not in used}
        if meta:
            record["meta"] = meta
        return record

    def _general(self, row: Mapping[str, Any]) -> Record:
        c = self.columns
        prompt_key, input_key, answer_key = c["prompt"] or "", c["input"] or "", c["answer"] or ""
        used = set(self._mapped)
        meta_extra: dict[str, Any] = {}
        if answer_key not in row and isinstance(row.get("instances"), list) and c["chosen"] not in row:
            row, meta_extra = self._from_instances(row, input_key, answer_key)
            used.add("instances")
        instruction = optional_str(row, prompt_key)
        query = optional_str(row, input_key)
        if prompt_key not in row and input_key not in row:
            raise AdapterError(f"missing field '{prompt_key}'")
        prompt = "\n".join(p for p in (instruction, query) if p)  # blank is kept: exporters refuse it
        system = optional_str(row, c["system"]) if c["system"] else ""
        history = row.get(c["history"]) if c["history"] else None
        messages = system_and_history(system, history, c["history"] or "")
        messages.append(text_message("user", prompt))
        record: Record = {"messages": messages}
        self._answer(row, record)
        if c["tools"]:
            tools = tools_from(row.get(c["tools"]), c["tools"])
            if tools is not None:
                record["tools"] = tools
        meta = leftover(row, used)
        meta.update(meta_extra)
        if meta:
            record["meta"] = meta
        return finish(record, self.config)

    def _answer(self, row: Mapping[str, Any], record: Record) -> None:
        c = self.columns
        answer_key = c["answer"] or ""
        chosen_key, rejected_key = c["chosen"] or "", c["rejected"] or ""
        if chosen_key in row and rejected_key in row:
            set_pair(
                record, answer_turn(row[chosen_key], chosen_key), answer_turn(row[rejected_key], rejected_key)
            )
            mark_tie(record, row)
            return
        answer = row.get(answer_key)
        if isinstance(answer, list) and answer_key in row:
            if not _is_pair(answer):
                raise AdapterError(f"field '{answer_key}' must be a string or a [chosen, rejected] pair")
            set_pair(record, answer_turn(answer[0], answer_key), answer_turn(answer[1], answer_key))
            mark_tie(record, row)
            return
        if answer_key not in row:
            raise AdapterError(f"missing field '{answer_key}'")
        if answer is None:  # present but null: an empty answer, like ""
            answer = ""
        if not isinstance(answer, str):
            raise AdapterError(f"field '{answer_key}' must be a string, got {type_name(answer)}")
        reasoning = optional_str(row, c["reasoning"]) if c["reasoning"] else ""
        # an empty answer is a record with an empty assistant turn: filters drop it with a reason
        record["messages"].append(text_message("assistant", answer, reasoning))
        label = row.get(c["label"]) if c["label"] else None
        if isinstance(label, bool):
            record["scores"] = {KTO_LABEL: label}
        elif label is not None:
            raise AdapterError(
                f"field '{c['label']}' (KTO label) must be true or false, got {type_name(label)}"
            )

    @staticmethod
    def _from_instances(
        row: Mapping[str, Any], input_key: str, answer_key: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Self-instruct seed task: its single instance supplies input and output."""
        instances = row["instances"]
        if len(instances) != 1 or not isinstance(instances[0], Mapping):
            raise AdapterError(f"'instances' holds {len(instances)} examples; one record per row needs one")
        instance = instances[0]
        flat = dict(row)
        flat[input_key] = instance.get("input")
        if "output" in instance:  # a missing output stays missing (an error), a null one is empty
            flat[answer_key] = instance["output"]
        rest = leftover(instance, ("input", "output"))
        return flat, ({"instances": [rest]} if rest else {})
