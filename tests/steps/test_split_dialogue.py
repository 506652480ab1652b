"""``split_dialogue``: dialogues packed into one field with speaker tags -> canonical turns, or a drop
with the reason; never half-parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.steps.base import Drop
from datamill.steps.registry import default_registry
from datamill.steps.split_dialogue import SplitDialogue, SplitDialogueParams


def turns(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": role, "content": content} for role, content in pairs]


U, A, S = "user", "assistant", "system"

#: (case, text, params, expected turns or drop reason)
CASES: list[tuple[str, str, dict[str, Any], list[dict[str, str]] | str]] = [
    ("<user>/<bot> on one line", "<user>:你好<bot>:您好，有什么可以帮您？", {},
     turns((U, "你好"), (A, "您好，有什么可以帮您？"))),
    ("<user>/<bot> without colons", "<user> hi <bot> hello", {}, turns((U, "hi"), (A, "hello"))),
    ("Human/Assistant, HH style, multi-line turns",
     "\n\nHuman: hi\n\nAssistant: line one\nline two\n\nHuman: and?\n\nAssistant: done", {},
     turns((U, "hi"), (A, "line one\nline two"), (U, "and?"), (A, "done"))),
    ("User/Assistant with a system turn", "System: be brief\nUser: 2+2?\nAssistant: 4", {},
     turns((S, "be brief"), (U, "2+2?"), (A, "4"))),
    ("lower-case tags", "human: q\nassistant: a", {}, turns((U, "q"), (A, "a"))),
    ("用户/助手 with full-width colons", "用户：你好\n助手：您好！\n用户：再见\n助手：再会。", {},
     turns((U, "你好"), (A, "您好！"), (U, "再见"), (A, "再会。"))),
    ("问/答 on one line", "问：1+1等于几？答：2", {}, turns((U, "1+1等于几？"), (A, "2"))),
    ("问/答 with ASCII colons and a multi-line answer", "问: 怎么走？\n答: 先左转，\n再直走。", {},
     turns((U, "怎么走？"), (A, "先左转，\n再直走。"))),
    ("a CJK tag inside a word is not a tag", "用户：请问：怎么走？\n助手：直走。", {},
     turns((U, "请问：怎么走？"), (A, "直走。"))),
    ("an ASCII tag mid-line is text", "User: what does The User: field mean?\nAssistant: a label", {},
     turns((U, "what does The User: field mean?"), (A, "a label"))),
    ("anywhere: true splits mid-line", "User: hi Assistant: hello", {"anywhere": True},
     turns((U, "hi"), (A, "hello"))),
    ("configured tags", "Q: 2+2?\nA: 4", {"tags": {"user": ["Q"], "assistant": ["A"]}}, turns((U, "2+2?"), (A, "4"))),
    ("an empty last turn is kept", "User: write something\nAssistant:", {}, turns((U, "write something"), (A, ""))),
    ("no tags", "just some text without speakers", {}, "dialogue_no_tags"),
    ("text before the first tag", "Transcript:\nUser: hi\nAssistant: hello", {}, "dialogue_text_before_first_tag"),
    ("two user turns in a row", "User: hi\nUser: anyone?\nAssistant: yes", {}, "dialogue_not_alternating"),
    ("starts with the assistant", "Assistant: hello\nUser: hi", {}, "dialogue_not_alternating"),
    ("alternate: false keeps them", "User: hi\nUser: anyone?\nAssistant: yes", {"alternate": False},
     turns((U, "hi"), (U, "anyone?"), (A, "yes"))),
]


@pytest.mark.parametrize(("text", "params", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_split_dialogue(text: str, params: dict[str, Any], expected: list[dict[str, str]] | str) -> None:
    step = SplitDialogue(SplitDialogueParams(field="meta.dialogue", **params))
    record = {"id": "x:0", "kind": "raw", "meta": {"dialogue": text, "src": "forum"}}
    out = step.process(record)
    if isinstance(expected, str):
        assert isinstance(out, Drop) and out.reason == expected
        return
    assert not isinstance(out, Drop)
    assert out["messages"] == expected
    assert out["meta"] == {"src": "forum"}  # the packed field is gone: its text is in the turns
    assert out["kind"] == ("chat" if sum(t["role"] == U for t in expected) > 1 else "sft")
    assert record["meta"]["dialogue"] == text  # the input record is not changed


def test_missing_field_and_keep_field() -> None:
    step = SplitDialogue(SplitDialogueParams(field="meta.dialogue"))
    dropped = step.process({"id": "x:0", "kind": "raw", "meta": {"other": "User: a\nAssistant: b"}})
    assert isinstance(dropped, Drop) and dropped.reason == "dialogue_missing_field"
    kept = SplitDialogue(SplitDialogueParams(keep_field=True)).process(
        {"id": "x:1", "kind": "pretrain", "text": "User: a\nAssistant: b"})
    assert not isinstance(kept, Drop) and kept["text"] == "User: a\nAssistant: b" and kept["kind"] == "sft"


@pytest.mark.parametrize("params", [
    {"tags": {"user": ["User"], "assistant": ["user"]}},
    {"tags": {"user": ["User"], "bot": ["Bot"]}},
    {"tags": {"user": ["User"]}},
    {"field": ""},
    {"taggs": {}},
])
def test_bad_params_are_recipe_errors(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SplitDialogueParams(**params)


def test_in_a_run_from_a_csv_column(tmp_path: Path) -> None:
    (tmp_path / "forum.csv").write_text(
        'id,dialogue\n1,"用户：你好\n助手：您好"\n2,"no speakers here at all"\n3,"User: hi\nAssistant: hello"\n',
        encoding="utf-8")
    recipe = {"name": "t", "inputs": [{"path": "forum.csv", "format": "raw"}],
              "steps": [{"split_dialogue": {"field": "meta.dialogue"}}], "outputs": [{"format": "trl"}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    step = summary["steps"][1]
    assert (step["in"], step["out"], step["dropped"]) == (3, 2, {"dialogue_no_tags": 1})
    assert summary["totals"]["written"] == 2 and summary["reconciled"]
    assert "split_dialogue" in default_registry().names()
