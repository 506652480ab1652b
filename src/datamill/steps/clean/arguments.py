"""Cleaning the arguments of tool calls: the string values a call passes, never its keys or its shape.

Canonical arguments are an object (ShareGPT/glaive sources) or JSON text (OpenAI sources). An object's
string values are rewritten in place of a copy. JSON text is rewritten token by token: each string value
that the rewrite changes is re-encoded on its own (with ``\\u`` escapes when the original used them), and
every other byte stays, so the spacing, the key order and the escaping of the source survive and the text
is still JSON that decodes to the cleaned values. Arguments that are not JSON text are cleaned as the text
they are (invalid JSON stays as invalid as it was, never becomes so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

#: A JSON string token, and whether a ``:`` follows it (a key). In valid JSON a ``"`` outside a string
#: opens one, so scanning from the start finds exactly the string tokens.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?', re.S)


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to every string inside it (object keys excepted); a new value."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    return value


def _encode(value: str, original: str) -> str:
    escaped = "\\u" in original and original.isascii()
    return json.dumps(value, ensure_ascii=escaped)


def map_json_text(text: str, fn: Callable[[str], str]) -> str | None:
    """JSON ``text`` with ``fn`` applied to its string values, in the text's own style; ``None`` when
    ``text`` is not JSON."""
    try:
        json.loads(text)
    except ValueError:
        return None
    out: list[str] = []
    pos = 0
    for m in _STRING.finditer(text):
        if m.group(1) is not None:  # a key
            continue
        token = m.group(0)
        value = json.loads(token)
        new = fn(value)
        if new != value:
            out.append(text[pos:m.start()])
            out.append(_encode(new, token))
            pos = m.end()
    if not out:
        return text
    out.append(text[pos:])
    result = "".join(out)
    try:  # whole string tokens replaced by json.dumps output: JSON by construction; checked, never assumed
        json.loads(result)
    except ValueError:
        raise AssertionError(f"rewriting tool-call arguments broke their JSON: {text!r} -> {result!r}") from None
    return result


def clean_arguments(arguments: Any, fn: Callable[[str], str]) -> Any:
    """Tool-call ``arguments`` (an object, JSON text or other text) with ``fn`` applied to their strings."""
    if isinstance(arguments, str):
        mapped = map_json_text(arguments, fn)
        return fn(arguments) if mapped is None else mapped
    return map_strings(arguments, fn)
