"""``sharegpt``: a ``conversations`` list of ``{from, value}`` turns (FastChat, LLaMA-Factory sharegpt).

Speakers: ``human``/``user`` -> user, ``gpt``/``assistant``/``model``/``chatgpt`` -> assistant,
``system`` -> system, ``observation``/``tool`` -> tool, ``function_call`` -> an assistant turn whose
``tool_calls`` are parsed from the JSON value (kept as the raw string when it is not JSON). A
``tools`` column becomes ``tools``; a ``system`` column becomes the system message unless the
conversation starts with one. Extra keys on a turn stay on the message; an ``id`` column goes to meta.

Preference (LLaMA-Factory ``ranking``, e.g. dpo_zh_demo.json): ``chosen``/``rejected`` as
``{from, value}`` turns, lists of turns, or plain strings (MedicalGPT) continue the conversation.
KTO: a boolean ``label`` column (``columns.kto_tag``).

LLaMA-Factory ``tags`` (role_tag, content_tag, user_tag, assistant_tag, system_tag, observation_tag,
function_tag) add speaker names or rename the turn keys; ``columns`` (messages, system, tools,
chosen, rejected, kto_tag) rename the row's columns; ``fields`` (messages, system, tools, chosen,
rejected, label) win over both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datamill.errors import RecipeError
from datamill.formats.base import AdapterConfig, AdapterError, FormatAdapter
from datamill.formats.cot import COT_OPTIONS
from datamill.formats.fields import leftover, optional_str, resolve_columns, type_name
from datamill.formats.messages import (
    KTO_LABEL,
    check_content,
    finish,
    has_answer,
    set_pair,
    text_message,
    tool_calls_from,
    tools_from,
)
from datamill.formats.preference import mark_tie, resolve_pair
from datamill.records import Message, Record

DEFAULTS: dict[str, str | None] = {
    "messages": "conversations",
    "system": "system",
    "tools": "tools",
    "chosen": "chosen",
    "rejected": "rejected",
    "label": "label",
}

#: Speaker name -> canonical role (``function_call`` is special: an assistant turn with tool calls).
SPEAKERS: dict[str, str] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "system": "system",
    "observation": "tool",
    "tool": "tool",
    "function_call": "function_call",
}

_TAG_ROLES = {
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
    "observation_tag": "tool",
    "function_tag": "function_call",
}


class SharegptAdapter(FormatAdapter):
    """ShareGPT conversations of {from, value} turns, with LLaMA-Factory tags and columns."""

    name = "sharegpt"
    description = "conversations: [{from, value}] (+ tools, system; chosen/rejected for preference)"
    specificity = 3
    options: ClassVar[dict[str, str]] = {
        **COT_OPTIONS,
        "columns": "LLaMA-Factory dataset_info.json column names (prompt, query, response, ...)",
        "tags": "LLaMA-Factory dataset_info.json tags (role_tag, content_tag, user_tag, ...)",
    }

    def __init__(self, config: AdapterConfig | None = None) -> None:
        super().__init__(config)
        self.columns = resolve_columns(self.name, DEFAULTS, self.config.fields, self.config.options)
        tags = self.config.options.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise RecipeError("options.tags must be a mapping of LLaMA-Factory tag names")
        self.role_tag: str = tags.get("role_tag") or "from"
        self.content_tag: str = tags.get("content_tag") or "value"
        self.speakers = dict(SPEAKERS)
        for tag, role in _TAG_ROLES.items():
            if tags.get(tag):
                self.speakers[tags[tag]] = role
        self._explicit_messages = self.columns["messages"] != DEFAULTS["messages"]

    def _conversation_key(self, row: Mapping[str, Any]) -> str:
        key = self.columns["messages"] or ""
        if key in row or self._explicit_messages:
            return key
        turns = row.get("messages")  # some ShareGPT exports call the column "messages"
        if isinstance(turns, list) and turns and isinstance(turns[0], Mapping) and self.role_tag in turns[0]:
            return "messages"
        return key

    def score(self, row: Mapping[str, Any]) -> float:
        turns = row.get(self._conversation_key(row))
        if not isinstance(turns, list) or not turns:
            return 0.0
        known = 0
        for turn in turns:
            if not isinstance(turn, Mapping) or self.role_tag not in turn:
                return 0.0
            if turn[self.role_tag] in self.speakers and isinstance(turn.get(self.content_tag), str):
                known += 1
        return (0.7 + 0.3 * known / len(turns)) if known else 0.3

    def fields_used(self, row: Mapping[str, Any]) -> list[str]:
        key = self._conversation_key(row)
        return [key, *(c for p, c in self.columns.items() if p != "messages" and c and c in row)]

    def _message(self, turn: Any, where: str, *, final: bool = False) -> Message:
        """One turn; ``final``: the conversation's last turn, where a null answer means an empty one."""
        if not isinstance(turn, Mapping):
            raise AdapterError(f"{where} must be an object, got {type_name(turn)}")
        speaker = turn.get(self.role_tag)
        role = self.speakers.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise AdapterError(f"{where}: unknown speaker {speaker!r} (name it in options.tags)")
        value = turn.get(self.content_tag)
        if value is None and final and role == "assistant" and self.content_tag in turn:
            value = ""  # a null final answer is an empty one: kept, filters drop it with a reason
        content = check_content(value, where)
        if role == "function_call":
            message: Message = {"role": "assistant", "content": "", "tool_calls": tool_calls_from(content)}
        else:
            message = {"role": role, "content": content}
        for key, value in turn.items():
            if key != self.role_tag and key != self.content_tag:
                if key in message:
                    raise AdapterError(f"{where}: key '{key}' clashes with the canonical message field")
                message[key] = value
        return message

    def _continuation(self, value: Any, key: str) -> list[Message] | None:
        """A preference answer: a turn, a list of turns or a string; blank is ``None``."""
        if isinstance(value, str):
            return [text_message("assistant", value)] if value.strip() else None
        if isinstance(value, Mapping):
            message = self._message(value, key, final=True)
            return [message] if has_answer(message) else None
        if isinstance(value, list):
            last = len(value) - 1
            return [self._message(t, f"{key}[{i}]", final=i == last) for i, t in enumerate(value)] or None
        if value is None:
            return None
        raise AdapterError(
            f"field '{key}' must be a turn, a list of turns or a string, got {type_name(value)}"
        )

    def _pair(self, row: Mapping[str, Any], record: Record, key: str) -> None:
        """chosen/rejected as continuations of the conversation, or as whole conversations (each starting
        with the user's turn) whose shared beginning must agree with it."""
        sides = (self.columns["chosen"] or "", self.columns["rejected"] or "")
        if sides[0] not in row or sides[1] not in row:
            raise AdapterError(f"a preference row needs both '{sides[0]}' and '{sides[1]}'")
        chosen = self._continuation(row[sides[0]], sides[0])
        rejected = self._continuation(row[sides[1]], sides[1])
        record["messages"], chosen, rejected, _ = resolve_pair(chosen, rejected, [(key, record["messages"])],
                                                               sides, f"'{key}'")
        set_pair(record, chosen, rejected)
        mark_tie(record, row)

    def to_record(self, row: Mapping[str, Any]) -> Record:
        c = self.columns
        key = self._conversation_key(row)
        turns = row.get(key)
        if not isinstance(turns, list):
            raise AdapterError(
                f"missing field '{key}'"
                if turns is None
                else f"'{key}' must be a list, got {type_name(turns)}"
            )
        if not turns:
            raise AdapterError(f"'{key}' is empty")
        chosen_key, rejected_key = c["chosen"] or "", c["rejected"] or ""
        paired = chosen_key in row or rejected_key in row  # the conversation is then the shared context
        last = -1 if paired else len(turns) - 1
        messages = [self._message(t, f"{key}[{i}]", final=i == last) for i, t in enumerate(turns)]
        used = {key, *(col for p, col in c.items() if col and p != "messages")}
        record: Record = {"messages": messages}
        if paired:
            self._pair(row, record, key)
        messages = record["messages"]
        system_key = c["system"] or ""
        if system_key in row and messages and messages[0]["role"] == "system":
            used.discard(system_key)  # the conversation has its own system turn: keep the column in meta
        else:
            system = optional_str(row, system_key) if system_key else ""
            if system.strip():
                messages.insert(0, text_message("system", system))
        label = row.get(c["label"] or "")
        if isinstance(label, bool):
            record.setdefault("scores", {})[KTO_LABEL] = label
        elif c["label"]:
            used.discard(c["label"])
        if c["tools"]:
            tools = tools_from(row.get(c["tools"]), c["tools"])
            if tools is not None:
                record["tools"] = tools
        meta = leftover(row, used)
        if meta:
            record["meta"] = meta
        return finish(record, self.config)
