"""One rule for every reader: blank is not broken. A blank (empty or whitespace-only) prompt, answer,
text or preference side is kept in the record; ``empty_answer`` and the exporters drop it with a
reason. Only rows that cannot be read (missing fields, wrong types, no turns) are quarantined."""

from __future__ import annotations

from typing import Any

import pytest

from datamill.export.registry import build_exporter
from datamill.records import Message
from datamill.steps.base import Drop
from datamill.steps.filters.empty_answer import EmptyAnswer

from .conftest import to_canonical


def m(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def t(role: str, content: str) -> dict[str, str]:
    return {"from": role, "value": content}


#: (case, format, row, config, where the blank is: "messages.<i>" or "chosen"/"rejected" or "text")
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("text: blank text", "text", {"text": "  "}, {}, "text"),
    ("qa: empty answer", "qa", {"question": "Q", "answer": ""}, {}, "messages.-1"),
    ("qa: blank question", "qa", {"question": " ", "answer": "A"}, {}, "messages.0"),
    ("qa: blank rejected (mapped pair)", "qa", {"q": "Q", "g": "G", "b": " "},
     {"fields": {"prompt": "q", "chosen": "g", "rejected": "b"}}, "rejected"),
    ("alpaca: empty output", "alpaca", {"instruction": "Q", "input": "", "output": ""}, {}, "messages.-1"),
    ("alpaca: empty instruction and input", "alpaca", {"instruction": "", "input": " ", "output": "A"}, {},
     "messages.0"),
    ("alpaca: empty rejected", "alpaca", {"instruction": "Q", "chosen": "good", "rejected": ""}, {}, "rejected"),
    ("alpaca: output pair with an empty chosen", "alpaca", {"instruction": "Q", "output": ["", "bad"]}, {},
     "chosen"),
    ("sharegpt: empty answer turn", "sharegpt", {"conversations": [t("human", "q"), t("gpt", "")]}, {},
     "messages.-1"),
    ("sharegpt: empty rejected turn", "sharegpt", {"conversations": [t("human", "q")], "chosen": [t("gpt", "a")],
     "rejected": [t("gpt", "")]}, {}, "rejected"),
    ("openai: null final answer", "openai", {"messages": [m("user", "q"), {"role": "assistant", "content": None}]},
     {}, "messages.-1"),
    ("openai: TRL empty prompt", "openai", {"prompt": "", "chosen": "g", "rejected": "b"}, {}, "messages.0"),
    ("openai: TRL empty rejected", "openai", {"prompt": "q", "chosen": "g", "rejected": ""}, {}, "rejected"),
    ("openai: whole conversations, one answer blank", "openai", {
        "chosen": [m("user", "q"), m("assistant", "")], "rejected": [m("user", "q"), m("assistant", "b")]}, {},
     "chosen"),
    ("openai: LLaMA-Factory v1 blank rejected", "openai", {
        "chosen_messages": [m("user", "q"), m("assistant", "good")],
        "rejected_messages": [m("user", "q"), m("assistant", " ")]}, {}, "rejected"),
    ("firefly: empty answer", "firefly", {"conversation": [{"human": "q", "assistant": ""}]}, {}, "messages.-1"),
    ("helpsteer: blank context", "helpsteer", {"context": " ", "response1": "a", "response2": "b",
     "overall_preference": 1}, {}, "messages.0"),
    ("helpsteer: empty winning response", "helpsteer", {"context": "q", "response1": "", "response2": "b",
     "overall_preference": -1}, {}, "chosen"),
    ("hh: empty last answer", "hh", {"chosen": "\n\nHuman: q\n\nAssistant: a",
     "rejected": "\n\nHuman: q\n\nAssistant:"}, {}, "rejected"),
    ("traces: blank problem", "traces", {"problem": "", "generations": ["a", "b"],
     "correctness_math_verify": [True, False]}, {}, "messages.0"),
    ("ranked: blank prompt", "ranked", {"prompt": " ", "responses": ["a", "b"], "scores": [2, 1]}, {},
     "messages.0"),
    ("pairwise: empty instruction", "pairwise", {"instruction": "", "output_1": "a", "output_2": "b",
     "preference": 1}, {}, "messages.0"),
    ("pairwise: empty losing output", "pairwise", {"instruction": "q", "output_1": "a", "output_2": "",
     "preference": 1}, {}, "rejected"),
]


def _blank_part(record: dict[str, Any], where: str) -> str:
    if where == "text":
        text: str = record["text"]
        return text
    if where.startswith("messages."):
        message: Message = record["messages"][int(where.split(".")[1])]
        return str(message["content"])
    return str(record[where][-1]["content"])


@pytest.mark.parametrize(("fmt", "row", "config", "where"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_blank_values_are_kept_and_dropped_downstream_with_a_reason(fmt: str, row: dict[str, Any],
                                                                    config: dict[str, Any], where: str) -> None:
    record = to_canonical(fmt, row, **config)
    assert not _blank_part(record, where).strip()
    exporter = build_exporter("trl", {}, "outputs[0]")
    refused = exporter.convert({"id": "x:0", **record})
    assert isinstance(refused, Drop)
    assert refused.reason in ("empty_text", "empty_user_turn", "empty_assistant_turn", "no_final_answer")
    if where != "messages.0":  # a blank target: the empty_answer filter drops it before any export
        dropped = EmptyAnswer(EmptyAnswer.Params()).process({"id": "x:0", **record})
        assert isinstance(dropped, Drop) and dropped.reason == "empty_answer"
