"""``firefly``: ``conversation`` as a list of ``{human, assistant}`` pairs (YeungNLP Firefly, MOSS-style).

``system`` (a string column) becomes the system message; ``category`` (the dataset's task label)
becomes the record's ``category``. Other keys of a pair stay in ``meta`` under ``conversation_extra``
(index -> keys), other columns in ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, optional_str, type_name
from datamill.formats.messages import finish, text_message
from datamill.records import Record

CONVERSATION = "conversation"
_PAIR = ("human", "assistant")


class FireflyAdapter(FormatAdapter):
    """Firefly conversations: [{human, assistant}, ...]."""

    name = "firefly"
    description = "conversation: [{human, assistant}] (+ system, category)"
    specificity = 3
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def score(self, row: Mapping[str, Any]) -> float:
        turns = row.get(CONVERSATION)
        if not isinstance(turns, list) or not turns:
            return 0.0
        ok = sum(1 for t in turns if isinstance(t, Mapping) and "human" in t and "assistant" in t)
        return ok / len(turns)

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in (CONVERSATION, "system", "category") if k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        turns = row.get(CONVERSATION)
        if not isinstance(turns, list) or not turns:
            what = "missing" if turns is None else f"a {type_name(turns)}" if turns else "empty"
            raise AdapterError(
                f"'{CONVERSATION}' must be a non-empty list of {{human, assistant}} pairs, got {what}"
            )
        system = optional_str(row, "system")
        messages = [text_message("system", system)] if system.strip() else []
        extra: dict[str, Any] = {}
        for i, pair in enumerate(turns):
            if not isinstance(pair, Mapping):
                raise AdapterError(f"{CONVERSATION}[{i}] must be an object, got {type_name(pair)}")
            for speaker in _PAIR:
                text = pair.get(speaker)
                if text is None and speaker == "assistant" and speaker in pair and i == len(turns) - 1:
                    text = ""  # a null final answer is an empty one: kept, filters drop it with a reason
                if not isinstance(text, str):
                    raise AdapterError(
                        f"{CONVERSATION}[{i}].{speaker} must be a string, got {type_name(text)}"
                    )
                messages.append(text_message("user" if speaker == "human" else "assistant", text))
            rest = leftover(pair, _PAIR)
            if rest:
                extra[str(i)] = rest
        record: Record = {"messages": messages}
        category = row.get("category")
        used = {CONVERSATION, "system"}
        if isinstance(category, str):
            record["category"] = category
            used.add("category")
        meta = leftover(row, used)
        if extra:
            meta["conversation_extra"] = extra
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
