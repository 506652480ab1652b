"""``qa``: a prompt column and an answer column under any names (the generic single-turn adapter).

With an explicit ``fields`` mapping it reads exactly the mapped columns (prompt, input, answer,
system, history, reasoning, chosen, rejected); a mapping without ``answer`` reads prompts only (for a
later ``generate`` step). Without one it guesses a pair from common names (:data:`PAIRS`: question /
answer, problem / solution, prompt / completion, 问 / 答 ...), plus a reasoning column
(:data:`REASONING`, e.g. seed 001's prompt / thinking / answer rows, kind ``cot``) and a system column.
Guessing is weak evidence, so detection scores it at most 0.6 and more specific formats win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.fields import is_str, leftover, optional_str, resolve_columns, type_name
from datamill.formats.messages import answer_turn, finish, set_pair, system_and_history, text_message
from datamill.formats.preference import mark_tie
from datamill.records import Record

#: (prompt, answer) column names tried in order when no ``fields`` mapping is given.
PAIRS: tuple[tuple[str, str], ...] = (
    ("question", "answer"),
    ("problem", "solution"),
    ("prompt", "response"),
    ("prompt", "completion"),
    ("prompt", "answer"),
    ("query", "response"),
    ("question", "response"),
    ("instruction", "output"),
    ("instruction", "response"),
    ("input", "output"),
    ("input", "target"),
    ("问", "答"),
    ("问题", "答案"),
)
#: Reasoning column names tried when guessing.
REASONING: tuple[str, ...] = ("thinking", "reasoning", "reasoning_content", "think", "cot", "rationale")
#: System column names tried when guessing.
SYSTEM: tuple[str, ...] = ("system", "system_prompt")
PARTS = ("prompt", "input", "answer", "system", "history", "reasoning", "chosen", "rejected")
#: Best score for guessed names: below what a specific format scores on its own names.
GUESS_SCORE = 0.6


class QaAdapter(FormatAdapter):
    """Prompt/answer pairs under any column names (explicit fields, or guessed common names)."""

    name = "qa"
    description = "prompt/answer under any names: question/answer, problem/solution, 问/答 ... or fields"
    specificity = 1

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.columns = resolve_columns(self.name, dict.fromkeys(PARTS), self.config.fields, {})
        self.explicit = any(self.columns.values())
        if bool(self.columns["chosen"]) != bool(self.columns["rejected"]):
            raise RecipeError("map both 'chosen' and 'rejected' (a preference pair)", location="fields")

    def _guess(self, row: Mapping[str, Any]) -> dict[str, str | None] | None:
        for prompt, answer in PAIRS:
            if prompt in row and answer in row:
                columns: dict[str, str | None] = dict.fromkeys(PARTS)
                columns["prompt"], columns["answer"] = prompt, answer
                columns["reasoning"] = next((k for k in REASONING if is_str(row, k)), None)
                columns["system"] = next((k for k in SYSTEM if is_str(row, k)), None)
                return columns
        return None

    def _columns_for(self, row: Mapping[str, Any]) -> dict[str, str | None] | None:
        return self.columns if self.explicit else self._guess(row)

    def score(self, row: Mapping[str, Any]) -> float:
        if self.explicit:
            needed = [self.columns[p] for p in ("prompt", "answer", "chosen", "rejected") if self.columns[p]]
            return sum(1 for col in needed if col in row) / len(needed) if needed else 0.0
        columns = self._guess(row)
        if columns is None:
            return 0.0
        both_text = is_str(row, columns["prompt"] or "") and is_str(row, columns["answer"] or "")
        return GUESS_SCORE if both_text else GUESS_SCORE / 2

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        columns = self._columns_for(row) or {}
        return [col for col in columns.values() if col and col in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        columns = self._columns_for(row)
        if columns is None:
            names = ", ".join(f"{p}/{a}" for p, a in PAIRS)
            raise AdapterError(f"no prompt/answer columns found (known pairs: {names}); map them with fields")
        prompt_key, input_key = columns["prompt"] or "", columns["input"]
        if prompt_key not in row or row[prompt_key] is None:
            raise AdapterError(f"missing field '{prompt_key}'")
        parts = [optional_str(row, prompt_key), optional_str(row, input_key) if input_key else ""]
        prompt = "\n".join(p for p in parts if p)  # blank is kept: exporters refuse it
        system = optional_str(row, columns["system"]) if columns["system"] else ""
        history_key = columns["history"]
        messages = system_and_history(
            system, row.get(history_key) if history_key else None, history_key or ""
        )
        messages.append(text_message("user", prompt))
        record: Record = {"messages": messages}
        chosen_key, rejected_key, answer_key = columns["chosen"], columns["rejected"], columns["answer"]
        prompt_only = False
        if chosen_key and rejected_key:
            set_pair(
                record,
                answer_turn(row.get(chosen_key), chosen_key),
                answer_turn(row.get(rejected_key), rejected_key),
            )
            mark_tie(record, row)
        elif answer_key:
            self._answer(row, record, answer_key, columns["reasoning"])
        else:
            prompt_only = True
        meta = leftover(row, {c for c in columns.values() if c})
        if meta:
            record["meta"] = meta
        return finish(record, self.config, prompt_only=prompt_only)

    @staticmethod
    def _answer(row: Mapping[str, Any], record: Record, answer_key: str, reasoning_key: str | None) -> None:
        if answer_key not in row:
            raise AdapterError(f"missing field '{answer_key}'")
        answer = row[answer_key]
        if answer is not None and not isinstance(answer, str):
            raise AdapterError(f"field '{answer_key}' must be a string, got {type_name(answer)}")
        answer = answer or ""
        reasoning = optional_str(row, reasoning_key) if reasoning_key else ""
        # an empty answer is a record with an empty assistant turn: filters drop it with a reason
        record["messages"].append(text_message("assistant", answer, reasoning))
