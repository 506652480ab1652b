"""``hh``: Anthropic HH-RLHF transcripts: ``chosen`` and ``rejected`` are whole dialogues written as
``"\\n\\nHuman: ...\\n\\nAssistant: ..."`` strings.

Each transcript is split at its ``Human:``/``Assistant:`` markers (at the start or after a blank line)
into user/assistant turns (each turn's text stripped); the turns both transcripts share become
``messages`` and the rest of each is its continuation (usually the last answer; every turn after the
first difference when the dialogues part earlier). Text before the first marker, a transcript that
does not end with an assistant turn, and two identical transcripts are errors (quarantined with the
reason). Every other field stays in ``meta``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.formats.base import AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, type_name
from datamill.formats.messages import finish, set_pair, split_common_prefix, text_message
from datamill.records import Message, Record

SIDES = ("chosen", "rejected")
_MARKER = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def parse_transcript(text: str, key: str) -> list[Message]:
    """``"\\n\\nHuman: q\\n\\nAssistant: a"`` -> ``[{user: q}, {assistant: a}]``.

    >>> parse_transcript("\\n\\nHuman: hi\\n\\nAssistant: hello", "chosen")
    [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}]
    """
    body = text.lstrip("\n")
    marks = list(_MARKER.finditer(body))
    if not marks:
        raise AdapterError(f"field '{key}' has no 'Human:'/'Assistant:' turns")
    if body[: marks[0].start()].strip():
        raise AdapterError(f"field '{key}' has text before its first 'Human:' turn")
    turns: list[Message] = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        turns.append(text_message(_ROLES[mark.group(1)], body[mark.end() : end].strip()))
    return turns


def _looks_like_transcript(value: Any) -> bool:
    return isinstance(value, str) and "Human:" in value and "Assistant:" in value and bool(
        _MARKER.match(value.lstrip("\n"))
    )


class HhAdapter(FormatAdapter):
    """Anthropic HH-RLHF: chosen/rejected "\\n\\nHuman: ... \\n\\nAssistant: ..." transcripts."""

    name = "hh"
    description = "chosen/rejected as '\\n\\nHuman: ...\\n\\nAssistant: ...' transcripts (Anthropic HH-RLHF)"
    specificity = 3
    options: ClassVar[dict[str, str]] = dict(COT_OPTIONS)

    def score(self, row: Mapping[str, Any]) -> float:
        return 0.95 if all(_looks_like_transcript(row.get(k)) for k in SIDES) else 0.0

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        return [k for k in SIDES if k in row]

    def to_record(self, row: Mapping[str, Any]) -> Record:
        sides = []
        for key in SIDES:
            value = row.get(key)
            if not isinstance(value, str):
                raise AdapterError(f"field '{key}' must be a transcript string, got {type_name(value)}")
            sides.append(parse_transcript(value, key))
        context, chosen, rejected = split_common_prefix(*sides)
        record: Record = {"messages": context}
        set_pair(record, chosen, rejected)
        meta = leftover(row, SIDES)
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
