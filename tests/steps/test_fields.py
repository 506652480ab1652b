from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.steps.base import Params
from datamill.steps.fields import (
    DropFields,
    DropParams,
    MapFields,
    MapParams,
    RenameFields,
    RenameParams,
    SetFields,
    SetParams,
)

from .helpers import run_row_step


def base() -> Record:
    return {
        "id": "s:1",
        "text": "hello",
        "category": "old",
        "meta": {"topic": "math", "q_id": 7, "extra": {"a": 1}},
        "messages": [{"role": "user", "content": "hi"}],
    }


def one(step: Any, record: Record) -> Record:
    kept, dropped = run_row_step(step, [record])
    assert not dropped, dropped
    return kept[0]


@pytest.mark.parametrize(
    ("mapping", "expected_changes"),
    [
        ({"meta.topic": "category"}, {"category": "math", "meta": {"q_id": 7, "extra": {"a": 1}}}),
        ({"meta.q_id": "meta.question_id"}, {"meta": {"topic": "math", "extra": {"a": 1}, "question_id": 7}}),
        ({"category": "meta.old_category"},
         {"category": None, "meta": {"topic": "math", "q_id": 7, "extra": {"a": 1}, "old_category": "old"}}),
        ({"meta.extra.a": "scores.a"},
         {"scores": {"a": 1}, "meta": {"topic": "math", "q_id": 7, "extra": {}}}),
        ({"meta.missing": "category"}, {}),
    ],
)
def test_rename(mapping: dict[str, str], expected_changes: dict[str, Any]) -> None:
    out = one(RenameFields(RenameParams(mapping=mapping)), base())
    expected = base() | expected_changes
    expected = {k: v for k, v in expected.items() if v is not None}
    assert out == expected


def test_rename_swaps() -> None:
    out = one(RenameFields(RenameParams(mapping={"category": "text", "text": "category"})), base())
    assert out["text"] == "old" and out["category"] == "hello"


def test_rename_strict_drops_without_changing() -> None:
    step = RenameFields(RenameParams(mapping={"meta.topic": "category", "meta.nope": "lang"}, strict=True))
    kept, dropped = run_row_step(step, [base()])
    assert not kept
    (record, drop), = dropped
    assert drop.reason == "missing_field" and drop.detail == {"field": "meta.nope"}
    assert record == base()


def test_rename_out_of_a_list_is_a_conflict_not_data_loss() -> None:
    kept, dropped = run_row_step(RenameFields(RenameParams(mapping={"messages.0.content": "text"})), [base()])
    assert not kept and dropped[0][1].reason == "field_conflict"


def test_set_fields() -> None:
    values = {"kind": "sft", "meta.origin": "crawl", "tags": ["web"], "meta.difficulty": 2}
    step = SetFields(SetParams(values=values))
    kept, _ = run_row_step(step, [base(), base()])
    assert kept[0]["kind"] == "sft" and kept[0]["tags"] == ["web"]
    assert kept[0]["meta"]["origin"] == "crawl" and kept[0]["meta"]["difficulty"] == 2
    assert "difficulty" not in kept[0]
    kept[0]["tags"].append("x")
    assert kept[1]["tags"] == ["web"]


def test_set_fields_without_overwrite_fills_only_missing() -> None:
    step = SetFields(SetParams(values={"category": "new", "lang": "en"}, overwrite=False))
    out = one(step, base())
    assert out["category"] == "old" and out["lang"] == "en"


def test_set_through_a_string_is_a_conflict() -> None:
    kept, dropped = run_row_step(SetFields(SetParams(values={"text.x": 1})), [base()])
    assert not kept and dropped[0][1].reason == "field_conflict"
    assert dropped[0][0] == base()


def test_map_fields_copies() -> None:
    out = one(MapFields(MapParams(mapping={"category": "meta.topic", "meta.original_id": "id",
                                           "scores.extra": "meta.extra"})), base())
    assert out["category"] == "math" and out["meta"]["topic"] == "math"
    assert out["meta"]["original_id"] == "s:1"
    out["scores"]["extra"]["a"] = 99
    assert out["meta"]["extra"] == {"a": 1}


def test_map_missing_source() -> None:
    assert one(MapFields(MapParams(mapping={"lang": "meta.nope"})), base()) == base()
    kept, dropped = run_row_step(MapFields(MapParams(mapping={"lang": "meta.nope"}, strict=True)), [base()])
    assert not kept and dropped[0][1].reason == "missing_field"


@pytest.mark.parametrize(
    ("fields", "removed"),
    [
        (["meta.extra"], {"meta": {"topic": "math", "q_id": 7}}),
        (["meta.q_id"], {"meta": {"topic": "math", "extra": {"a": 1}}}),
        (["meta"], {"meta": None}),
        (["category", "text"], {"category": None, "text": None}),
        (["meta.nope", "meta.nope.deeper", "system", "reasoning"], {}),
    ],
)
def test_drop_fields(fields: list[str], removed: dict[str, Any]) -> None:
    out = one(DropFields(DropParams(fields=fields)), base())
    expected = {k: v for k, v in (base() | removed).items() if v is not None}
    assert out == expected


def test_drop_fields_strict() -> None:
    kept, dropped = run_row_step(DropFields(DropParams(fields=["category", "meta.nope"], strict=True)), [base()])
    assert not kept and dropped[0][1].detail == {"field": "meta.nope"}


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (RenameParams, {"mapping": {"id": "meta.id"}}),
        (RenameParams, {"mapping": {"meta.x": "id"}}),
        (RenameParams, {"mapping": {"meta.x": "turns"}}),
        (RenameParams, {"mapping": {"prompt": "meta.x"}}),  # a record keeps its prompt
        (RenameParams, {"mapping": {"topic": "category"}}),  # bare unknown name: meta.topic
        (RenameParams, {"mapping": {"meta.a": "answer", "meta.b": "messages.0.content"}}),
        (RenameParams, {"mapping": {"meta..x": "category"}}),
        (RenameParams, {"mapping": {}}),
        (RenameParams, {"mapping": {"meta.a": "meta.b", "meta.c": "meta.b.d"}}),
        (RenameParams, {"mapping": {"a": "b"}, "unknown": 1}),
        (SetParams, {"values": {"id": "x"}}),
        (SetParams, {"values": {"all": "x"}}),
        (SetParams, {"values": {"difficulty": 1}}),
        (MapParams, {"mapping": {"meta.x": "answr"}}),
        (DropParams, {"fields": ["answer"]}),
        (MapParams, {"mapping": {"id": "meta.x"}}),
        (DropParams, {"fields": ["id"]}),
        (DropParams, {"fields": []}),
    ],
)
def test_invalid_params(cls: type[Params], params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cls.model_validate(params)


# -- the parts, written with the meaning they have when read (issue 10, item 12) -------------------------

def chat_record() -> Record:
    return {"id": "c:1", "kind": "sft", "meta": {"q": "Q?", "sys": "Be brief.", "n": 3},
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def turns(record: Record) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in record["messages"]]


@pytest.mark.parametrize(("step", "expected_turns", "expected_meta"), [
    (SetFields(SetParams(values={"system": "S"})),
     [("system", "S"), ("user", "q"), ("assistant", "a")], {"q": "Q?", "sys": "Be brief.", "n": 3}),
    (SetFields(SetParams(values={"answer": "A", "prompt": "P"})),
     [("user", "P"), ("assistant", "A")], {"q": "Q?", "sys": "Be brief.", "n": 3}),
    (SetFields(SetParams(values={"messages.0.content": "first"})),
     [("user", "first"), ("assistant", "a")], {"q": "Q?", "sys": "Be brief.", "n": 3}),
    (MapFields(MapParams(mapping={"prompt": "meta.q", "system": "meta.sys", "answer": "meta.n"})),
     [("system", "Be brief."), ("user", "Q?"), ("assistant", "3")], {"q": "Q?", "sys": "Be brief.", "n": 3}),
    (MapFields(MapParams(mapping={"meta.prompt_copy": "prompt"})),
     [("user", "q"), ("assistant", "a")], {"q": "Q?", "sys": "Be brief.", "n": 3, "prompt_copy": "q"}),
    (RenameFields(RenameParams(mapping={"meta.sys": "system", "meta.q": "prompt"})),
     [("system", "Be brief."), ("user", "Q?"), ("assistant", "a")], {"n": 3}),
])
def test_field_steps_write_parts_where_they_are_read(step: Any, expected_turns: list[tuple[str, str]],
                                                     expected_meta: dict[str, Any]) -> None:
    out = one(step, chat_record())
    assert turns(out) == expected_turns
    assert out["meta"] == expected_meta
    assert set(out) == {"id", "kind", "meta", "messages"}  # no stray top-level prompt/system field


def test_rename_and_drop_a_system_turn() -> None:
    record = chat_record()
    record["messages"].insert(0, {"role": "system", "content": "old system"})
    out = one(RenameFields(RenameParams(mapping={"system": "meta.old_system"})), record)
    assert turns(out) == [("user", "q"), ("assistant", "a")] and out["meta"]["old_system"] == "old system"
    assert turns(one(DropFields(DropParams(fields=["system"])), record)) == [("user", "q"), ("assistant", "a")]


@pytest.mark.parametrize(("step", "record", "fragment"), [
    (SetFields(SetParams(values={"answer": "x"})),
     {"id": "p", "messages": [{"role": "user", "content": "q"}], "chosen": [], "rejected": []}, "two answers"),
    (SetFields(SetParams(values={"prompt": "x"})),
     {"id": "m", "messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                              {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]},
     "spans 2 user turns"),
    (SetFields(SetParams(values={"messages.3.content": "x"})), chat_record(), "no item 3"),
    (MapFields(MapParams(mapping={"answer": "meta.extra"})), base(), "takes a string"),
    (DropFields(DropParams(fields=["messages.0.content"])), chat_record(), "inside the list"),
    (SetFields(SetParams(values={"answer": "x"})), {"id": "d", "text": "a document"}, "pretraining text"),
])
def test_part_writes_that_would_damage_are_conflicts(step: Any, record: Record, fragment: str) -> None:
    kept, dropped = run_row_step(step, [record])
    assert not kept
    (original, drop), = dropped
    assert drop.reason == "field_conflict" and fragment in drop.detail["error"]
    assert original == record
