"""Every step that writes a text part writes it where ``on:`` reads it (issue 10, item 12): a table per
writing step, with the refusals that keep data from being damaged."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from datamill.records import Record
from datamill.selectors import read_value
from datamill.steps.augment.template import Rewrite, RewriteParams
from datamill.steps.classify.classify import Classify, ClassifyParams
from datamill.steps.llm.label import LabelParams, LLMLabel

from .helpers import run_global_step, run_row_step


def sft() -> Record:
    return {"id": "w:1", "kind": "sft", "meta": {"unit": "kg"},
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def turns(record: Record) -> list[tuple[str, Any]]:
    return [(m["role"], m["content"]) for m in record["messages"]]


@pytest.mark.parametrize(("to", "expected_turns", "extra"), [
    ("answer", [("user", "q"), ("assistant", "<q|kg>")], {}),
    ("prompt", [("user", "<q|kg>"), ("assistant", "a")], {}),
    ("system", [("system", "<q|kg>"), ("user", "q"), ("assistant", "a")], {}),
    ("reasoning", [("user", "q"), ("assistant", "a")], {}),
    ("messages.0.content", [("user", "<q|kg>"), ("assistant", "a")], {}),
    ("messages.-1.content", [("user", "q"), ("assistant", "<q|kg>")], {}),
    ("meta.note", [("user", "q"), ("assistant", "a")], {"meta": {"unit": "kg", "note": "<q|kg>"}}),
])
def test_rewrite_writes_to_the_part_it_names(to: str, expected_turns: list[tuple[str, str]],
                                             extra: dict[str, Any]) -> None:
    kept, dropped = run_row_step(Rewrite(RewriteParams(template="<{prompt}|{meta.unit}>", to=to)), [sft()])
    assert not dropped, dropped
    out = kept[0]
    assert turns(out) == expected_turns
    assert set(out) == {"id", "kind", "meta", "messages"}  # never a stray top-level 'prompt' or 'system'
    assert read_value(out, to) == "<q|kg>"
    for key, value in extra.items():
        assert out[key] == value


@pytest.mark.parametrize(("to", "record", "fragment"), [
    ("answer", {"id": "p", "messages": [{"role": "user", "content": "q"}],
                "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]},
     "two answers"),
    ("messages.5.content", sft(), "no item 5"),
    ("answer", {"id": "d", "kind": "pretrain", "text": "a document"}, "pretraining text"),
])
def test_rewrite_refuses_writes_that_would_damage(to: str, record: Record, fragment: str) -> None:
    kept, dropped = run_row_step(Rewrite(RewriteParams(template="x", to=to)), [record])
    assert not kept
    (original, drop), = dropped
    assert drop.reason == "field_conflict" and fragment in drop.detail["error"]
    assert original == record


@pytest.mark.parametrize("params", [
    {"template": "{answr}"},  # a typo: neither a part nor a field
    {"template": "x", "to": "turns"},
    {"template": "x", "to": "id"},
    {"template": "x", "to": "unit"},  # a bare name: meta.unit
])
def test_rewrite_names_are_checked_when_the_recipe_loads(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RewriteParams.model_validate(params)


@pytest.mark.parametrize(("field", "expected_turns", "meta"), [
    ("category", [("user", "2+2?"), ("assistant", "4")], {}),
    ("system", [("system", "math"), ("user", "2+2?"), ("assistant", "4")], {}),
    ("meta.topic", [("user", "2+2?"), ("assistant", "4")], {"topic": "math"}),
])
def test_classify_writes_its_target_as_a_part_or_field(field: str, expected_turns: list[tuple[str, str]],
                                                       meta: dict[str, Any]) -> None:
    step = Classify(ClassifyParams(rules=[{"category": "math", "regex": r"\d"}], field=field))
    record = {"id": "c:1", "kind": "sft", "messages": [{"role": "user", "content": "2+2?"},
                                                       {"role": "assistant", "content": "4"}]}
    kept, _ = run_global_step(step, [record], 1)
    assert turns(kept[0]) == expected_turns
    assert read_value(kept[0], field) == "math"
    assert kept[0].get("meta", {}) == meta


def test_classify_refuses_a_target_it_cannot_write() -> None:
    step = Classify(ClassifyParams(rules=[{"category": "math", "regex": r"\d"}], field="prompt"))
    record = {"id": "c:2", "messages": [{"role": "user", "content": "1"}, {"role": "assistant", "content": "a"},
                                        {"role": "user", "content": "2"}, {"role": "assistant", "content": "b"}]}
    kept, dropped = run_global_step(step, [record], 1)
    assert not kept and dropped[0][1].reason == "field_conflict"


@pytest.mark.parametrize(("field", "check"), [
    ("category", lambda r: r["category"] == "math"),
    ("system", lambda r: r["messages"][0] == {"role": "system", "content": "math"}),
    ("meta.label", lambda r: r["meta"]["label"] == "math"),
])
def test_llm_label_writes_its_target_as_a_part_or_field(field: str, check: Any) -> None:
    step = LLMLabel(LabelParams(labels=["math", "chat"], field=field))
    out = step.accept(sft(), {"label": "math", "confidence": 0.9}, "")
    assert isinstance(out, dict) and check(out)
    assert "system" not in out and "prompt" not in out  # no stray top-level field
