from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datamill.formats import AdapterConfig, AdapterError, get_adapter

from .conftest import Convert, to_canonical


def t(speaker: str, value: Any) -> dict[str, Any]:
    return {"from": speaker, "value": value}


def m(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


CALL = '{"name": "search", "arguments": {"q": "rice"}}'
CALL_MSG = m(
    "assistant",
    "",
    tool_calls=[{"type": "function", "function": {"name": "search", "arguments": {"q": "rice"}}}],
)
LF_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "fastchat with id",
        {"id": "identity_0", "conversations": [t("human", "Who are you?"), t("gpt", "Vicuna.")]},
        {},
        {
            "kind": "sft",
            "messages": [m("user", "Who are you?"), m("assistant", "Vicuna.")],
            "meta": {"id": "identity_0"},
        },
    ),
    (
        "multi-turn is chat; user/assistant/model speakers",
        {"conversations": [t("user", "a"), t("model", "b"), t("human", "c"), t("assistant", "d")]},
        {},
        {
            "kind": "chat",
            "messages": [m("user", "a"), m("assistant", "b"), m("user", "c"), m("assistant", "d")],
        },
    ),
    (
        "leading system turn",
        {"conversations": [t("system", "S"), t("human", "a"), t("gpt", "b")]},
        {},
        {"kind": "sft", "messages": [m("system", "S"), m("user", "a"), m("assistant", "b")]},
    ),
    (
        "system column",
        {"conversations": [t("human", "a"), t("gpt", "b")], "system": "S"},
        {},
        {"kind": "sft", "messages": [m("system", "S"), m("user", "a"), m("assistant", "b")]},
    ),
    (
        "system column and a system turn: the column stays in meta",
        {"conversations": [t("system", "S1"), t("human", "a"), t("gpt", "b")], "system": "S2"},
        {},
        {
            "kind": "sft",
            "messages": [m("system", "S1"), m("user", "a"), m("assistant", "b")],
            "meta": {"system": "S2"},
        },
    ),
    (
        "glaive function call and observation, tools parsed",
        {
            "conversations": [
                t("human", "find rice"),
                t("function_call", CALL),
                t("observation", '{"hits": 1}'),
                t("gpt", "Found one."),
            ],
            "tools": '[{"name": "search"}]',
        },
        {},
        {
            "kind": "sft",
            "messages": [
                m("user", "find rice"),
                CALL_MSG,
                m("tool", '{"hits": 1}'),
                m("assistant", "Found one."),
            ],
            "tools": [{"name": "search"}],
        },
    ),
    (
        "function_call that is not JSON keeps the raw string",
        {"conversations": [t("human", "q"), t("function_call", "Action: search")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "", tool_calls="Action: search")]},
    ),
    (
        "parallel calls",
        {"conversations": [t("human", "q"), t("function_call", f"[{CALL}, {CALL}]")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), {**CALL_MSG, "tool_calls": CALL_MSG["tool_calls"] * 2}]},
    ),
    (
        "extra keys on a turn stay on the message",
        {"conversations": [t("human", "q"), {"from": "gpt", "value": "a", "weight": 0}]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a", weight=0)]},
    ),
    (
        "preference: dpo_zh_demo shape",
        {"conversations": [t("human", "q")], "chosen": t("gpt", "good"), "rejected": t("gpt", "bad")},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "preference: MedicalGPT strings, function-call context",
        {
            "conversations": [t("human", "q"), t("function_call", CALL), t("observation", "{}")],
            "chosen": "good",
            "rejected": "bad",
        },
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q"), CALL_MSG, m("tool", "{}")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "preference tie",
        {"conversations": [t("human", "q")], "chosen": t("gpt", ""), "rejected": ""},
        {},
        {"kind": "preference", "messages": [m("user", "q")], "tie": True},
    ),
    (
        "a tie given as lists of turns ending with empty answers",
        {"conversations": [t("human", "q")], "chosen": [t("gpt", " ")], "rejected": [t("gpt", None)]},
        {},
        {"kind": "preference", "messages": [m("user", "q")], "tie": True},
    ),
    (
        "an empty final answer is a record with an empty assistant turn (filters drop it)",
        {"conversations": [t("human", "q"), t("gpt", "")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "")]},
    ),
    (
        "a blank final answer is kept verbatim",
        {"conversations": [t("human", "q"), t("gpt", " ")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", " ")]},
    ),
    (
        "a null final answer is an empty one",
        {"conversations": [t("human", "q1"), t("gpt", "a1"), t("human", "q2"), t("gpt", None)]},
        {},
        {
            "kind": "chat",
            "messages": [m("user", "q1"), m("assistant", "a1"), m("user", "q2"), m("assistant", "")],
        },
    ),
    (
        "LLaMA-Factory tags and columns (kto_en_demo)",
        {
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "label": True,
        },
        {"options": {"columns": {"messages": "messages", "kto_tag": "label"}, "tags": LF_TAGS}},
        {
            "kind": "preference",
            "messages": [m("user", "q"), m("assistant", "a")],
            "scores": {"kto_label": True},
        },
    ),
    (
        "custom speaker tags",
        {"dialog": [{"who": "asker", "says": "q"}, {"who": "bot", "says": "a"}]},
        {
            "options": {
                "columns": {"messages": "dialog"},
                "tags": {
                    "role_tag": "who",
                    "content_tag": "says",
                    "user_tag": "asker",
                    "assistant_tag": "bot",
                },
            }
        },
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a")]},
    ),
    (
        "fields win over the default column",
        {"conv": [t("human", "q"), t("gpt", "a")], "conversations": "kept"},
        {"fields": {"messages": "conv"}},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a")], "meta": {"conversations": "kept"}},
    ),
    (
        "reasoning in think tags",
        {"conversations": [t("human", "q"), t("gpt", "<think>r</think>a")]},
        {},
        {"kind": "cot", "messages": [m("user", "q"), m("assistant", "a", reasoning="r")]},
    ),
    (
        "a non-boolean label stays in meta",
        {"conversations": [t("human", "q"), t("gpt", "a")], "label": "spam"},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a")], "meta": {"label": "spam"}},
    ),
]


@pytest.mark.parametrize(("row", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sharegpt_rows(
    convert: Convert, row: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert("sharegpt", row, **config) == expected


ERRORS: list[tuple[dict[str, Any], str]] = [
    ({}, "missing field 'conversations'"),
    ({"conversations": "hi"}, "'conversations' must be a list, got string"),
    ({"conversations": []}, "'conversations' is empty"),
    ({"conversations": ["hi"]}, r"conversations\[0\] must be an object"),
    ({"conversations": [t("bot", "x")]}, r"conversations\[0\]: unknown speaker 'bot'"),
    (
        {"conversations": [t("human", 5), t("gpt", "a")]},
        r"conversations\[0\]: content must be a string, got number",
    ),
    ({"conversations": [t("human", None), t("gpt", "a")]}, r"conversations\[0\]: content is missing"),
    (
        {"conversations": [t("human", "q"), t("gpt", None), t("human", "q2"), t("gpt", "a")]},
        r"conversations\[1\]: content is missing",
    ),
    ({"conversations": [t("human", "q"), {"from": "gpt"}]}, r"conversations\[1\]: content is missing"),
    ({"conversations": [t("human", "q"), t("function_call", None)]}, "content is missing"),
    ({"conversations": [t("human", "q")]}, "does not end with an assistant turn"),
    ({"conversations": [t("gpt", "a")]}, "no user turn"),
    ({"conversations": [t("human", "q")], "chosen": t("gpt", "a")}, "needs both 'chosen' and 'rejected'"),
    ({"conversations": [t("human", "q")], "chosen": 1, "rejected": "b"}, "field 'chosen' must be a turn"),
    ({"conversations": [t("human", "q"), t("gpt", "a")], "tools": 3}, "field 'tools' must be a list"),
    ({"conversations": [t("human", "q"), {"from": "gpt", "value": "a", "role": "x"}]}, "clashes"),
]


@pytest.mark.parametrize(("row", "reason"), ERRORS)
def test_sharegpt_bad_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        get_adapter("sharegpt").to_record(row)


def test_score() -> None:
    adapter = get_adapter("sharegpt")
    assert adapter.score({"conversations": [t("human", "q"), t("gpt", "a")]}) == 1.0
    assert 0.7 < adapter.score({"conversations": [t("human", "q"), t("narrator", "a")]}) < 1.0
    assert adapter.score({"messages": [{"role": "user", "content": "q"}]}) == 0.0
    assert adapter.score({"conversation": [{"human": "q", "assistant": "a"}]}) == 0.0
    tagged = get_adapter(
        "sharegpt", AdapterConfig(options={"tags": LF_TAGS, "columns": {"messages": "messages"}})
    )
    assert tagged.score({"messages": [{"role": "user", "content": "q"}]}) == 1.0


speaker = st.sampled_from(["human", "gpt"])
value = st.text(max_size=20).filter(lambda v: "think>" not in v)


@given(
    turns=st.lists(st.tuples(value, value), min_size=1, max_size=5),
    extra=st.dictionaries(st.sampled_from(["id", "source", "lang", "x"]), st.integers(), max_size=3),
)
def test_sharegpt_round_trip(turns: list[tuple[str, str]], extra: dict[str, Any]) -> None:
    """{from, value} turns -> canonical messages -> the same turns; other fields in meta.

    A blank final answer is kept as it is (a record with an empty answer; filters drop it)."""
    conversation = [t(sp, v) for q, a_ in turns for sp, v in (("human", q), ("gpt", a_))]
    row = {"conversations": conversation, **extra}
    record = to_canonical("sharegpt", row)
    back = [t("human" if msg["role"] == "user" else "gpt", msg["content"]) for msg in record["messages"]]
    assert back == conversation
    assert record.get("meta", {}) == extra
    assert record["kind"] == ("chat" if len(turns) > 1 else "sft")
