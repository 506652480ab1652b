from __future__ import annotations

from typing import Any

import pytest

from datamill.errors import RecipeError
from datamill.formats import AdapterConfig, AdapterError, get_adapter

from .conftest import Convert


def u(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def a(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text, **extra}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "gsm8k",
        {"question": "Q", "answer": "A\n#### 4"},
        {},
        {"kind": "sft", "messages": [u("Q"), a("A\n#### 4")]},
    ),
    (
        "problem/solution",
        {"problem": "P", "solution": "S"},
        {},
        {"kind": "sft", "messages": [u("P"), a("S")]},
    ),
    ("问/答", {"问": "什么？", "答": "这个。"}, {}, {"kind": "sft", "messages": [u("什么？"), a("这个。")]}),
    (
        "prompt/completion",
        {"prompt": "P", "completion": "C"},
        {},
        {"kind": "sft", "messages": [u("P"), a("C")]},
    ),
    ("input/output", {"input": "I", "output": "O"}, {}, {"kind": "sft", "messages": [u("I"), a("O")]}),
    (
        "seed 001 cot row: prompt / thinking / answer",
        {
            "all_prompt_id": 1,
            "source_prompt_id": "7_x",
            "prompt": "P",
            "thinking": "T",
            "answer": "A",
            "metadata": "{}",
        },
        {},
        {
            "kind": "cot",
            "messages": [u("P"), a("A", reasoning="T")],
            "meta": {"all_prompt_id": 1, "source_prompt_id": "7_x", "metadata": "{}"},
        },
    ),
    (
        "seed 001 LIMO: answer empty, the solution is in thinking",
        {"prompt": "P", "thinking": "the whole solution", "answer": ""},
        {},
        {"kind": "cot", "messages": [u("P"), a("", reasoning="the whole solution")]},
    ),
    (
        "an empty answer is a record with an empty assistant turn (filters drop it)",
        {"question": "Q", "answer": ""},
        {},
        {"kind": "sft", "messages": [u("Q"), a("")]},
    ),
    (
        "a blank answer is kept verbatim",
        {"question": "Q", "answer": " \n"},
        {},
        {"kind": "sft", "messages": [u("Q"), a(" \n")]},
    ),
    (
        "a null answer is an empty one",
        {"q": "Q", "a": None},
        {"fields": {"prompt": "q", "answer": "a"}},
        {"kind": "sft", "messages": [u("Q"), a("")]},
    ),
    (
        "NuminaMath with cot_unsplittable",
        {"problem": "P", "solution": "steps... so 4"},
        {"options": {"cot_unsplittable": True}},
        {"kind": "cot", "messages": [u("P"), a("", reasoning="steps... so 4")]},
    ),
    (
        "guessed system column",
        {"system_prompt": "S", "question": "Q", "response": "R"},
        {},
        {"kind": "sft", "messages": [{"role": "system", "content": "S"}, u("Q"), a("R")]},
    ),
    (
        "explicit fields",
        {"q": "Q", "ctx": "C", "sol": "A", "why": "W", "qid": 9, "thinking": "not mapped"},
        {"fields": {"prompt": "q", "input": "ctx", "answer": "sol", "reasoning": "why", "id": "qid"}},
        {
            "kind": "cot",
            "messages": [u("Q\nC"), a("A", reasoning="W")],
            "meta": {"qid": 9, "thinking": "not mapped"},
        },
    ),
    (
        "explicit fields without an answer: prompts only",
        {"question_id": 81, "turns_text": "Write a poem."},
        {"fields": {"prompt": "turns_text"}},
        {"kind": "sft", "messages": [u("Write a poem.")], "meta": {"question_id": 81}},
    ),
    (
        "explicit preference fields",
        {"q": "Q", "good": "G", "bad": "B"},
        {"fields": {"prompt": "q", "chosen": "good", "rejected": "bad"}},
        {"kind": "preference", "messages": [u("Q")], "chosen": [a("G")], "rejected": [a("B")]},
    ),
    (
        "explicit history",
        {"q": "Q2", "a": "A2", "h": [["Q1", "A1"]]},
        {"fields": {"prompt": "q", "answer": "a", "history": "h"}},
        {"kind": "chat", "messages": [u("Q1"), a("A1"), u("Q2"), a("A2")]},
    ),
]


@pytest.mark.parametrize(("row", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_qa_rows(
    convert: Convert, row: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert("qa", row, **config) == expected


ERRORS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"foo": "x"}, {}, "no prompt/answer columns found"),
    ({"question": "Q", "answer": 4}, {}, "field 'answer' must be a string, got number"),
    ({"question": None, "answer": "A"}, {}, "missing field 'question'"),
    ({"q": "Q"}, {"fields": {"prompt": "q", "answer": "a"}}, "missing field 'a'"),
    ({"a": "A"}, {"fields": {"prompt": "q", "answer": "a"}}, "missing field 'q'"),
]


@pytest.mark.parametrize(("row", "config", "reason"), ERRORS)
def test_qa_bad_rows(row: dict[str, Any], config: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        get_adapter("qa", AdapterConfig(**config)).to_record(row)


def test_qa_scores_guesses_low_and_explicit_fields_high() -> None:
    qa = get_adapter("qa")
    assert qa.score({"question": "Q", "answer": "A"}) == 0.6
    assert qa.score({"question": "Q", "answer": 3}) == 0.3
    assert qa.score({"text": "x"}) == 0.0
    explicit = get_adapter("qa", AdapterConfig(fields={"prompt": "q", "answer": "a"}))
    assert explicit.score({"q": "Q", "a": "A"}) == 1.0
    assert explicit.score({"q": "Q"}) == 0.5


def test_qa_preference_mapping_needs_both_sides() -> None:
    with pytest.raises(RecipeError, match="both 'chosen' and 'rejected'"):
        get_adapter("qa", AdapterConfig(fields={"prompt": "q", "chosen": "c"}))
