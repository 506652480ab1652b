"""``arena``: pairwise battles (lmarena / arena-human-preference-100k / webdev-arena-preference):
two whole conversations ``conversation_a``/``conversation_b`` and a ``winner``.

Both conversations answer the same user turns, so the shared beginning (the first user turn, and any
identical turns after it) becomes ``messages`` and the rest of each conversation is its continuation:
in a multi-turn battle the continuation is every turn after the common prefix (``[a1, u2, a2]``), not
only the last answer. ``winner``: ``model_a`` -> chosen = conversation A's continuation, ``model_b`` ->
chosen = B's, ``tie`` and ``tie (bothbad)`` -> an explicit tie (``tie: True``) with A's continuation in
``chosen`` and B's in ``rejected`` (the row's order; two identical conversations have no pair and stay in
``meta``). ``winner``, ``model_a``/``model_b`` and every other field stay in ``meta``.

Turns are read like the ``openai`` format (string content or text parts, as webdev-arena has them).
LLaMA-Factory takes one answer per side, so its exporters refuse multi-turn continuations
(``multi_turn_continuation``); TRL's conversational DPO rows take them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.messages import finish, set_pair
from datamill.formats.openai import OpenaiAdapter
from datamill.formats.preference import common_prefix
from datamill.records import Record

SIDES = ("conversation_a", "conversation_b")
WINNER = "winner"
#: ``winner`` values and the side that won (``None``: a tie).
WINNERS: dict[str, int | None] = {"model_a": 0, "model_b": 1, "tie": None, "tie (bothbad)": None}


def _is_turn_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, Mapping) and "role" in m for m in value)


class ArenaAdapter(FormatAdapter):
    """Arena battles: conversation_a/conversation_b + winner (model_a, model_b, tie, tie (bothbad))."""

    name = "arena"
    description = "conversation_a/conversation_b + winner (lmarena, arena-human-preference); ties explicit"
    specificity = 3
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._messages = OpenaiAdapter()

    def score(self, row: Mapping[str, Any]) -> float:
        if not all(_is_turn_list(row.get(k)) for k in SIDES):
            return 0.0
        return 0.97 if row.get(WINNER) in WINNERS else 0.3

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in (*SIDES, WINNER) if k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        winner = row.get(WINNER)
        if winner not in WINNERS:
            known = ", ".join(WINNERS)
            raise AdapterError(f"field '{WINNER}' must be one of {known}, got {winner!r}")
        for key in SIDES:
            if key not in row:
                raise AdapterError(f"missing field '{key}'")
        a, b = (self._messages.parse_messages(row[k], k) for k in SIDES)
        n = common_prefix(a, b)
        side = WINNERS[winner]
        record: Record = {}
        used: set[str] = set()
        if side is None:
            if n == len(a) == len(b):  # the same conversation: no pair; the context is before the answer
                n = max((i for i, m in enumerate(a) if m["role"] == "user"), default=-1) + 1
                record["messages"] = a[:n]  # both conversations stay in meta
            else:
                record["messages"] = a[:n]
                set_pair(record, a[n:], b[n:])  # in the row's order: A, B
                used.update(SIDES)
            record["tie"] = True
        else:
            if n == len(a) == len(b):
                raise AdapterError("conversation_a and conversation_b are identical but one is said to win")
            record["messages"] = a[:n]
            continuations = (a[n:], b[n:])
            set_pair(record, continuations[side], continuations[1 - side])
            used.update(SIDES)
        meta = {k: v for k, v in row.items() if k not in used}
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
