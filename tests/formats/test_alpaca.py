from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datamill.errors import RecipeError
from datamill.formats import AdapterConfig, AdapterError, get_adapter
from datamill.records import prompt_text

from .conftest import Convert, to_canonical


def u(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def a(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": text, **extra}


def s(text: str) -> dict[str, str]:
    return {"role": "system", "content": text}


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "no input",
        {"instruction": "Name a color.", "input": "", "output": "Blue."},
        {},
        {"kind": "sft", "messages": [u("Name a color."), a("Blue.")]},
    ),
    (
        "input joined with a newline",
        {"instruction": "Translate.", "input": "Bonjour", "output": "Hello"},
        {},
        {"kind": "sft", "messages": [u("Translate.\nBonjour"), a("Hello")]},
    ),
    (
        "input null and missing are fine",
        {"instruction": "Hi", "input": None, "output": "Hello"},
        {},
        {"kind": "sft", "messages": [u("Hi"), a("Hello")]},
    ),
    (
        "only input",
        {"instruction": "", "input": "Solve 2+2", "output": "4"},
        {},
        {"kind": "sft", "messages": [u("Solve 2+2"), a("4")]},
    ),
    (
        "system and history make a chat",
        {
            "instruction": "And 3+3?",
            "input": "",
            "output": "6",
            "system": "Be brief.",
            "history": [["2+2?", "4"]],
        },
        {},
        {"kind": "chat", "messages": [s("Be brief."), u("2+2?"), a("4"), u("And 3+3?"), a("6")]},
    ),
    (
        "unmapped fields go to meta verbatim",
        {"instruction": "Q", "output": "A", "task_type": {"major": ["问答"]}, "human_verified": True},
        {},
        {
            "kind": "sft",
            "messages": [u("Q"), a("A")],
            "meta": {"task_type": {"major": ["问答"]}, "human_verified": True},
        },
    ),
    (
        "output pair is LLaMA-Factory's old reward-model format",
        {"instruction": "Q", "input": "", "output": ["good", "bad"]},
        {},
        {"kind": "preference", "messages": [u("Q")], "chosen": [a("good")], "rejected": [a("bad")]},
    ),
    (
        "chosen / rejected columns",
        {"instruction": "Q", "chosen": "good", "rejected": "bad"},
        {},
        {"kind": "preference", "messages": [u("Q")], "chosen": [a("good")], "rejected": [a("bad")]},
    ),
    (
        "both answers empty is a tie",
        {"instruction": "Q", "chosen": "", "rejected": ""},
        {},
        {"kind": "preference", "messages": [u("Q")], "tie": True},
    ),
    (
        "think tags become reasoning",
        {"instruction": "2+2?", "output": "<think>two and two</think>\n4"},
        {},
        {"kind": "cot", "messages": [u("2+2?"), a("4", reasoning="two and two")]},
    ),
    (
        "cot_unsplittable keeps the whole solution as reasoning",
        {"instruction": "2+2?", "output": "two and two make 4"},
        {"options": {"cot_unsplittable": True}},
        {"kind": "cot", "messages": [u("2+2?"), a("", reasoning="two and two make 4")]},
    ),
    (
        "split_think off",
        {"instruction": "Q", "output": "<think>x</think>y"},
        {"options": {"split_think": False}},
        {"kind": "sft", "messages": [u("Q"), a("<think>x</think>y")]},
    ),
    (
        "fields mapping with reasoning and id",
        {"qid": 7, "question": "Q", "thinking": "hmm", "answer": "A", "sys": "S"},
        {
            "fields": {
                "prompt": "question",
                "answer": "answer",
                "reasoning": "thinking",
                "system": "sys",
                "id": "qid",
            }
        },
        {"kind": "cot", "messages": [s("S"), u("Q"), a("A", reasoning="hmm")], "meta": {"qid": 7}},
    ),
    (
        "LLaMA-Factory columns",
        {"question": "Q", "response": "A", "system_prompt": "S"},
        {"options": {"columns": {"prompt": "question", "response": "response", "system": "system_prompt"}}},
        {"kind": "sft", "messages": [s("S"), u("Q"), a("A")]},
    ),
    (
        "a list in options.columns is the Parquet reader's, not a column mapping",
        {"instruction": "Q", "output": "A"},
        {"options": {"columns": ["instruction", "output"]}},
        {"kind": "sft", "messages": [u("Q"), a("A")]},
    ),
    (
        "KTO label column",
        {"instruction": "Q", "output": "A", "label": False},
        {"options": {"columns": {"kto_tag": "label"}}},
        {"kind": "preference", "messages": [u("Q"), a("A")], "scores": {"kto_label": False}},
    ),
    (
        "self-instruct seed task",
        {"id": "seed_task_0", "instruction": "Q", "instances": [{"input": "", "output": "A"}]},
        {},
        {"kind": "sft", "messages": [u("Q"), a("A")], "meta": {"id": "seed_task_0"}},
    ),
    (
        "an empty output is a record with an empty assistant turn (filters drop it)",
        {"instruction": "Q", "input": "", "output": ""},
        {},
        {"kind": "sft", "messages": [u("Q"), a("")]},
    ),
    (
        "a blank output is kept verbatim",
        {"instruction": "Q", "output": "  \n"},
        {},
        {"kind": "sft", "messages": [u("Q"), a("  \n")]},
    ),
    (
        "a null output is an empty one",
        {"instruction": "Q", "output": None},
        {},
        {"kind": "sft", "messages": [u("Q"), a("")]},
    ),
    (
        "an empty output with history and a KTO label",
        {"instruction": "Q2", "output": "", "history": [["Q1", "A1"]], "ok": True},
        {"fields": {"label": "ok"}},
        {"kind": "preference", "messages": [u("Q1"), a("A1"), u("Q2"), a("")], "scores": {"kto_label": True}},
    ),
    (
        "a self-instruct instance with an empty output",
        {"instruction": "Q", "instances": [{"input": "I", "output": ""}]},
        {},
        {"kind": "sft", "messages": [u("Q\nI"), a("")]},
    ),
    (
        "tools JSON string is parsed",
        {"instruction": "Q", "output": "A", "tools": '[{"name": "f"}]'},
        {},
        {"kind": "sft", "messages": [u("Q"), a("A")], "tools": [{"name": "f"}]},
    ),
    (
        "kind override",
        {"instruction": "Q", "output": "A"},
        {"kind": "chat"},
        {"kind": "chat", "messages": [u("Q"), a("A")]},
    ),
]


@pytest.mark.parametrize(("row", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_alpaca_rows(
    convert: Convert, row: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert("alpaca", row, **config) == expected


ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"instruction": "Q", "input": "", "output": 3}, "field 'output' must be a string, got number"),
    ({"instruction": "Q", "output": ["a", "b", "c"]}, "must be a string or a [chosen, rejected] pair"),
    ({"instruction": "Q"}, "missing field 'output'"),
    ({"instruction": "Q", "instances": [{"input": "x"}]}, "missing field 'output'"),
    ({"output": "A"}, "missing field 'instruction'"),
    ({"instruction": ["Q"], "output": "A"}, "field 'instruction' must be a string, got list"),
    ({"instruction": "Q", "input": 5, "output": "A"}, "field 'input' must be a string"),
    ({"instruction": "Q", "output": "A", "history": "x"}, "must be a list of [user, assistant] pairs"),
    (
        {"instruction": "Q", "output": "A", "history": [["only one"]]},
        "history[0] must be a [user, assistant] pair",
    ),
    ({"instruction": "Q", "output": "A", "tools": "not json"}, "field 'tools' is not a JSON list"),
    ({"instruction": "Q", "instances": [{"output": "1"}, {"output": "2"}]}, "'instances' holds 2 examples"),
]


@pytest.mark.parametrize(("row", "reason"), ERRORS)
def test_alpaca_bad_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        get_adapter("alpaca").to_record(row)


def test_kto_label_must_be_boolean() -> None:
    adapter = get_adapter("alpaca", AdapterConfig(fields={"label": "ok"}))
    with pytest.raises(AdapterError, match="must be true or false"):
        adapter.to_record({"instruction": "Q", "output": "A", "ok": "yes"})


def test_unknown_field_part_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match=r"fields\.messages: the alpaca format does not use 'messages'"):
        get_adapter("alpaca", AdapterConfig(fields={"messages": "conv"}))
    with pytest.raises(RecipeError, match="unknown part 'bogus'"):
        get_adapter("alpaca", AdapterConfig(fields={"bogus": "x"}))


def test_unknown_kind_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match="unknown kind 'dpo'"):
        get_adapter("alpaca", AdapterConfig(kind="dpo"))


def test_the_row_is_not_mutated() -> None:
    row = {"instruction": "Q", "input": "", "output": "<think>r</think>A", "x": [1]}
    snapshot = {**row, "x": [1]}
    to_canonical("alpaca", row)
    assert row == snapshot


# Printable text without the think markers (those are split on purpose); may be blank.
text = st.text(st.characters(codec="utf-8"), min_size=0, max_size=40).filter(lambda t: "think>" not in t)
extra_values = st.one_of(st.none(), st.booleans(), st.integers(), text, st.lists(st.integers(), max_size=3))


@given(
    instruction=text,
    input_=text,
    output=text,
    extra=st.dictionaries(st.text(min_size=1, max_size=8).map(lambda k: "x_" + k), extra_values, max_size=4),
)
def test_alpaca_round_trip(instruction: str, input_: str, output: str, extra: dict[str, Any]) -> None:
    """alpaca row -> canonical -> the same instruction/input/output content, every other field in meta.

    A blank prompt or output is kept as it is (blank is not broken: filters and exporters drop it with a
    reason)."""
    row = {"instruction": instruction, "input": input_, "output": output, **extra}
    joined = "\n".join(p for p in (instruction, input_) if p)
    record = to_canonical("alpaca", row)
    user, assistant = record["messages"]
    assert user == {"role": "user", "content": joined}
    assert assistant == {"role": "assistant", "content": output}
    assert prompt_text(record) == joined
    assert record.get("meta", {}) == extra
