"""``qa``: a prompt column and an answer column under any names (the generic single-turn adapter).

With an explicit ``fields`` mapping it reads exactly the mapped columns (prompt, input, answer,
system, history, reasoning, chosen, rejected); a mapping without ``answer`` reads prompts only (for a
later ``generate`` step). Without one it guesses the pair by name (:func:`guess_pair`): each column is
scored against lists of prompt names (:data:`PROMPT_NAMES`: question, prompt, problem, ask, query,
original_text, 问, 问题 ...) and answer names (:data:`ANSWER_NAMES`: answer, response, solution,
std_answer, ans, 答, 答案 ...), exactly or as a word inside the name (``user_question``); a known pair
(:data:`PAIRS`) wins, otherwise the best product of the two scores. A reasoning column
(:data:`REASONING`, e.g. seed 001's prompt / thinking / answer rows, kind ``cot``) and a system column
are picked up too. Guessing is weak evidence, so detection scores it 0.5-0.6 and more specific formats
win; the mapping it chose is reported in the read log (``prompt=ask, answer=answer``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import is_str, leftover, optional_str, resolve_columns, type_name
from datamill.formats.messages import answer_turn, finish, set_pair, system_and_history, text_message
from datamill.formats.preference import mark_tie
from datamill.records import Record

#: Known (prompt, answer) pairs: a row holding one scores highest, in this order.
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
#: Column names (lower case, ``_`` between words) that hold a prompt, with how sure the name is.
PROMPT_NAMES: dict[str, float] = {
    "question": 1.0, "prompt": 1.0, "problem": 1.0, "instruction": 0.9, "query": 0.9, "ask": 0.9,
    "request": 0.85, "user": 0.8, "human": 0.8, "q": 0.8, "original_text": 0.8, "input": 0.7, "quest": 0.7,
    "问": 1.0, "问题": 1.0, "提问": 0.9, "题目": 0.9, "指令": 0.9, "输入": 0.7, "用户": 0.8,
}
#: Column names that hold the answer.
ANSWER_NAMES: dict[str, float] = {
    "answer": 1.0, "response": 1.0, "completion": 1.0, "solution": 1.0, "std_answer": 1.0, "output": 0.9,
    "reply": 0.9, "ans": 0.9, "final_answer": 0.9, "correct_answer": 0.9, "best_answer": 0.9,
    "expected_answer": 0.9, "reference_answer": 0.9, "ground_truth": 0.8, "expected_output": 0.8,
    "target": 0.8, "a": 0.8, "assistant": 0.8, "bot": 0.8, "gpt": 0.7, "gold": 0.7,
    "答": 1.0, "答案": 1.0, "回答": 1.0, "解答": 1.0, "回复": 0.9, "输出": 0.8, "助手": 0.8,
}
#: A column whose name only contains a known word (``question_text``, ``model_answer``) counts this much.
PART_MATCH = 0.8
#: A guessed pair with a name score below this is not a guess.
MIN_GUESS = 0.5
#: Reasoning column names tried when guessing.
REASONING: tuple[str, ...] = ("thinking", "reasoning", "reasoning_content", "think", "cot", "rationale")
#: System column names tried when guessing.
SYSTEM: tuple[str, ...] = ("system", "system_prompt")
PARTS = ("prompt", "input", "answer", "system", "history", "reasoning", "chosen", "rejected")
#: Best score for guessed names: below what a specific format scores on its own names.
GUESS_SCORE = 0.6


def _normal(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def name_score(name: str, names: dict[str, float]) -> float:
    """How surely the column ``name`` is one of ``names``: the exact (normalised) name, else a known
    word inside it (``user_question`` -> question) at :data:`PART_MATCH` of its score.

    >>> name_score("Std-Answer", ANSWER_NAMES), name_score("user_question", PROMPT_NAMES)
    (1.0, 0.8)
    """
    normal = _normal(name)
    if normal in names:
        return names[normal]
    words = [names[w] for w in normal.split("_") if w in names and len(w) > 1]
    return PART_MATCH * max(words) if words else 0.0


@functools.lru_cache(maxsize=256)  # rows of one file share their columns: guessed once per layout
def guess_pair(columns: tuple[str, ...]) -> tuple[str, str, float] | None:
    """The most likely (prompt column, answer column, score in (0, 1]) among ``columns``; a known pair
    (:data:`PAIRS`) scores 1, any other pair the product of its name scores, at most 0.9."""
    excluded = {c for c in columns if _normal(c) in REASONING or _normal(c) in SYSTEM}
    best: tuple[float, int, str, str] | None = None
    for i, prompt in enumerate(columns):
        p = name_score(prompt, PROMPT_NAMES)
        if not p or prompt in excluded:
            continue
        for j, answer in enumerate(columns):
            a = name_score(answer, ANSWER_NAMES)
            if not a or answer == prompt or answer in excluded:
                continue
            pair = (_normal(prompt), _normal(answer))
            score = 1.0 if pair in PAIRS else 0.9 * p * a
            rank = -PAIRS.index(pair) if pair in PAIRS else -len(PAIRS) - i * len(columns) - j
            if score >= MIN_GUESS and (best is None or (score, rank) > best[:2]):
                best = (score, rank, prompt, answer)
    return None if best is None else (best[2], best[3], best[0])


def suggest_pair(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """A (prompt, answer) column pair to suggest when detection fails: the best guess by name at any
    score, else the two columns holding the longest texts, in the file's order (questions come first)."""
    lengths: dict[str, list[int]] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(key, str) and isinstance(value, str):
                lengths.setdefault(key, []).append(len(value))
    names = list(lengths)
    scored = [(name_score(p, PROMPT_NAMES) * name_score(a, ANSWER_NAMES), p, a)
              for p in names for a in names if p != a]
    best = max(scored, default=(0.0, "", ""))
    if best[0] > 0:
        return best[1], best[2]
    if len(names) < 2:
        return None
    longest = sorted(names, key=lambda n: sum(lengths[n]) / len(lengths[n]), reverse=True)[:2]
    first, second = sorted(longest, key=names.index)
    return first, second


class QaAdapter(FormatAdapter):
    """Prompt/answer pairs under any column names (explicit fields, or guessed common names)."""

    name = "qa"
    description = "prompt/answer under any names: question/answer, problem/solution, 问/答 ... or fields"
    specificity = 1
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.columns = resolve_columns(self.name, dict.fromkeys(PARTS), self.config.fields, {})
        self.explicit = any(self.columns.values())
        if bool(self.columns["chosen"]) != bool(self.columns["rejected"]):
            raise RecipeError("map both 'chosen' and 'rejected' (a preference pair)", location="fields")

    def _guess(self, row: Mapping[str, Any]) -> dict[str, str | None] | None:
        found = guess_pair(tuple(k for k in row if isinstance(k, str)))
        if found is None:
            return None
        columns: dict[str, str | None] = dict.fromkeys(PARTS)
        columns["prompt"], columns["answer"] = found[0], found[1]
        columns["reasoning"] = next((k for k in REASONING if is_str(row, k)), None)
        columns["system"] = next((k for k in SYSTEM if is_str(row, k)), None)
        return columns

    def _columns_for(self, row: Mapping[str, Any]) -> dict[str, str | None] | None:
        return self.columns if self.explicit else self._guess(row)

    def score(self, row: Mapping[str, Any]) -> float:
        if self.explicit:
            needed = [self.columns[p] for p in ("prompt", "answer", "chosen", "rejected") if self.columns[p]]
            return sum(1 for col in needed if col in row) / len(needed) if needed else 0.0
        found = guess_pair(tuple(k for k in row if isinstance(k, str)))
        if found is None:
            return 0.0
        both_text = is_str(row, found[0]) and is_str(row, found[1])
        # a known pair scores GUESS_SCORE; weaker names a little less (never below MIN_CONFIDENCE)
        score = GUESS_SCORE - 0.1 * (1 - found[2]) / (1 - MIN_GUESS)
        return score if both_text else score / 2

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        columns = self._columns_for(row) or {}
        return [col for col in columns.values() if col and col in row]

    def mapping(self, row: Mapping[str, Any]) -> dict[str, str]:
        columns = self._columns_for(row) or {}
        return {part: col for part, col in columns.items() if col and col in row}

    def to_record(self, row: Mapping[str, Any]) -> Record:
        columns = self._columns_for(row)
        if columns is None:
            raise AdapterError(f"no prompt/answer columns found among {', '.join(map(str, row))}; map them with "
                               "fields: {prompt: COLUMN, answer: COLUMN}")
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
