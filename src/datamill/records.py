"""The canonical record: one plain ``dict`` per example, and the accessors steps use to read it.

Fields (all optional except ``id``):

============  =======================================================================
``id``        stable id: ``<source>:<row>``; never reassigned after ingest
``source``    provenance: the input's name
``source_id`` provenance: where in the input (``file:line`` or the dataset's own key)
``kind``      ``sft``, ``chat``, ``cot``, ``preference``, ``pretrain`` or ``raw``
``messages``  ``[{"role", "content", "reasoning"?, "tool_calls"?, ...}]``; roles system/user/assistant/tool
``chosen``    preference: the preferred continuation (a message list)
``rejected``  preference: the other continuation (a message list)
``tie``       preference: ``True`` when neither continuation is preferred (explicit, never empty strings)
``text``      pretraining text
``tools``     tool/function schemas
``category``  label written by steps; ``tags`` (list), ``lang``, ``scores`` (dict) likewise
``split``     ``train``/``test``/... written by the ``split`` step
``meta``      every original field the format adapter did not map, kept verbatim
============  =======================================================================

Records stay plain dicts in the hot path; they are validated where they enter (format adapters)
and where they leave (exporters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

Record = dict[str, Any]
Message = dict[str, Any]

KINDS = ("sft", "chat", "cot", "preference", "pretrain", "raw")
ROLES = ("system", "user", "assistant", "tool")
TOP_LEVEL_FIELDS = (
    "id", "source", "source_id", "kind", "messages", "chosen", "rejected", "tie", "text", "tools",
    "category", "tags", "lang", "scores", "split", "meta",
)

#: The named parts of a record that text steps act on (``on:`` in recipes).
Part = Literal["prompt", "answer", "prompt+answer", "conversation", "reasoning", "chosen", "rejected", "text"]
PARTS: tuple[str, ...] = (
    "prompt", "answer", "prompt+answer", "conversation", "reasoning", "chosen", "rejected", "text",
)


def _content_text(content: Any) -> str:
    """Message content as text: strings as they are, multimodal part lists joined by their text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, Mapping):
                value = part.get("text", part.get("value"))
                if isinstance(value, str):
                    texts.append(value)
            elif isinstance(part, str):
                texts.append(part)
        return "\n".join(texts)
    return str(content)


def last_assistant_index(messages: list[Message]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "assistant":
            return i
    return None


def prompt_text(record: Mapping[str, Any]) -> str:
    """The prompt: every non-system turn before the last assistant turn (the user turns of the context).

    For a preference record (no assistant turn in ``messages``) it is every user turn in ``messages``.
    For pretraining text it is ``text``.
    """
    messages = record.get("messages") or []
    if not messages:
        return str(record.get("text") or "")
    end = last_assistant_index(messages)
    if end is None or record.get("chosen") is not None:
        end = len(messages)
    turns = [_content_text(m.get("content")) for m in messages[:end] if m.get("role") == "user"]
    return "\n".join(turns)


def answer_text(record: Mapping[str, Any]) -> str:
    """The answer: content of the last assistant turn (the training target); chosen for preference."""
    chosen = record.get("chosen")
    if chosen:
        return conversation_text({"messages": chosen})
    messages = record.get("messages") or []
    i = last_assistant_index(messages)
    return "" if i is None else _content_text(messages[i].get("content"))


def reasoning_text(record: Mapping[str, Any]) -> str:
    """The reasoning (chain of thought) of the last assistant turn, or ``""``."""
    messages = record.get("messages") or []
    i = last_assistant_index(messages)
    return "" if i is None else str(messages[i].get("reasoning") or "")


def conversation_text(record: Mapping[str, Any]) -> str:
    """Every turn's content, one per line, roles included so that A->B and B->A differ."""
    messages = record.get("messages") or []
    if not messages:
        return str(record.get("text") or "")
    return "\n".join(f"{m.get('role', '')}: {_content_text(m.get('content'))}" for m in messages)


def get_field(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Read a dotted field path (``meta.task_type``, ``scores.quality``).

    A bare name that is not a canonical top-level field falls back to ``meta.<name>`` so recipes can
    say ``task_type`` for an original column kept in ``meta``.
    """
    node: Any = record
    parts = path.split(".")
    if parts[0] not in record and parts[0] not in TOP_LEVEL_FIELDS and isinstance(record.get("meta"), Mapping):
        node = record["meta"]
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def set_field(record: Record, path: str, value: Any) -> None:
    """Write a dotted field path, creating dicts on the way."""
    parts = path.split(".")
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def part_text(record: Mapping[str, Any], part: str) -> str:
    """Text of a named part (see :data:`PARTS`) or of a field path."""
    if part == "prompt":
        return prompt_text(record)
    if part == "answer":
        return answer_text(record)
    if part == "prompt+answer":
        return prompt_text(record) + "\n" + answer_text(record)
    if part == "conversation":
        return conversation_text(record)
    if part == "reasoning":
        return reasoning_text(record)
    if part in ("chosen", "rejected"):
        return conversation_text({"messages": record.get(part) or []})
    if part == "text":
        return str(record.get("text") or "")
    value = get_field(record, part)
    if value is None:
        return ""
    if isinstance(value, list) and value and all(isinstance(m, Mapping) and "role" in m for m in value):
        return conversation_text({"messages": value})
    if isinstance(value, dict):
        return str(value)
    return _content_text(value)


def parts_text(record: Mapping[str, Any], on: str | Iterable[str]) -> str:
    """Text of one part or of several, joined with a separator that cannot appear in normal text."""
    if isinstance(on, str):
        return part_text(record, on)
    return "\x1f".join(part_text(record, p) for p in on)
