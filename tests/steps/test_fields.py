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
        ({"topic": "category"}, {"category": "math", "meta": {"q_id": 7, "extra": {"a": 1}}}),
        ({"meta.q_id": "question_id"}, {"meta": {"topic": "math", "extra": {"a": 1}, "question_id": 7}}),
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
    values = {"kind": "sft", "meta.origin": "crawl", "tags": ["web"], "difficulty": 2}
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
        (["q_id"], {"meta": {"topic": "math", "extra": {"a": 1}}}),
        (["meta"], {"meta": None}),
        (["category", "text"], {"category": None, "text": None}),
        (["nope", "meta.nope.deeper"], {}),
    ],
)
def test_drop_fields(fields: list[str], removed: dict[str, Any]) -> None:
    out = one(DropFields(DropParams(fields=fields)), base())
    expected = {k: v for k, v in (base() | removed).items() if v is not None}
    assert out == expected


def test_drop_fields_strict() -> None:
    kept, dropped = run_row_step(DropFields(DropParams(fields=["category", "nope"], strict=True)), [base()])
    assert not kept and dropped[0][1].detail == {"field": "nope"}


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (RenameParams, {"mapping": {"id": "meta.id"}}),
        (RenameParams, {"mapping": {"meta.x": "id"}}),
        (RenameParams, {"mapping": {"meta.x": "prompt"}}),
        (RenameParams, {"mapping": {"meta..x": "category"}}),
        (RenameParams, {"mapping": {}}),
        (RenameParams, {"mapping": {"a": "meta.b", "c": "meta.b.d"}}),
        (RenameParams, {"mapping": {"a": "b"}, "unknown": 1}),
        (SetParams, {"values": {"id": "x"}}),
        (SetParams, {"values": {"answer": "x"}}),
        (MapParams, {"mapping": {"id": "meta.x"}}),
        (DropParams, {"fields": ["id"]}),
        (DropParams, {"fields": []}),
    ],
)
def test_invalid_params(cls: type[Params], params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cls.model_validate(params)
