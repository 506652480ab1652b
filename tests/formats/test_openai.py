from __future__ import annotations

from typing import Any

import pytest

from datamill.formats import AdapterError, get_adapter
from datamill.records import answer_text, prompt_text

from .conftest import Convert


def m(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": content, **extra}


def v1(role: str, text: str, weight: float) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "value": text}], "loss_weight": weight}


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}

CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "plain messages with images in meta",
        {"messages": [m("user", "<image>Who?"), m("assistant", "Kane.")], "images": ["1.jpg"]},
        {},
        {
            "kind": "sft",
            "messages": [m("user", "<image>Who?"), m("assistant", "Kane.")],
            "meta": {"images": ["1.jpg"]},
        },
    ),
    (
        "text parts collapse to a string",
        {"messages": [m("user", [{"type": "text", "text": "q"}]), m("assistant", "a")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a")]},
    ),
    (
        "v1_sft_demo shape keeps loss_weight",
        {"messages": [v1("user", "hi", 0.0), v1("assistant", "hello", 1.0)]},
        {},
        {
            "kind": "sft",
            "messages": [m("user", "hi", loss_weight=0.0), m("assistant", "hello", loss_weight=1.0)],
        },
    ),
    (
        "media parts stay a list",
        {
            "messages": [
                m("user", [{"type": "image_url", "value": "1.jpg"}, {"type": "text", "value": "Who?"}]),
                m("assistant", "Kane."),
            ]
        },
        {},
        {
            "kind": "sft",
            "messages": [
                m("user", [{"type": "image_url", "value": "1.jpg"}, {"type": "text", "value": "Who?"}]),
                m("assistant", "Kane."),
            ],
        },
    ),
    (
        "v1 reasoning and tool_call parts",
        {
            "messages": [
                m("user", [{"type": "text", "value": "q"}]),
                m(
                    "assistant",
                    [
                        {"type": "reasoning", "value": "think"},
                        {"type": "tool_call", "value": '{"name": "f", "arguments": {"x": 1}}'},
                    ],
                ),
                m("tool", [{"type": "text", "value": "1"}]),
                m("assistant", [{"type": "reasoning", "value": "done"}, {"type": "text", "value": "One."}]),
            ],
            "tools": '[{"type": "function", "function": {"name": "f"}}]',
        },
        {},
        {
            "kind": "cot",
            "messages": [
                m("user", "q"),
                m(
                    "assistant",
                    "",
                    reasoning="think",
                    tool_calls=[{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}],
                ),
                m("tool", "1"),
                m("assistant", "One.", reasoning="done"),
            ],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
    ),
    (
        "OpenAI tool calls with null content, tool_call_id kept",
        {
            "messages": [
                m("developer", "be terse"),
                m("user", "q"),
                m("assistant", None, tool_calls=[CALL]),
                m("tool", "1", tool_call_id="call_1"),
                m("assistant", "One."),
            ]
        },
        {},
        {
            "kind": "sft",
            "messages": [
                m("system", "be terse"),
                m("user", "q"),
                m("assistant", "", tool_calls=[CALL]),
                m("tool", "1", tool_call_id="call_1"),
                m("assistant", "One."),
            ],
        },
    ),
    (
        "reasoning_content",
        {"messages": [m("user", "q"), m("assistant", "a", reasoning_content="r")]},
        {},
        {"kind": "cot", "messages": [m("user", "q"), m("assistant", "a", reasoning="r")]},
    ),
    (
        "R1 answer without the opening think tag",
        {"messages": [m("user", "q"), m("assistant", "r\n</think>\n\na")]},
        {},
        {"kind": "cot", "messages": [m("user", "q"), m("assistant", "a", reasoning="r")]},
    ),
    (
        "KTO: whole conversation in messages, label in scores",
        {"messages": [m("user", "q"), m("assistant", "a")], "label": False},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q"), m("assistant", "a")],
            "scores": {"kto_label": False},
        },
    ),
    (
        "messages + chosen/rejected continuations",
        {"messages": [m("user", "q")], "chosen": m("assistant", "good"), "rejected": [m("assistant", "bad")]},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "TRL explicit prompt, strings (ultrafeedback)",
        {"prompt": "q", "chosen": "good", "rejected": "bad", "source_index": 1, "metadata": {"s": 9.0}},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
            "meta": {"source_index": 1, "metadata": {"s": 9.0}},
        },
    ),
    (
        "TRL conversational explicit prompt",
        {
            "prompt": [m("system", "S"), m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
        {},
        {
            "kind": "preference",
            "messages": [m("system", "S"), m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "TRL implicit prompt: the shared beginning becomes messages",
        {
            "chosen": [m("user", "q"), m("assistant", "good")],
            "rejected": [m("user", "q"), m("assistant", "bad")],
        },
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "LLaMA-Factory v1 chosen_messages / rejected_messages",
        {
            "chosen_messages": [v1("system", "S", 0.0), v1("user", "q", 0.0), v1("assistant", "good", 1.0)],
            "rejected_messages": [v1("system", "S", 0.0), v1("user", "q", 0.0), v1("assistant", "bad", 1.0)],
        },
        {},
        {
            "kind": "preference",
            "messages": [m("system", "S", loss_weight=0.0), m("user", "q", loss_weight=0.0)],
            "chosen": [m("assistant", "good", loss_weight=1.0)],
            "rejected": [m("assistant", "bad", loss_weight=1.0)],
        },
    ),
    (
        "seed 001 tie: both answers empty",
        {"all_prompt_id": 3, "prompt": "q", "chosen": "", "rejected": ""},
        {},
        {"kind": "preference", "messages": [m("user", "q")], "tie": True, "meta": {"all_prompt_id": 3}},
    ),
    (
        "a tie given as two empty messages",
        {"messages": [m("user", "q")], "chosen": m("assistant", ""), "rejected": m("assistant", " ")},
        {},
        {"kind": "preference", "messages": [m("user", "q")], "tie": True},
    ),
    (
        "seed 001 multi-turn arena: parallel lists of turns",
        {"prompt": ["q1", "q2"], "chosen": ["g1", "g2"], "rejected": ["b1", "b2"]},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q1")],
            "chosen": [m("assistant", "g1"), m("user", "q2"), m("assistant", "g2")],
            "rejected": [m("assistant", "b1"), m("user", "q2"), m("assistant", "b2")],
        },
    ),
    (
        "system column (orca pairs)",
        {"system": "S", "prompt": "q", "chosen": "good", "rejected": "bad"},
        {},
        {
            "kind": "preference",
            "messages": [m("system", "S"), m("user", "q")],
            "chosen": [m("assistant", "good")],
            "rejected": [m("assistant", "bad")],
        },
    ),
    (
        "fields map the preference columns",
        {"question": "q", "good": "g", "bad": "b"},
        {"fields": {"prompt": "question", "chosen": "good", "rejected": "bad"}},
        {
            "kind": "preference",
            "messages": [m("user", "q")],
            "chosen": [m("assistant", "g")],
            "rejected": [m("assistant", "b")],
        },
    ),
    (
        "an empty final answer is a record with an empty assistant turn (filters drop it)",
        {"messages": [m("user", "q"), m("assistant", "")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "")]},
    ),
    (
        "a blank final answer is kept verbatim",
        {"messages": [m("user", "q"), m("assistant", " \n")]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", " \n")]},
    ),
    (
        "a null final answer is an empty one",
        {"messages": [m("user", "q"), m("assistant", None)]},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "")]},
    ),
    (
        "an empty answer with a KTO label",
        {"messages": [m("user", "q"), m("assistant", "")], "label": False},
        {},
        {
            "kind": "preference",
            "messages": [m("user", "q"), m("assistant", "")],
            "scores": {"kto_label": False},
        },
    ),
    (
        "a tie given as two lists ending with empty answers",
        {"messages": [m("user", "q")], "chosen": [m("assistant", "")], "rejected": [m("assistant", None)]},
        {},
        {"kind": "preference", "messages": [m("user", "q")], "tie": True},
    ),
    (
        "role/content turns under 'conversation' (lmsys)",
        {"conversation": [m("user", "q"), m("assistant", "a")], "model": "vicuna"},
        {},
        {"kind": "sft", "messages": [m("user", "q"), m("assistant", "a")], "meta": {"model": "vicuna"}},
    ),
]


@pytest.mark.parametrize(("row", "config", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_openai_rows(
    convert: Convert, row: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert("openai", row, **config) == expected


ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"text": "x"}, "no 'messages'"),
    ({"messages": "x"}, "'messages' must be a list of messages, got string"),
    ({"messages": [m("narrator", "x")]}, r"messages\[0\]: unknown role 'narrator'"),
    ({"messages": [m("user", "q"), m("assistant", 42)]}, r"messages\[1\]: content must be a string"),
    ({"messages": [m("user", "q"), {"role": "assistant"}]}, "got missing"),
    (
        {"messages": [m("user", "q"), m("assistant", "a", reasoning_content=1)]},
        "'reasoning_content' must be a string",
    ),
    ({"messages": [m("user", "q"), m("assistant", "", tool_calls="f()")]}, "tool_calls must be a list"),
    (
        {"messages": [m("user", "q"), m("assistant", [{"type": "tool_call", "value": "nope"}])]},
        "tool call is not JSON",
    ),
    ({"messages": [m("user", "q")]}, "does not end with an assistant turn"),
    (
        {"messages": [m("user", "q"), m("assistant", None), m("user", "q2"), m("assistant", "a")]},
        r"messages\[1\]: content must be a string or a list of parts, got missing",
    ),
    ({"prompt": "q", "chosen": "good"}, "needs both 'chosen' and 'rejected'"),
    ({"prompt": 5, "chosen": "g", "rejected": "b"}, "field 'prompt' must be a string or a list of messages"),
    ({"chosen": "g", "rejected": "b"}, "missing field 'prompt'"),
    (
        {"chosen": [m("user", "q"), m("assistant", "a")], "rejected": [m("user", "q"), m("assistant", "a")]},
        "identical",
    ),
    (
        {"prompt": ["q1", "q2"], "chosen": ["g1"], "rejected": ["b1", "b2"]},
        "'chosen' has 1 turns but the prompt has 2",
    ),
    ({"messages": [m("user", "q"), m("assistant", "a")], "tools": "{bad"}, "not a JSON list"),
]


@pytest.mark.parametrize(("row", "reason"), ERRORS)
def test_openai_bad_rows(row: dict[str, Any], reason: str) -> None:
    with pytest.raises(AdapterError, match=reason):
        get_adapter("openai").to_record(row)


def test_kto_and_preference_records_read_well_through_the_record_accessors(convert: Convert) -> None:
    kto = convert("openai", {"messages": [m("user", "q"), m("assistant", "a")], "label": True})
    assert (prompt_text(kto), answer_text(kto)) == ("q", "a")
    pair = convert("openai", {"prompt": "q", "chosen": "good", "rejected": "bad"})
    assert (prompt_text(pair), answer_text(pair)) == ("q", "assistant: good")


def test_score() -> None:
    adapter = get_adapter("openai")
    assert adapter.score({"messages": [m("user", "q"), m("assistant", "a")]}) == 0.9
    assert adapter.score({"prompt": "q", "chosen": "a", "rejected": "b"}) == 0.9
    assert adapter.score({"chosen_messages": [m("user", "q")], "rejected_messages": [m("user", "q")]}) == 0.95
    assert adapter.score({"conversations": [{"from": "human", "value": "q"}]}) == 0.0
    assert (
        adapter.score({"conversations": [{"from": "human", "value": "q"}], "chosen": "a", "rejected": "b"})
        == 0.0
    )
