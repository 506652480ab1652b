"""Structured answers: find the JSON in a model's text, repair common damage, validate against a schema.

Repairs, in order, each tried only when the previous text does not parse: strip Markdown code
fences; take the first balanced ``{...}`` (string-aware); then "json-repair-lite": smart quotes to
plain, Python literals (True/False/None) to JSON, trailing commas removed, single-quoted strings to
double-quoted when the text has no double quotes, and unclosed brackets closed at the end.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = ((re.compile(r"\bTrue\b"), "true"), (re.compile(r"\bFalse\b"), "false"),
                (re.compile(r"\bNone\b"), "null"))


@dataclass
class Parsed:
    """The parsed value, or None with the reason; ``repaired`` says a repair was needed."""

    value: Any
    error: str | None
    repaired: bool = False


def _first_object(text: str) -> str | None:
    """The first balanced ``{...}`` in ``text`` (braces inside strings ignored); unbalanced: the tail."""
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    in_string = False
    escape = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return text[start:]


def _close_brackets(text: str) -> str:
    stack: list[str] = []
    in_string = False
    escape = False
    for ch in text:
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    if in_string:
        text += '"'
    return text + "".join(reversed(stack))


def repair_lite(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    for pattern, replacement in _PY_LITERALS:
        text = pattern.sub(replacement, text)
    if '"' not in text and "'" in text:
        text = text.replace("'", '"')
    text = _close_brackets(text.strip())
    return _TRAILING_COMMA.sub(r"\1", text)


def extract_json(text: str) -> Parsed:
    """The JSON object in a model answer, repaired if needed."""
    candidates: list[tuple[str, bool]] = [(text.strip(), False)]
    fence = _FENCE.search(text)
    if fence:
        candidates.append((fence.group(1).strip(), True))
    obj = _first_object(fence.group(1) if fence else text)
    if obj is not None:
        candidates.append((obj, True))
        candidates.append((repair_lite(obj), True))
    last_error = "no JSON object in the answer"
    for candidate, repaired in candidates:
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except ValueError as exc:
            last_error = f"not valid JSON: {exc}"
            continue
        if isinstance(value, dict):
            return Parsed(value, None, repaired)
        last_error = f"expected a JSON object, got {type(value).__name__}"
    if obj is None:
        last_error = "no JSON object in the answer"
    return Parsed(None, last_error)


def validate(value: Any, schema: dict[str, Any] | None) -> str | None:
    """None when ``value`` matches ``schema``; else the first error, with its path."""
    if schema is None:
        return None
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.absolute_path) or "(root)"
    return f"{where}: {err.message}"


def parse_answer(text: str, schema: dict[str, Any] | None) -> Parsed:
    """Extract, repair and validate; ``error`` says why the answer is unusable."""
    parsed = extract_json(text)
    if parsed.error is not None:
        return parsed
    problem = validate(parsed.value, schema)
    if problem is not None:
        return Parsed(None, f"does not match the schema: {problem}", parsed.repaired)
    return parsed


def retry_message(error: str) -> str:
    """The follow-up user turn that asks the model to fix a malformed answer."""
    return (f"Your previous answer could not be used ({error}). Reply again with only the JSON object "
            "that follows the requested format, no other text.")
