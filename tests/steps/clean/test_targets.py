from __future__ import annotations

from typing import Any

import pytest

from datamill.steps.clean.targets import map_texts, texts

from ..helpers import chat

PREF: dict[str, Any] = {
    "id": "p", "kind": "preference", "messages": [{"role": "user", "content": "q"}],
    "chosen": [{"role": "assistant", "content": "good", "reasoning": "r1"}],
    "rejected": [{"role": "assistant", "content": "bad"}],
}
MULTI: dict[str, Any] = {
    "id": "m", "messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"}, {"role": "user", "content": [{"type": "text", "text": "u2"}]},
        {"role": "assistant", "content": "a2", "reasoning": "why"}],
    "meta": {"title": "t", "tags": ["x", "y"]},
}


@pytest.mark.parametrize(("record", "on", "expected"), [
    (MULTI, "prompt", ["u1", "u2"]),
    (MULTI, "answer", ["a2"]),
    (MULTI, "turns", ["sys", "u1", "a1", "u2", "a2"]),
    (MULTI, "system", ["sys"]),
    (MULTI, "reasoning", ["why"]),
    (MULTI, "all", ["sys", "u1", "a1", "u2", "a2", "why"]),
    (MULTI, "meta.title", ["t"]),
    (MULTI, "title", ["t"]),
    (MULTI, "meta.tags", ["x", "y"]),
    (MULTI, ["answer", "prompt", "answer"], ["a2", "u1", "u2"]),
    (PREF, "prompt", ["q"]),
    (PREF, "answer", ["good", "bad"]),
    (PREF, "chosen", ["good"]),
    (PREF, "reasoning", ["r1"]),
    ({"id": "t", "text": "doc"}, "answer", ["doc"]),
    ({"id": "t", "text": "doc"}, "prompt", []),
    (chat("c", "p", ""), "answer", [""]),
])
def test_texts_selects_the_documented_parts(record: dict[str, Any], on: Any, expected: list[str]) -> None:
    assert texts(record, on) == expected


def test_map_texts_writes_back_in_place() -> None:
    import copy

    record = copy.deepcopy(MULTI)
    map_texts(record, ["prompt", "meta.title"], str.upper)
    assert record["messages"][1]["content"] == "U1"
    assert record["messages"][3]["content"] == [{"type": "text", "text": "U2"}]
    assert record["messages"][4]["content"] == "a2" and record["meta"]["title"] == "T"
    pref = copy.deepcopy(PREF)
    map_texts(pref, "answer", lambda s: s + "!")
    assert pref["chosen"][0]["content"] == "good!" and pref["rejected"][0]["content"] == "bad!"
