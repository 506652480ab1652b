"""firefly, text, raw: small adapters, one table each."""

from __future__ import annotations

from typing import Any

import pytest

from datamill.errors import RecipeError
from datamill.formats import AdapterConfig, AdapterError, get_adapter

from .conftest import Convert


def m(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


FIREFLY: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {
            "conversation_id": 1,
            "category": "Brainstorming",
            "conversation": [{"human": "q", "assistant": "a"}],
        },
        {
            "kind": "sft",
            "messages": [m("user", "q"), m("assistant", "a")],
            "category": "Brainstorming",
            "meta": {"conversation_id": 1},
        },
    ),
    (
        {
            "system": "S",
            "conversation": [{"human": "q1", "assistant": "a1"}, {"human": "q2", "assistant": "a2"}],
        },
        {
            "kind": "chat",
            "messages": [
                m("system", "S"),
                m("user", "q1"),
                m("assistant", "a1"),
                m("user", "q2"),
                m("assistant", "a2"),
            ],
        },
    ),
    (  # an empty final answer is a record with an empty assistant turn (filters drop it)
        {"conversation": [{"human": "q", "assistant": ""}]},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "")]},
    ),
    (
        {"conversation": [{"human": "q", "assistant": " "}]},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", " ")]},
    ),
    (  # a null final answer is an empty one
        {"conversation": [{"human": "q1", "assistant": "a1"}, {"human": "q2", "assistant": None}]},
        {
            "kind": "chat",
            "messages": [m("user", "q1"), m("assistant", "a1"), m("user", "q2"), m("assistant", "")],
        },
    ),
    (
        {"conversation": [{"human": "q", "assistant": "a", "turn": 1}], "dataset": "moss"},
        {
            "kind": "sft",
            "messages": [m("user", "q"), m("assistant", "a")],
            "meta": {"dataset": "moss", "conversation_extra": {"0": {"turn": 1}}},
        },
    ),
]


@pytest.mark.parametrize(("row", "expected"), FIREFLY)
def test_firefly_rows(convert: Convert, row: dict[str, Any], expected: dict[str, Any]) -> None:
    assert convert("firefly", row) == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({}, "must be a non-empty list .* got missing"),
        ({"conversation": []}, "got empty"),
        ({"conversation": [{"human": "q"}]}, r"conversation\[0\]\.assistant must be a string, got null"),
        ({"conversation": [{"human": "q", "assistant": 1}]}, "got number"),
        (
            {"conversation": [{"human": "q", "assistant": None}, {"human": "q2", "assistant": "a"}]},
            r"conversation\[0\]\.assistant must be a string, got null",
        ),
        ({"conversation": [{"human": None, "assistant": ""}]}, r"conversation\[0\]\.human must be a string"),
    ],
)
def test_firefly_bad_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        get_adapter("firefly").to_record(row)


TEXT: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"text": "Once upon a time."}, {}, {"kind": "pretrain", "text": "Once upon a time."}),
    (
        {"text": "doc", "url": "http://x"},
        {},
        {"kind": "pretrain", "text": "doc", "meta": {"url": "http://x"}},
    ),
    (
        {"articleBody": "body", "url": "u"},
        {"fields": {"text": "articleBody"}},
        {"kind": "pretrain", "text": "body", "meta": {"url": "u"}},
    ),
]


@pytest.mark.parametrize(("row", "config", "expected"), TEXT)
def test_text_rows(
    convert: Convert, row: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert("text", row, **config) == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [({}, "missing field 'text'"), ({"text": None}, "missing field 'text'"), ({"text": ["a"]}, "got list")],
)
def test_text_bad_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        get_adapter("text").to_record(row)


def test_text_scores() -> None:
    text = get_adapter("text")
    assert text.score({"text": "x"}) == 0.9
    assert text.score({"text": "x", "id": 1, "url": "u"}) == 0.9
    assert text.score({"text": "x", "label": "spam"}) == 0.5
    assert text.score({"content": "x"}) == 0.0
    assert (
        get_adapter("text", AdapterConfig(fields={"text": "content"})).score({"content": "x", "y": 1}) == 1.0
    )
    with pytest.raises(RecipeError, match="text format does not use 'prompt'"):
        get_adapter("text", AdapterConfig(fields={"prompt": "q"}))


def test_raw_keeps_the_whole_row() -> None:
    row = {"system": "Nemo", "seg_id": 1, "source": "Hallo", "target": "Hi", "severity": "Minor"}
    assert get_adapter("raw").to_record(row) == {"kind": "raw", "meta": row}
    assert get_adapter("raw").score(row) == 0.1
    with pytest.raises(AdapterError, match="must be an object"):
        get_adapter("raw").to_record(["not", "a", "dict"])  # type: ignore[arg-type]
