"""Which text or field of a record a step reads or writes: one vocabulary for every step.

A *selector* (``on:``, ``to:``, ``field:`` ... in recipes) is a **part name** or a **field path**, or a
list of them (``prompt+answer`` is the list ``[prompt, answer]``). The names are checked when the recipe
loads: anything else is an error that lists the valid names.

Parts (a record's texts, found wherever the record's shape keeps them):

=================  ====================================================================================
``prompt``         the content of every user turn before the answer turn (every user turn of a preference
                   record's ``messages``); a record without a conversation: its ``text``
``answer``         the content of the last assistant turn of ``messages``; a preference record: the last
                   assistant turn of ``chosen`` and of ``rejected``; a record without a conversation: its
                   ``text``
``system``         the content of the system turns of ``messages``
``reasoning``      the ``reasoning`` (chain of thought) of the answer turn(s), the turns ``answer`` names
``turns``          the content of every turn of ``messages``, ``chosen`` and ``rejected``; a record without
                   a conversation: its ``text`` (``conversation`` is another name for ``turns``)
``chosen``         the content of every turn of ``chosen``; ``rejected`` likewise
``text``           the pretraining ``text``
``all``            every turn's content and reasoning, and ``text``: everything a trainer sees
``prompt+answer``  ``prompt`` then ``answer``
=================  ====================================================================================

A **field path** names a canonical field (``category``, ``lang``, ``split``, ``kind``, ``tags`` ...) and
keys below it: ``meta.task_type`` (an original column), ``scores.quality``, ``messages.0.content``
(integers index lists, ``-1`` is the last item), ``chosen.0.content``. A bare name that is neither a part
nor a canonical field (``task_type``) is an error suggesting ``meta.task_type``: a typo never silently
becomes a field that no record has.

Reading: :func:`texts` gives the selected texts (multimodal content part by part, text parts only),
:func:`map_texts` rewrites them in place (cleaning steps), :func:`read_text` joins one name's texts,
:func:`read_value` reads a name as a value (field steps, expressions).

Writing a part has the same meaning as reading it: see :mod:`datamill.part_writes`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

from datamill.records import TOP_LEVEL_FIELDS, Message, Record, get_path, last_assistant_index

#: The parts and what each selects (``datamill steps`` and ``datamill schema`` show this table).
PARTS: dict[str, str] = {
    "prompt": "user turns before the answer (a pretraining record: its text)",
    "answer": "the last assistant turn (preference: of chosen and of rejected; a pretraining record: its text)",
    "system": "the system turns",
    "reasoning": "the chain of thought of the answer turn(s)",
    "turns": "every turn of messages, chosen and rejected (a pretraining record: its text)",
    "conversation": "another name for turns",
    "chosen": "every turn of chosen",
    "rejected": "every turn of rejected",
    "text": "the pretraining text",
    "all": "every turn, every reasoning and the text",
    "prompt+answer": "prompt, then answer",
}
#: Parts a step can write (``to:``, ``set_fields``, ``map_fields`` targets ...).
WRITABLE_PARTS: tuple[str, ...] = ("prompt", "answer", "system", "reasoning", "chosen", "rejected", "text")
#: Parts a step can remove (``drop_fields``, the source of ``rename_fields``).
REMOVABLE_PARTS: tuple[str, ...] = ("system", "reasoning", "chosen", "rejected", "text")
_ALIASES = {"conversation": "turns"}
#: Canonical fields a field path may start with.
FIELD_ROOTS: tuple[str, ...] = TOP_LEVEL_FIELDS
#: Field paths that cannot be written or removed.
READ_ONLY_FIELDS = frozenset({"id"})

On = str | list[str]
#: A place holding text: (container, key) with ``container[key]`` a string.
Slot = tuple[Any, Any]


# -- names -------------------------------------------------------------------------------------------

def suggest(name: str) -> str:
    """What to write instead of the unknown bare ``name`` (close part or field names, ``meta.<name>``)."""
    close = difflib.get_close_matches(name, [*PARTS, *FIELD_ROOTS], n=2, cutoff=0.7)
    did = f"did you mean {' or '.join(close)}? " if close else ""
    return (f"{did}an original column is meta.{name}, a score scores.{name}; parts: {', '.join(PARTS)}; "
            f"fields: {', '.join(FIELD_ROOTS)} (and paths below them, e.g. meta.x, messages.0.content)")


def _split(name: str) -> list[str]:
    parts = name.split(".")
    if any(not p for p in parts):
        raise ValueError(f"'{name}' is not a field path (an empty part between dots)")
    return parts


def check_name(name: Any, *, fields_only: bool = False) -> str:
    """Validate one part name or field path; raise ``ValueError`` naming the valid names otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"give a part ({', '.join(PARTS)}) or a field path (meta.x)")
    if name != name.strip():
        raise ValueError(f"'{name}' has spaces around it")
    if name in PARTS:
        if fields_only and name not in FIELD_ROOTS:
            raise ValueError(f"'{name}' is a text part, not a field; give a field path such as category or "
                             f"meta.{name}")
        return name
    if "+" in name:
        if fields_only:
            raise ValueError(f"'{name}' names several texts; give one field path")
        for piece in name.split("+"):
            check_name(piece)
        return name
    root = _split(name)[0]
    if root not in FIELD_ROOTS:
        raise ValueError(f"unknown part or field '{name}'; {suggest(name)}")
    return name


def names(on: On) -> list[str]:
    """The names of a selector, ``+`` and aliases expanded, in order (``prompt+answer`` -> prompt, answer)."""
    out: list[str] = []
    for item in [on] if isinstance(on, str) else on:
        if item in PARTS and "+" not in item:
            out.append(_ALIASES.get(item, item))
        elif "+" in item:
            out.extend(names(item.split("+")))
        else:
            out.append(item)
    return out


@lru_cache(maxsize=1024)
def _field_paths(key: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in names(list(key)) if n not in PARTS)


def field_paths(on: On) -> tuple[str, ...]:
    """The field paths among a selector's names (not its parts)."""
    return _field_paths((on,) if isinstance(on, str) else tuple(on))


def missing_paths(record: Mapping[str, Any], on: On) -> list[str]:
    """The field paths of ``on`` that ``record`` does not have (parts may legitimately be absent)."""
    return [p for p in field_paths(on) if get_path(record, p, MISSING) is MISSING]


def check_selector(on: Any) -> On:
    """Validator for ``on``-style params: a name, ``a+b``, or a non-empty list of names."""
    if isinstance(on, list):
        if not on:
            raise ValueError("give at least one part or field path")
        for item in on:
            check_name(item)
        return on
    return check_name(on)


def check_target(name: Any) -> str:
    """Validator for a written name: a writable part or a field path that may be written."""
    check_name(name)
    if name in PARTS and name not in WRITABLE_PARTS:
        raise ValueError(f"'{name}' names several texts and cannot be written; writable parts: "
                         f"{', '.join(WRITABLE_PARTS)}, or a field path")
    if "+" in name:
        raise ValueError(f"'{name}' names several texts and cannot be written")
    if name not in PARTS and _split(name)[0] in READ_ONLY_FIELDS:
        raise ValueError("'id' cannot be changed: ids are assigned at ingest and never reassigned")
    return str(name)


def check_removable(name: Any) -> str:
    """Validator for a removed name (``drop_fields``, ``rename_fields`` sources)."""
    check_target(name)
    if name in PARTS and name not in REMOVABLE_PARTS:
        raise ValueError(f"'{name}' cannot be removed (a record keeps its {name}); removable parts: "
                         f"{', '.join(REMOVABLE_PARTS)}, or a field path")
    return str(name)


def check_field(name: Any) -> str:
    """Validator for a field path (grouping keys, numbers): parts that are not fields are refused."""
    return check_name(name, fields_only=True)


def check_field_target(name: Any) -> str:
    """Validator for a written field path (labels, scores, verdicts): a field path that is not ``id``."""
    check_field(name)
    if _split(name)[0] in READ_ONLY_FIELDS:
        raise ValueError("'id' cannot be changed: ids are assigned at ingest and never reassigned")
    return str(name)


_PATH_PATTERN = r"^(" + "|".join(re.escape(f) for f in FIELD_ROOTS) + r")(\.[^.]+)*$"
_NAME_SCHEMA: dict[str, Any] = {"anyOf": [
    {"enum": list(PARTS), "description": "a part: " + "; ".join(f"{k}: {v}" for k, v in PARTS.items())},
    {"type": "string", "pattern": _PATH_PATTERN, "description": "a field path: meta.<column>, scores.<name>, "
     "category, messages.0.content ..."},
]}
_TARGET_SCHEMA: dict[str, Any] = {"anyOf": [
    {"enum": list(WRITABLE_PARTS), "description": "a writable part"},
    {"type": "string", "pattern": _PATH_PATTERN, "description": "a field path (not id)"},
]}
_FIELD_SCHEMA: dict[str, Any] = {"type": "string", "pattern": _PATH_PATTERN,
                                 "description": "a field path: category, meta.<column>, scores.<name> ..."}

#: ``on:``: what a step reads (or cleans): a part, a field path, ``a+b``, or a list of them.
Selector = Annotated[On, AfterValidator(check_selector),
                     WithJsonSchema({"anyOf": [_NAME_SCHEMA, {"type": "array", "items": _NAME_SCHEMA,
                                                             "minItems": 1}]})]
#: One name a step reads as a value or text (a part or a field path).
Name = Annotated[str, AfterValidator(check_selector), WithJsonSchema(_NAME_SCHEMA)]
#: Where a step writes text or a label: a writable part or a field path.
Target = Annotated[str, AfterValidator(check_target), WithJsonSchema(_TARGET_SCHEMA)]
#: A field path only, read (group keys, numbers).
FieldPath = Annotated[str, AfterValidator(check_field), WithJsonSchema(_FIELD_SCHEMA)]
#: A field path written with a label, a number or a structured value (not ``id``).
FieldTarget = Annotated[str, AfterValidator(check_field_target), WithJsonSchema(_FIELD_SCHEMA)]


# -- places ------------------------------------------------------------------------------------------

def _messages(record: Mapping[str, Any], key: str) -> list[Message]:
    value = record.get(key)
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def is_preference(record: Mapping[str, Any]) -> bool:
    return record.get("chosen") is not None or record.get("rejected") is not None


def has_conversation(record: Mapping[str, Any]) -> bool:
    return any(_messages(record, k) for k in ("messages", "chosen", "rejected"))


def content_slots(message: dict[str, Any]) -> Iterator[Slot]:
    content = message.get("content")
    if isinstance(content, str):
        yield message, "content"
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, dict):
                for key in ("text", "value"):
                    if isinstance(part.get(key), str):
                        yield part, key
                        break
            elif isinstance(part, str):
                yield content, i


def _text_slot(record: Mapping[str, Any]) -> Iterator[Slot]:
    if isinstance(record.get("text"), str):
        yield record, "text"


def prompt_turns(record: Mapping[str, Any]) -> list[Message]:
    """The user turns of the context: before the last assistant turn (all of them for a preference record)."""
    messages = _messages(record, "messages")
    end = None if is_preference(record) else last_assistant_index(messages)
    return [m for m in messages[:end] if m.get("role") == "user"]


def answer_turns(record: Mapping[str, Any]) -> list[Message]:
    """The answer turn(s): the last assistant turn of ``messages``, or of ``chosen`` and ``rejected``."""
    out = []
    for key in ("chosen", "rejected") if is_preference(record) else ("messages",):
        msgs = _messages(record, key)
        i = last_assistant_index(msgs)
        if i is not None:
            out.append(msgs[i])
    return out


def _part_slots(record: Mapping[str, Any], name: str) -> Iterator[Slot]:
    if name in ("prompt", "answer", "turns") and not has_conversation(record):
        yield from _text_slot(record)
    elif name == "prompt":
        for m in prompt_turns(record):
            yield from content_slots(m)
    elif name == "answer":
        for m in answer_turns(record):
            yield from content_slots(m)
    elif name == "system":
        for m in _messages(record, "messages"):
            if m.get("role") == "system":
                yield from content_slots(m)
    elif name == "reasoning":
        for m in answer_turns(record):
            if isinstance(m.get("reasoning"), str):
                yield m, "reasoning"
    elif name in ("turns", "chosen", "rejected"):
        for key in ("messages", "chosen", "rejected") if name == "turns" else (name,):
            for m in _messages(record, key):
                yield from content_slots(m)
    elif name == "text":
        yield from _text_slot(record)
    elif name == "all":
        for key in ("messages", "chosen", "rejected"):
            for m in _messages(record, key):
                yield from content_slots(m)
                if isinstance(m.get("reasoning"), str):
                    yield m, "reasoning"
        yield from _text_slot(record)
    else:
        yield from _field_slots(record, name)


def _field_slots(record: Mapping[str, Any], path: str) -> Iterator[Slot]:
    """A field path's strings: the string itself, or the strings (and message contents) of a list."""
    keys = path.split(".")
    holder = get_path(record, ".".join(keys[:-1])) if len(keys) > 1 else record
    last: Any = keys[-1]
    if isinstance(holder, list) and _is_index(last) and -len(holder) <= int(last) < len(holder):
        last = int(last) % len(holder)
    elif not (isinstance(holder, dict) and last in holder):
        return
    value = holder[last]
    if isinstance(value, str):
        yield holder, last
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield value, i
            elif isinstance(item, dict) and "content" in item:
                yield from content_slots(item)
            elif isinstance(item, dict):  # a part of multimodal content
                yield from content_slots({"content": [item]})
    elif isinstance(value, dict) and "content" in value:
        yield from content_slots(value)


def _is_index(key: str) -> bool:
    return key.lstrip("-").isdigit()


def slots(record: Mapping[str, Any], on: On) -> list[Slot]:
    """Every place holding a selected text, each once, in a stable order."""
    seen: set[tuple[int, Any]] = set()
    out: list[Slot] = []
    for name in names(on):
        for container, key in _part_slots(record, name):
            ident = (id(container), key)
            if ident not in seen:
                seen.add(ident)
                out.append((container, key))
    return out


def plain_pair(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """(prompt, answer) of the commonest record: exactly one user turn then one assistant turn, both with text
    content, no preference pair. The same texts the general path gives, read directly (a hot path: filters
    and dedup read these for every record)."""
    messages = record.get("messages")
    if type(messages) is not list or len(messages) != 2 or record.get("chosen") is not None \
            or record.get("rejected") is not None:
        return None
    user, assistant = messages
    if type(user) is not dict or type(assistant) is not dict:
        return None
    prompt, answer = user.get("content"), assistant.get("content")
    if user.get("role") != "user" or assistant.get("role") != "assistant" or type(prompt) is not str \
            or type(answer) is not str:
        return None
    return prompt, answer


_PAIR_PARTS = {"prompt": 0, "answer": 1}


def texts(record: Mapping[str, Any], on: On) -> list[str]:
    """The selected texts, in order (empty strings included: an empty answer is still an answer)."""
    if isinstance(on, str) and on in _PAIR_PARTS:
        pair = plain_pair(record)
        if pair is not None:
            return [pair[_PAIR_PARTS[on]]]
    return [container[key] for container, key in slots(record, on)]


def map_texts(record: Record, on: On, fn: Callable[[str], str]) -> Record:
    """Replace every selected text ``t`` by ``fn(t)``, in place; returns the record."""
    for container, key in slots(record, on):
        container[key] = fn(container[key])
    return record


def _turns(record: Mapping[str, Any], name: str) -> Iterator[Message]:
    """The turns a part or field path selects whole (their content, not just one field of them)."""
    if name == "answer":
        yield from answer_turns(record)
    elif name in ("turns", "all"):
        for key in ("messages", "chosen", "rejected"):
            yield from _messages(record, key)
    elif name in ("chosen", "rejected"):
        yield from _messages(record, name)
    elif name not in PARTS:
        value = get_path(record, name, None)
        items = value if isinstance(value, list) else [value]
        yield from (m for m in items if isinstance(m, dict) and "role" in m)


def call_functions(record: Mapping[str, Any], on: On) -> list[dict[str, Any]]:
    """The ``function`` objects (``{"name", "arguments"}``) of the tool calls made by the turns ``on``
    selects whole, each once: a call is part of the assistant turn that makes it, so ``answer``,
    ``turns``, ``chosen``, ``rejected``, ``all`` and a field path naming turns (``messages``,
    ``messages.1``) select their calls; ``prompt``, ``system``, ``reasoning`` and ``text`` hold none."""
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for name in names(on):
        for message in _turns(record, name):
            calls = message.get("tool_calls")
            for call in calls if isinstance(calls, list) else []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and "arguments" in function and id(function) not in seen:
                    seen.add(id(function))
                    out.append(function)
    return out


def texts_by_name(record: Mapping[str, Any], on: On) -> list[str]:
    """One string per name of the selector (its texts joined by newlines), a place counted once: the
    ``prompt+answer`` of a pretraining record is its text once, not twice."""
    seen: set[tuple[int, Any]] = set()
    out: list[str] = []
    for name in names(on):
        found = []
        for container, key in _part_slots(record, name):
            ident = (id(container), key)
            if ident not in seen:
                seen.add(ident)
                found.append(container[key])
        out.append("\n".join(found))
    return out


def read_text(record: Mapping[str, Any], on: On) -> str:
    """The selected texts as one string (joined by newlines; ``""`` when there is none)."""
    return "\n".join(texts(record, on))


MISSING: Any = object()


def read_value(record: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A name read as a value: a field path's value; ``chosen``/``rejected`` their message list; any other
    part its text (``default`` when the record has none of it)."""
    if name in ("chosen", "rejected", "text"):
        return record.get(name, default)
    if name in PARTS:
        found = texts(record, name)
        return "\n".join(found) if found else default
    return get_path(record, name, default)


def present(record: Mapping[str, Any], name: str) -> bool:
    """Whether the record has ``name``: a part with at least one text, or a field path that exists."""
    if name in ("chosen", "rejected", "text"):
        return name in record
    if name in PARTS:
        return bool(slots(record, name))
    return get_path(record, name, MISSING) is not MISSING


def fields_of(record: Mapping[str, Any] | None, limit: int = 40) -> list[str]:
    """The field paths a record has, for messages: top-level fields, then ``meta.*`` and ``scores.*`` keys."""
    if not record:
        return []
    out = [k for k in record if k not in ("meta", "scores")]
    for group in ("meta", "scores"):
        value = record.get(group)
        if isinstance(value, Mapping):
            out.extend(f"{group}.{k}" for k in value)
    return out[:limit] + (["..."] if len(out) > limit else [])


def vocabulary() -> dict[str, Any]:
    """The valid names, for ``datamill steps`` and ``datamill schema``."""
    return {"parts": dict(PARTS), "writable_parts": list(WRITABLE_PARTS), "field_roots": list(FIELD_ROOTS),
            "field_path": "a canonical field and keys below it, dot-separated: meta.<column>, scores.<name>, "
                          "category, messages.0.content (integers index lists, -1 is the last item)"}
