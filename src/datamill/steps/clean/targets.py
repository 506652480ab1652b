"""Which texts of a record a text step acts on (``on:``), and how to read or rewrite them in place.

Targets (a name or a list of names; anything else is a dotted field path such as ``meta.title``):

=============  ==============================================================================
``prompt``     the content of every user turn before the last assistant turn (all user turns of a
               preference record)
``answer``     the last assistant turn (of ``messages``; of ``chosen`` and ``rejected`` for a
               preference record); ``text`` for a record without any conversation (a pretraining
               document is its own target)
``turns``      the content of every turn of ``messages``, ``chosen`` and ``rejected``
``system``     the content of system turns
``reasoning``  the ``reasoning`` of every assistant turn
``chosen``     every turn of ``chosen``; ``rejected`` likewise
``text``       the pretraining ``text``
``all``        ``turns`` + ``reasoning`` + ``text``: everything a trainer sees
=============  ==============================================================================

Multimodal content (a list of parts) is handled part by part: only the text parts are touched.
Field paths read strings, or lists of strings, via :func:`datamill.records.get_field`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from datamill.records import Record, get_field, last_assistant_index, set_field

TARGETS: tuple[str, ...] = ("prompt", "answer", "turns", "system", "reasoning", "chosen", "rejected", "text", "all")
On = str | list[str]
#: A place holding text: (container, key) with ``container[key]`` a string.
Slot = tuple[Any, Any]


def as_list(on: On) -> list[str]:
    return [on] if isinstance(on, str) else list(on)


def check_on(on: On) -> On:
    """Validator helper for ``on`` params: at least one non-empty name."""
    names = as_list(on)
    if not names or any(not isinstance(n, str) or not n.strip() for n in names):
        raise ValueError("give a target (prompt, answer, turns, system, reasoning, chosen, rejected, text, all) "
                         "or a field path")
    return on


def _content_slots(message: dict[str, Any]) -> Iterator[Slot]:
    content = message.get("content")
    if isinstance(content, str):
        yield message, "content"
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                for key in ("text", "value"):
                    if isinstance(part.get(key), str):
                        yield part, key
                        break
            # bare strings inside a list are yielded by index
        for i, part in enumerate(content):
            if isinstance(part, str):
                yield content, i


def _messages(record: Record, key: str) -> list[dict[str, Any]]:
    value = record.get(key)
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def _is_preference(record: Record) -> bool:
    return record.get("chosen") is not None or record.get("rejected") is not None


def _slots_of(record: Record, name: str) -> Iterator[Slot]:
    if name == "prompt":
        messages = _messages(record, "messages")
        end = None if _is_preference(record) else last_assistant_index(messages)
        for m in messages[: len(messages) if end is None else end]:
            if m.get("role") == "user":
                yield from _content_slots(m)
    elif name == "answer":
        if _is_preference(record):
            for key in ("chosen", "rejected"):
                msgs = _messages(record, key)
                i = last_assistant_index(msgs)
                if i is not None:
                    yield from _content_slots(msgs[i])
        elif record.get("messages"):
            msgs = _messages(record, "messages")
            i = last_assistant_index(msgs)
            if i is not None:
                yield from _content_slots(msgs[i])
        elif isinstance(record.get("text"), str):
            yield record, "text"
    elif name in ("turns", "system", "chosen", "rejected"):
        keys = ("messages", "chosen", "rejected") if name in ("turns", "system") else (name,)
        for key in keys:
            for m in _messages(record, key):
                if name != "system" or m.get("role") == "system":
                    yield from _content_slots(m)
    elif name == "reasoning":
        for key in ("messages", "chosen", "rejected"):
            for m in _messages(record, key):
                if m.get("role") == "assistant" and isinstance(m.get("reasoning"), str):
                    yield m, "reasoning"
    elif name == "text":
        if isinstance(record.get("text"), str):
            yield record, "text"
    elif name == "all":
        for sub in ("turns", "reasoning", "text"):
            yield from _slots_of(record, sub)
    else:
        yield from _field_slots(record, name)


def _field_slots(record: Record, path: str) -> Iterator[Slot]:
    value = get_field(record, path)
    if isinstance(value, str):
        parts = path.split(".")
        parent = get_field(record, ".".join(parts[:-1])) if len(parts) > 1 else None
        if len(parts) == 1:
            parent = record if path in record else record.get("meta")
        if isinstance(parent, dict):
            yield parent, parts[-1]
        elif isinstance(parent, list) and parts[-1].lstrip("-").isdigit():
            yield parent, int(parts[-1])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield value, i
            elif isinstance(item, dict) and "content" in item:
                yield from _content_slots(item)


def slots(record: Record, on: On) -> list[Slot]:
    """Every place holding a selected text, each once, in a stable order."""
    seen: set[tuple[int, Any]] = set()
    out: list[Slot] = []
    for name in as_list(on):
        for container, key in _slots_of(record, name):
            ident = (id(container), key)
            if ident not in seen:
                seen.add(ident)
                out.append((container, key))
    return out


def texts(record: Record, on: On) -> list[str]:
    """The selected texts, in order (empty strings included: an empty answer is still an answer)."""
    return [container[key] for container, key in slots(record, on)]


def map_texts(record: Record, on: On, fn: Callable[[str], str]) -> Record:
    """Replace every selected text ``t`` by ``fn(t)``, in place; returns the record."""
    for container, key in slots(record, on):
        container[key] = fn(container[key])
    return record


def write_field(record: Record, path: str, value: Any) -> None:
    """Write a label (``lang``, ``scores.x``, ``meta.y``): a thin alias of :func:`set_field`."""
    set_field(record, path, value)
