"""Writing a record's parts and fields: the same names, with the meaning they have when read.

Writing a part (:func:`write`) has the same meaning as reading it: the write goes to the one place the
part names, creating it where the part says how, and is refused (:class:`WriteConflict`, a
``field_conflict`` drop in the field steps) where it would be ambiguous or would change other data:

* ``prompt``: replaces the single user turn before the answer; inserts one (after the system turn, before
  the answer) when there is none; a context of several user turns is a conflict (write
  ``messages.<i>.content`` to pick one);
* ``answer``: replaces the content of the last assistant turn; appends an assistant turn when there is
  none; a preference record (two answers) is a conflict (write ``chosen`` or ``rejected``);
* ``system``: replaces the system turn; inserts one at the start when there is none; several is a conflict;
* ``reasoning``: sets the answer turn's reasoning; no assistant turn, or a preference record, is a conflict;
* ``chosen``/``rejected``: a string replaces the content of a one-turn continuation (creating
  ``[{role: assistant}]`` when absent); a message list replaces the continuation;
* ``text``: sets ``text``.
A record that is a pretraining text (``text``, no conversation) has no turns to write: writing ``prompt``,
``answer``, ``system`` or ``reasoning`` on it is a conflict (write ``text``). ``turns``, ``all`` and
``prompt+answer`` name several texts and cannot be written. Text parts take strings; numbers are written
as their decimal text; anything else is a conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from datamill.records import Message, Record, delete_field, last_assistant_index, set_field
from datamill.selectors import PARTS, answer_turns, content_slots, has_conversation, is_preference, prompt_turns


class WriteConflict(ValueError):
    """A write (or removal) that cannot be done without ambiguity or damage; the message says why."""


def _as_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    got = "null" if value is None else type(value).__name__
    raise WriteConflict(f"'{name}' is a text and takes a string, not {got}")


def _set_content(message: Message, name: str, text: str) -> None:
    place = list(content_slots(message))
    content = message.get("content")
    if isinstance(content, list) and len(place) == 1:
        container, key = place[0]
        container[key] = text  # keep the other (image, audio) parts of a multimodal turn
    elif isinstance(content, list) and len(place) > 1:
        raise WriteConflict(f"the {name} turn holds {len(place)} text parts; write one of them by path")
    else:
        message["content"] = text


def _pretraining(record: Record, name: str) -> None:
    if not has_conversation(record) and isinstance(record.get("text"), str):
        raise WriteConflict(f"the record is a pretraining text (no conversation) and has no {name} turn; "
                            "write 'text' instead")


def _conversation(record: Record) -> list[Message]:
    messages = record.get("messages")
    if messages is None:
        messages = record["messages"] = []
    if not isinstance(messages, list):
        raise WriteConflict(f"'messages' is a {type(messages).__name__}, not a list of turns")
    return messages


def _write_prompt(record: Record, text: str) -> None:
    _pretraining(record, "prompt")
    turns = prompt_turns(record)
    if len(turns) > 1:
        raise WriteConflict(f"the prompt spans {len(turns)} user turns; write one of them "
                            "(messages.<i>.content) or build the conversation with the input's fields:")
    if turns:
        _set_content(turns[0], "prompt", text)
        return
    messages = _conversation(record)
    end = None if is_preference(record) else last_assistant_index(messages)
    at = len(messages) if end is None else end
    messages.insert(at, {"role": "user", "content": text})


def _write_answer(record: Record, text: str) -> None:
    _pretraining(record, "answer")
    if is_preference(record):
        raise WriteConflict("a preference record has two answers; write 'chosen' or 'rejected'")
    messages = _conversation(record)
    i = last_assistant_index(messages)
    if i is None:
        messages.append({"role": "assistant", "content": text})
    else:
        _set_content(messages[i], "answer", text)


def _write_system(record: Record, text: str) -> None:
    _pretraining(record, "system")
    messages = _conversation(record)
    systems = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    if len(systems) > 1:
        raise WriteConflict(f"the record has {len(systems)} system turns; write one of them by path")
    if systems:
        _set_content(systems[0], "system", text)
    else:
        messages.insert(0, {"role": "system", "content": text})


def _write_reasoning(record: Record, text: str) -> None:
    _pretraining(record, "reasoning")
    if is_preference(record):
        raise WriteConflict("a preference record has two answer turns; write chosen.<i>.reasoning")
    turns = answer_turns(record)
    if not turns:
        raise WriteConflict("the record has no assistant turn to hold the reasoning; write 'answer' first")
    turns[0]["reasoning"] = text


def _write_continuation(record: Record, name: str, value: Any) -> None:
    if isinstance(value, list):
        if not all(isinstance(m, dict) and "role" in m for m in value):
            raise WriteConflict(f"'{name}' takes a string or a list of turns ({{role, content}})")
        record[name] = value
        return
    text = _as_text(name, value)
    turns = record.get(name)
    if turns is None:
        record[name] = [{"role": "assistant", "content": text}]
    elif isinstance(turns, list) and len(turns) == 1 and isinstance(turns[0], dict):
        _set_content(turns[0], name, text)
    else:
        count = len(turns) if isinstance(turns, list) else 0
        raise WriteConflict(f"'{name}' has {count} turns; write one of them ({name}.<i>.content) or a list")


_PART_WRITERS: dict[str, Callable[[Record, str], None]] = {
    "prompt": _write_prompt, "answer": _write_answer, "system": _write_system, "reasoning": _write_reasoning,
}


def write(record: Record, name: str, value: Any) -> None:
    """Write ``value`` to a part or field path (see the module docs); :class:`WriteConflict` when it cannot
    be done, before anything is changed."""
    if name in _PART_WRITERS:
        _PART_WRITERS[name](record, _as_text(name, value))
    elif name in ("chosen", "rejected"):
        _write_continuation(record, name, value)
    elif name == "text":
        record["text"] = _as_text(name, value)
    elif name in PARTS or "+" in name:
        raise WriteConflict(f"'{name}' names several texts and cannot be written")
    else:
        try:
            set_field(record, name, value)
        except ValueError as exc:
            raise WriteConflict(str(exc)) from None


def remove(record: Record, name: str) -> None:
    """Remove a part (system turns, the answer's reasoning, chosen, rejected, text) or a field."""
    if name == "system":
        messages = record.get("messages")
        if isinstance(messages, list):
            messages[:] = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    elif name == "reasoning":
        for m in answer_turns(record):
            m.pop("reasoning", None)
    elif name in ("chosen", "rejected", "text"):
        record.pop(name, None)
    elif name in PARTS:
        raise WriteConflict(f"'{name}' cannot be removed")
    else:
        try:
            delete_field(record, name)
        except ValueError as exc:
            raise WriteConflict(str(exc)) from None
