"""Building canonical messages and finishing a record: shared by the conversation adapters.

Conventions every adapter follows (so steps and exporters see one shape):

* ``content`` is a string; a list of parts only when the turn has non-text parts (images, audio) or
  several text parts (kept as given, so nothing is merged away).
* ``tool_calls`` is OpenAI-shaped: ``[{"type": "function", "function": {"name", "arguments"}, "id"?}]``
  with ``arguments`` as the source gave it (a JSON string from OpenAI data, an object from ShareGPT
  ``function_call`` turns); a ``function_call`` value that is not JSON is kept as the raw string.
* ``tools`` is parsed from a JSON string into a list (or object).
* Preference: ``messages`` is the shared context, ``chosen``/``rejected`` the continuations; both
  answers empty means a tie (``tie: True``, no ``chosen``/``rejected``). KTO (one answer with a
  desirable/undesirable label): kind ``preference``, the whole conversation in ``messages`` (its last
  assistant turn is the judged answer) and ``scores: {"kto_label": true|false}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from datamill.formats.base import AdapterConfig, AdapterError
from datamill.formats.cot import apply_cot
from datamill.formats.fields import type_name
from datamill.records import Message, Record

#: ``scores`` key of a KTO label: ``True`` for a desirable answer, ``False`` for an undesirable one.
KTO_LABEL = "kto_label"


#: What :func:`parse_json` returns for a string that is not JSON.
NOT_JSON = object()


def parse_json(value: str) -> Any:
    """``value`` parsed as JSON, or :data:`NOT_JSON` when it is not JSON."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return NOT_JSON


def _call(call: Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(call.get("function"), Mapping):
        return dict(call)
    if isinstance(call.get("name"), str):
        out: dict[str, Any] = {"type": "function", "function": {k: v for k, v in call.items() if k != "id"}}
        if "id" in call:
            out["id"] = call["id"]
        return out
    return None


def tool_calls_from(value: Any) -> list[dict[str, Any]] | str:
    """OpenAI-shaped tool calls from a ShareGPT ``function_call`` value (a JSON string or object).

    ``{"name", "arguments"}`` and lists of them are converted; anything else is returned unchanged as
    the raw string (so nothing is lost), e.g. ``"Action: search\\nAction Input: {...}"``.
    """
    parsed = parse_json(value) if isinstance(value, str) else value
    calls = [parsed] if isinstance(parsed, Mapping) else parsed
    if isinstance(calls, list) and calls:
        out = []
        for call in calls:
            converted = _call(call) if isinstance(call, Mapping) else None
            if converted is None:
                break
            out.append(converted)
        else:
            return out
    if isinstance(value, str):
        return value
    raise AdapterError(f"tool call must be a JSON string or object, got {type_name(value)}")


def tools_from(value: Any, key: str) -> Any:
    """Tool schemas: a JSON string is parsed; ``""``/``null`` mean none (returns ``None``)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        parsed = parse_json(value)
        if parsed is NOT_JSON or not isinstance(parsed, list | dict):
            raise AdapterError(f"field '{key}' is not a JSON list of tool schemas")
        return parsed or None
    if isinstance(value, list | dict):
        return value
    raise AdapterError(f"field '{key}' must be a list or a JSON string, got {type_name(value)}")


def check_content(value: Any, where: str) -> str | list[Any]:
    """A turn's content: a string or a list of parts; anything else is an AdapterError."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return value
    if value is None:
        raise AdapterError(f"{where}: content is missing")
    raise AdapterError(f"{where}: content must be a string, got {type_name(value)}")


def text_message(role: str, content: str, reasoning: str = "") -> Message:
    message: Message = {"role": role, "content": content}
    if reasoning:
        message["reasoning"] = reasoning
    return message


def system_and_history(system: str, history: Any, history_key: str) -> list[Message]:
    """Leading system message and ``[[user, assistant], ...]`` history turns (alpaca style)."""
    messages: list[Message] = [text_message("system", system)] if system.strip() else []
    if history is None or history == []:
        return messages
    if not isinstance(history, list):
        raise AdapterError(f"field '{history_key}' must be a list of [user, assistant] pairs")
    for i, pair in enumerate(history):
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise AdapterError(f"{history_key}[{i}] must be a [user, assistant] pair of strings")
        messages.append(text_message("user", pair[0]))
        messages.append(text_message("assistant", pair[1]))
    return messages


def is_blank(value: Any) -> bool:
    """An answer that says nothing: ``None``, ``""`` or whitespace, ``[]``."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    return False


def answer_turn(value: Any, key: str) -> list[Message] | None:
    """One preference answer given as a string, as a continuation; blank is ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise AdapterError(f"field '{key}' must be a string, got {type_name(value)}")
    return [text_message("assistant", value)] if value.strip() else None


def _blank_continuation(turns: list[Message] | None) -> bool:
    """No answer: ``None``, ``[]``, or turns whose last is an assistant turn that says nothing."""
    return not turns or (turns[-1].get("role") == "assistant" and not has_answer(turns[-1]))


def set_pair(record: Record, chosen: list[Message] | None, rejected: list[Message] | None) -> None:
    """Store a preference pair; both blank (``None``, or ending with an empty answer) is a tie (the
    LLaMA-Factory convention for ties). One blank side is kept as an empty answer, like an sft row
    with an empty answer: ``empty_answer`` drops it and the exporters refuse it
    (``empty_assistant_turn``)."""
    if _blank_continuation(chosen) and _blank_continuation(rejected):
        record["tie"] = True
        return
    record["chosen"] = chosen or [text_message("assistant", "")]
    record["rejected"] = rejected or [text_message("assistant", "")]


def split_common_prefix(a: Sequence[Message], b: Sequence[Message]) -> tuple[list[Message], ...]:
    """Split two full conversations into their shared context and the two continuations."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    if n == len(a) and n == len(b):
        raise AdapterError("chosen and rejected are identical")
    return list(a[:n]), list(a[n:]), list(b[n:])


def has_answer(message: Message) -> bool:
    """The turn says something: text, parts, reasoning or tool calls."""
    content = message.get("content")
    return bool(
        (isinstance(content, str) and content.strip())
        or (isinstance(content, list) and content)
        or message.get("reasoning")
        or message.get("tool_calls")
    )


def _check_ends_with_answer(messages: list[Message], what: str) -> None:
    if not messages or messages[-1].get("role") != "assistant":
        raise AdapterError(f"{what} does not end with an assistant turn")
    # an empty final answer is kept: filters and exporters drop it with a reason, not the reader


def infer_kind(record: Record) -> str:
    """``preference`` (pairs, ties, KTO), ``cot`` (an assistant turn has reasoning), ``chat`` (several
    user turns) or ``sft``."""
    if "chosen" in record or record.get("tie") or KTO_LABEL in (record.get("scores") or {}):
        return "preference"
    messages = record.get("messages") or []
    if any(m.get("reasoning") for m in messages if m.get("role") == "assistant"):
        return "cot"
    return "chat" if sum(1 for m in messages if m.get("role") == "user") > 1 else "sft"


def finish(record: Record, config: AdapterConfig, *, prompt_only: bool = False) -> Record:
    """Apply chain-of-thought options, check the record has a target, and set ``kind``.

    ``prompt_only`` allows a conversation that ends with the user's turn (prompts for a later
    ``generate`` step); otherwise the last assistant answer (or both preference answers) must exist.
    """
    options = config.options
    for key in ("messages", "chosen", "rejected"):
        for message in record.get(key) or ():
            if message.get("role") == "assistant":
                apply_cot(message, options)
    messages = record.get("messages") or []
    if not any(m.get("role") == "user" for m in messages + (record.get("chosen") or [])):
        raise AdapterError("no user turn")
    if "chosen" in record:
        _check_ends_with_answer(record["chosen"], "chosen")
        _check_ends_with_answer(record["rejected"], "rejected")
    elif not record.get("tie") and not (prompt_only and messages[-1].get("role") == "user"):
        _check_ends_with_answer(messages, "the conversation")
    kind = config.kind or infer_kind(record)
    out: Record = {"kind": kind}
    out.update(record)
    return out
