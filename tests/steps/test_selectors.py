"""The one selector vocabulary (``datamill.selectors``): what each name reads, what writing it does, and
which names a recipe may use where."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from datamill.part_writes import WriteConflict, write
from datamill.records import get_path, set_field
from datamill.selectors import (
    PARTS,
    FieldPath,
    Selector,
    Target,
    map_texts,
    read_text,
    read_value,
    texts,
    texts_by_name,
)

from .helpers import chat

PREF: dict[str, Any] = {
    "id": "p", "kind": "preference", "messages": [{"role": "user", "content": "q"}],
    "chosen": [{"role": "assistant", "content": "good", "reasoning": "r1"}],
    "rejected": [{"role": "assistant", "content": "bad"}],
}
MULTI: dict[str, Any] = {
    "id": "m", "messages": [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1", "reasoning": "early"},
        {"role": "user", "content": [{"type": "text", "text": "u2"}]},
        {"role": "assistant", "content": "a2", "reasoning": "why"}],
    "meta": {"title": "t", "tags": ["x", "y"]},
}
DOC: dict[str, Any] = {"id": "t", "kind": "pretrain", "text": "doc"}


@pytest.mark.parametrize(("record", "on", "expected"), [
    (MULTI, "prompt", ["u1", "u2"]),
    (MULTI, "answer", ["a2"]),
    (MULTI, "turns", ["sys", "u1", "a1", "u2", "a2"]),
    (MULTI, "conversation", ["sys", "u1", "a1", "u2", "a2"]),
    (MULTI, "system", ["sys"]),
    (MULTI, "reasoning", ["why"]),  # the answer turn's, as answer names the last turn
    (MULTI, "all", ["sys", "u1", "a1", "early", "u2", "a2", "why"]),
    (MULTI, "prompt+answer", ["u1", "u2", "a2"]),
    (MULTI, "meta.title", ["t"]),
    (MULTI, "meta.tags", ["x", "y"]),
    (MULTI, "messages.-1.content", ["a2"]),
    (MULTI, "messages.3.content", ["u2"]),
    (MULTI, ["answer", "prompt", "answer"], ["a2", "u1", "u2"]),
    (PREF, "prompt", ["q"]),
    (PREF, "answer", ["good", "bad"]),
    (PREF, "chosen", ["good"]),
    (PREF, "reasoning", ["r1"]),
    (PREF, "turns", ["q", "good", "bad"]),
    (DOC, "answer", ["doc"]),
    (DOC, "prompt", ["doc"]),
    (DOC, "turns", ["doc"]),
    (DOC, "system", []),
    (DOC, "prompt+answer", ["doc"]),  # one place, counted once
    (chat("c", "p", ""), "answer", [""]),
])
def test_texts_selects_the_documented_parts(record: dict[str, Any], on: Any, expected: list[str]) -> None:
    assert texts(record, on) == expected


def test_every_documented_part_is_tested_above() -> None:
    assert set(PARTS) == {"prompt", "answer", "system", "reasoning", "turns", "conversation", "chosen",
                          "rejected", "text", "all", "prompt+answer"}


def test_texts_by_name_counts_a_place_once() -> None:
    assert texts_by_name(DOC, ["prompt", "answer"]) == ["doc", ""]
    assert texts_by_name(MULTI, "prompt+answer") == ["u1\nu2", "a2"]


def test_map_texts_writes_back_in_place() -> None:
    record = copy.deepcopy(MULTI)
    map_texts(record, ["prompt", "meta.title"], str.upper)
    assert record["messages"][1]["content"] == "U1"
    assert record["messages"][3]["content"] == [{"type": "text", "text": "U2"}]
    assert record["messages"][4]["content"] == "a2" and record["meta"]["title"] == "T"
    pref = copy.deepcopy(PREF)
    map_texts(pref, "answer", lambda s: s + "!")
    assert pref["chosen"][0]["content"] == "good!" and pref["rejected"][0]["content"] == "bad!"


def test_read_value_of_parts_and_fields() -> None:
    assert read_value(MULTI, "prompt") == "u1\nu2"
    assert read_value(PREF, "chosen") == PREF["chosen"]  # a continuation as a value: its message list
    assert read_value(MULTI, "meta.tags") == ["x", "y"]
    assert read_value(DOC, "system", "absent") == "absent"
    assert read_text(PREF, "answer") == "good\nbad"


# -- writing: a table per part, the meaning it has when read -------------------------------------------

def _sft(*turns: tuple[str, Any]) -> dict[str, Any]:
    return {"id": "w", "kind": "sft", "messages": [{"role": r, "content": c} for r, c in turns]}


@pytest.mark.parametrize(("record", "name", "value", "expected_messages"), [
    # prompt: the single user turn; inserted before the answer when there is none
    (_sft(("user", "q"), ("assistant", "a")), "prompt", "Q", [("user", "Q"), ("assistant", "a")]),
    (_sft(("system", "s"), ("assistant", "a")), "prompt", "Q", [("system", "s"), ("user", "Q"), ("assistant", "a")]),
    ({"id": "w"}, "prompt", "Q", [("user", "Q")]),
    # answer: the last assistant turn; appended when there is none
    (_sft(("user", "q"), ("assistant", "a")), "answer", "A", [("user", "q"), ("assistant", "A")]),
    (_sft(("user", "q")), "answer", "A", [("user", "q"), ("assistant", "A")]),
    (_sft(("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "a2")), "answer", "A",
     [("user", "q1"), ("assistant", "a1"), ("user", "q2"), ("assistant", "A")]),
    # system: the system turn; inserted first when there is none
    (_sft(("user", "q"), ("assistant", "a")), "system", "S", [("system", "S"), ("user", "q"), ("assistant", "a")]),
    (_sft(("system", "s"), ("user", "q")), "system", "S", [("system", "S"), ("user", "q")]),
    # field paths through list indexes
    (_sft(("user", "q"), ("assistant", "a")), "messages.0.content", "Q", [("user", "Q"), ("assistant", "a")]),
    (_sft(("user", "q"), ("assistant", "a")), "messages.-1.content", "A", [("user", "q"), ("assistant", "A")]),
    # numbers become their decimal text
    (_sft(("user", "q"), ("assistant", "a")), "answer", 42, [("user", "q"), ("assistant", "42")]),
])
def test_write_parts(record: dict[str, Any], name: str, value: Any,
                     expected_messages: list[tuple[str, str]]) -> None:
    out = copy.deepcopy(record)
    write(out, name, value)
    assert [(m["role"], m["content"]) for m in out["messages"]] == expected_messages
    assert set(out) - {"messages"} == set(record) - {"messages"}  # no stray top-level field
    if name in PARTS:
        assert read_value(out, name) == str(value)  # read back what was written


def test_write_keeps_the_other_parts_of_multimodal_content() -> None:
    record = {"id": "m", "messages": [{"role": "user", "content": [{"type": "image", "image": "x.png"},
                                                                   {"type": "text", "text": "what?"}]}]}
    write(record, "prompt", "what is it?")
    assert record["messages"][0]["content"] == [{"type": "image", "image": "x.png"},
                                                {"type": "text", "text": "what is it?"}]


def test_write_reasoning_chosen_rejected_and_text() -> None:
    record = _sft(("user", "q"), ("assistant", "a"))
    write(record, "reasoning", "because")
    assert record["messages"][-1] == {"role": "assistant", "content": "a", "reasoning": "because"}
    assert read_value(record, "reasoning") == "because"
    pref = copy.deepcopy(PREF)
    write(pref, "chosen", "better")
    write(pref, "rejected", [{"role": "assistant", "content": "worse"}])
    assert pref["chosen"] == [{"role": "assistant", "content": "better", "reasoning": "r1"}]
    assert pref["rejected"] == [{"role": "assistant", "content": "worse"}]
    fresh: dict[str, Any] = {"id": "x", "messages": [{"role": "user", "content": "q"}]}
    write(fresh, "chosen", "c")
    assert fresh["chosen"] == [{"role": "assistant", "content": "c"}]
    doc = copy.deepcopy(DOC)
    write(doc, "text", "new doc")
    assert doc["text"] == "new doc"


@pytest.mark.parametrize(("record", "name", "value", "fragment"), [
    (MULTI, "prompt", "x", "spans 2 user turns"),
    (PREF, "answer", "x", "two answers"),
    (PREF, "reasoning", "x", "two answer turns"),
    (DOC, "answer", "x", "pretraining text"),
    (DOC, "prompt", "x", "pretraining text"),
    (DOC, "system", "x", "pretraining text"),
    (_sft(("user", "q")), "reasoning", "x", "no assistant turn"),
    (_sft(("system", "a"), ("system", "b")), "system", "x", "2 system turns"),
    (_sft(("user", "q")), "answer", {"a": 1}, "takes a string"),
    (_sft(("user", "q")), "answer", None, "not null"),
    (_sft(("user", "q")), "messages.5.content", "x", "no item 5"),
    (_sft(("user", "q")), "messages.0.content.x", "x", "is a str"),
    ({"id": "x", "text": "t"}, "text.x", 1, "is a str"),
    ({"id": "x", "chosen": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]},
     "chosen", "x", "2 turns"),
    (MULTI, "turns", "x", "several texts"),
])
def test_write_refuses_what_would_be_ambiguous_or_damage(record: dict[str, Any], name: str, value: Any,
                                                          fragment: str) -> None:
    out = copy.deepcopy(record)
    with pytest.raises(WriteConflict) as info:
        write(out, name, value)
    assert fragment in str(info.value)
    assert out == record  # refused before anything changed


def test_set_field_indexes_lists_and_never_overwrites_a_value_in_the_way() -> None:
    record: dict[str, Any] = {"id": "x", "meta": {"rows": [{"a": 1}, {"a": 2}]}, "text": "t"}
    set_field(record, "meta.rows.1.a", 20)
    set_field(record, "meta.rows.-1.b", 3)
    set_field(record, "scores.new.deep", 1)
    assert record["meta"]["rows"] == [{"a": 1}, {"a": 20, "b": 3}]
    assert get_path(record, "scores.new.deep") == 1 and get_path(record, "meta.rows.-2.a") == 1
    with pytest.raises(ValueError, match="no item 2"):
        set_field(record, "meta.rows.2.a", 1)
    with pytest.raises(ValueError, match="is a str"):
        set_field(record, "text.x", 1)
    assert record["text"] == "t"


# -- names: validated when the recipe loads ---------------------------------------------------------

class _Model(BaseModel):
    on: Selector = "answer"
    to: Target = "answer"
    by: FieldPath | None = None


@pytest.mark.parametrize("params", [
    {"on": "prompt"}, {"on": "prompt+answer"}, {"on": ["prompt", "meta.title"]}, {"on": "conversation"},
    {"on": "meta.x"}, {"on": "scores.judge"}, {"on": "category"}, {"on": "messages.0.content"},
    {"on": "chosen.0.content"}, {"to": "system"}, {"to": "meta.x"}, {"to": "messages.1.content"},
    {"by": "category"}, {"by": "meta.task_type"}, {"by": "text"},
])
def test_valid_names(params: dict[str, Any]) -> None:
    _Model.model_validate(params)


@pytest.mark.parametrize(("params", "fragment"), [
    ({"on": "title"}, "meta.title"),
    ({"on": "answr"}, "did you mean answer"),
    ({"on": "turn"}, "did you mean turns"),
    ({"on": []}, "at least one"),
    ({"on": ""}, "give a part"),
    ({"on": "meta..x"}, "empty part"),
    ({"on": "prompt+answr"}, "answr"),
    ({"to": "turns"}, "cannot be written"),
    ({"to": "prompt+answer"}, "cannot be written"),
    ({"to": "id"}, "'id' cannot be changed"),
    ({"to": "difficulty"}, "meta.difficulty"),
    ({"by": "prompt"}, "not a field"),
    ({"by": "task_type"}, "meta.task_type"),
])
def test_invalid_names_say_what_is_valid(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Model.model_validate(params)
    assert fragment in str(info.value)


def test_json_schema_lists_the_parts() -> None:
    schema = _Model.model_json_schema()
    on = schema["properties"]["on"]
    assert on["anyOf"][0]["anyOf"][0]["enum"] == list(PARTS)
    assert "pattern" in on["anyOf"][0]["anyOf"][1]
