"""Reading an input row's fields: the recipe's field-mapping vocabulary, typed access, leftovers.

A recipe's ``fields:`` maps canonical *parts* onto the row's own column names, e.g.
``{prompt: question, answer: solution, reasoning: thinking, id: qid}``. The parts every adapter
understands are :data:`FIELD_KEYS`; common synonyms (``response`` for ``answer``, ``query`` for
``input`` ...) are accepted and normalised by :func:`normalize_fields`. Unknown parts are a recipe
error, so a mapping written the wrong way round (``{question: prompt}``) fails before any row is read.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from datamill.errors import RecipeError
from datamill.formats.base import AdapterError

#: Parts a ``fields`` mapping may name, with what each one means.
FIELD_KEYS: dict[str, str] = {
    "prompt": "the user's request (alpaca: instruction)",
    "input": "extra input appended to the prompt on a new line (alpaca: input)",
    "answer": "the assistant's answer (the training target)",
    "system": "system prompt",
    "history": "earlier turns as [[user, assistant], ...]",
    "reasoning": "chain of thought of the answer",
    "chosen": "preference: the preferred answer",
    "rejected": "preference: the other answer",
    "label": "KTO: true when the answer is desirable",
    "messages": "the conversation (a list of turns)",
    "tools": "tool/function schemas",
    "text": "pretraining text",
    "id": "the dataset's own key for the row (kept in meta; the ingest stage may use it)",
}

#: Synonyms accepted in ``fields`` and the part each one means.
FIELD_ALIASES: dict[str, str] = {
    "instruction": "prompt",
    "question": "prompt",
    "query": "input",
    "response": "answer",
    "output": "answer",
    "completion": "answer",
    "solution": "answer",
    "thinking": "reasoning",
    "conversations": "messages",
    "kto_tag": "label",
}


def normalize_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """Resolve synonyms and reject unknown parts; the values (column names) are kept as given."""
    out: dict[str, str] = {}
    for key, column in fields.items():
        part = FIELD_ALIASES.get(key, key)
        if part not in FIELD_KEYS:
            close = difflib.get_close_matches(str(key), [*FIELD_KEYS, *FIELD_ALIASES], n=1)
            raise RecipeError(
                f"unknown part '{key}' (known: {', '.join(FIELD_KEYS)})",
                hint=(f"did you mean '{close[0]}'? " if close else "")
                + "fields maps a canonical part onto your column, e.g. {prompt: question} (--field prompt=question)",
                location=f"fields.{key}",
            )
        if part in out and out[part] != column:
            raise RecipeError(f"'{key}' maps '{part}' a second time", location=f"fields.{key}")
        if not isinstance(column, str) or not column:
            raise RecipeError("the column name must be a non-empty string", location=f"fields.{key}")
        out[part] = column
    return out


def type_name(value: Any) -> str:
    """A JSON-ish name for the type of ``value``, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def optional_str(row: Mapping[str, Any], key: str) -> str:
    """``row[key]`` as a string; missing or ``null`` is ``""``; any other type is an AdapterError."""
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AdapterError(f"field '{key}' must be a string, got {type_name(value)}")
    return value


def required_str(row: Mapping[str, Any], key: str) -> str:
    """``row[key]`` as a string, or an AdapterError when it is missing, ``null`` or not a string.

    A blank string is returned as it is: blank is not broken (see :mod:`datamill.formats`): the record
    keeps it and a filter or the exporter drops it with a reason.
    """
    if key not in row or row[key] is None:
        raise AdapterError(f"missing field '{key}'")
    return optional_str(row, key)


def prompt_column(row: Mapping[str, Any], configured: str | None, candidates: Sequence[str]) -> str | None:
    """The prompt column: the one the recipe mapped, else the first of ``candidates`` holding a string."""
    if configured:
        return configured
    return next((k for k in candidates if isinstance(row.get(k), str)), None)


def required_prompt(row: Mapping[str, Any], configured: str | None, candidates: Sequence[str]) -> tuple[str, str]:
    """(column, prompt text) found by :func:`prompt_column`, or an AdapterError naming the columns
    tried."""
    key = prompt_column(row, configured, candidates)
    if key is None:
        raise AdapterError(f"no prompt column (tried {', '.join(candidates)}; map it with fields: {{prompt: ...}})")
    return key, required_str(row, key)


def is_str(row: Mapping[str, Any], key: str) -> bool:
    return isinstance(row.get(key), str)


def leftover(row: Mapping[str, Any], used: Collection[str]) -> dict[str, Any]:
    """Every field of ``row`` not in ``used``, verbatim and in the row's order (becomes ``meta``)."""
    return {k: v for k, v in row.items() if k not in used}


#: LLaMA-Factory ``dataset_info.json`` column names and the part each one means.
LLAMAFACTORY_COLUMNS: dict[str, str] = {
    "prompt": "prompt",
    "query": "input",
    "response": "answer",
    "history": "history",
    "system": "system",
    "tools": "tools",
    "messages": "messages",
    "chosen": "chosen",
    "rejected": "rejected",
    "kto_tag": "label",
}


def resolve_columns(
    adapter: str, defaults: Mapping[str, str | None], fields: Mapping[str, str], options: Mapping[str, Any]
) -> dict[str, str | None]:
    """Column name per part: the adapter's defaults, then ``options.columns`` (LLaMA-Factory names),
    then the recipe's ``fields`` (which win).

    A part the adapter does not use is a recipe error (``id`` is always allowed: it stays in ``meta``).
    LLaMA-Factory media columns are ignored (they stay in meta), and so is an ``options.columns`` that
    is not a mapping (the Parquet reader's list of columns to read shares the name).
    """
    out = dict(defaults)
    columns = options.get("columns")
    if not isinstance(columns, Mapping):  # a list is the Parquet reader's column selection: not ours
        columns = {}
    for lf_name, column in columns.items():
        part = LLAMAFACTORY_COLUMNS.get(lf_name)
        if part in out and isinstance(column, str):
            out[part] = column
    for part, column in normalize_fields(fields).items():
        if part in out:
            out[part] = column
        elif part != "id":
            raise RecipeError(
                f"the {adapter} format does not use '{part}' (it uses: {', '.join(out)})",
                location=f"fields.{part}",
            )
    return out
