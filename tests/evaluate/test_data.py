"""What is evaluated: prompts and references from trainer files of every family and from a run's test split;
what cannot be evaluated is counted by reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import InputError
from datamill.evaluate.data import load_data
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data

Q, A = "计算 1 + 2 等于多少？", "计算过程：1 + 2 = 3"


def _write(path: Path, rows: list[Any], array: bool = False) -> str:
    text = json.dumps(rows, ensure_ascii=False) if array else "".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                                      for r in rows)
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("name", "rows", "array"), [
    ("sharegpt", [{"conversations": [{"from": "human", "value": Q}, {"from": "gpt", "value": A}]}], True),
    ("openai", [{"messages": [{"role": "user", "content": Q}, {"role": "assistant", "content": A}]}], False),
    ("alpaca", [{"instruction": Q, "input": "", "output": A}], True),
    ("trl-prompt-completion", [{"prompt": Q, "completion": A}], False),
    ("trl-kto", [{"prompt": [{"role": "user", "content": Q}], "completion": [{"role": "assistant", "content": A}],
                  "label": True}], False),
])
def test_trainer_files_give_prompt_and_reference(tmp_path: Path, name: str, rows: list[Any], array: bool) -> None:
    data = load_data(_write(tmp_path / f"{name}.json", rows, array))
    assert len(data.items) == 1
    item = data.items[0]
    assert item.messages == [{"role": "user", "content": Q}]
    assert item.reference == A
    assert item.question == Q


def test_multi_turn_keeps_the_context_and_the_system_message(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                          {"role": "assistant", "content": "hello"}, {"role": "user", "content": "2+2?"},
                          {"role": "assistant", "content": "4"}]}]
    item = load_data(_write(tmp_path / "chat.jsonl", rows)).items[0]
    assert [m["role"] for m in item.messages] == ["system", "user", "assistant", "user"]
    assert item.reference == "4" and item.question == "2+2?"


def test_preference_reference_is_chosen(tmp_path: Path) -> None:
    rows = [{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "good"}],
             "rejected": [{"role": "assistant", "content": "bad"}]}]
    item = load_data(_write(tmp_path / "dpo.jsonl", rows)).items[0]
    assert item.messages == [{"role": "user", "content": "q"}] and "good" in (item.reference or "")


def test_split_column_of_a_file(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i}", "output": f"a{i}", "split": "test" if i % 2 else "train"} for i in range(6)]
    data = load_data(_write(tmp_path / "mixed.json", rows, array=True), split="test")
    assert [i.reference for i in data.items] == ["a1", "a3", "a5"] and data.skipped == {"other_split": 3}


def test_kto_examples_labelled_bad_are_no_reference(tmp_path: Path) -> None:
    rows = [{"prompt": "q", "completion": "good", "label": True}, {"prompt": "q2", "completion": "bad", "label": False}]
    data = load_data(_write(tmp_path / "kto.jsonl", rows))
    assert [i.reference for i in data.items] == ["good"]
    assert data.skipped == {"undesirable_reference": 1}


def test_unusable_rows_are_counted_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    path.write_text(json.dumps(good) + "\n{broken json\n" + json.dumps(good) + "\n", encoding="utf-8")
    data = load_data(str(path), limit=1)
    assert len(data.items) == 1
    assert data.skipped == {"unreadable": 1, "over_limit": 1}
    assert data.describe()["items"] == 1


def test_a_file_without_prompts_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no record"):
        load_data(_write(tmp_path / "text.jsonl", [{"text": "just pretraining text"}]), record_format="text")


def test_run_directory_gives_its_test_split_with_every_field(tmp_path: Path) -> None:
    rows = [{"instruction": f"计算 {i} + 1 等于多少？", "output": f"{i + 1}", "kind_of": "add" if i % 2 else "odd"}
            for i in range(40)]
    src = _write(tmp_path / "in.json", rows, array=True)
    recipe = {"name": "t", "inputs": [{"path": src}],
              "steps": [{"set_fields": {"values": {"category": "arith"}}},
                        {"split": {"ratios": {"train": 0.75, "test": 0.25}, "seed": 0}}],
              "outputs": [{"format": "sharegpt", "path": "export/"}]}
    run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    data = load_data(str(tmp_path / "run"))
    assert data.split == "test" and len(data.items) == 10
    assert data.skipped == {"other_split": 30}
    assert {i.category("category")[0] for i in data.items} == {"arith"}
    assert {i.category("kind_of")[0] for i in data.items} <= {"add", "odd"}   # original fields via meta
    assert data.items[0].category("nope") == ["(missing)"]
    train = load_data(str(tmp_path / "run"), split="train")
    assert len(train.items) == 30 and not {i.id for i in train.items} & {i.id for i in data.items}
    with pytest.raises(InputError, match="splits: "):
        load_data(str(tmp_path / "run"), split="validation")
    # the exported file of the same run reads too, without the fields the trainer format drops
    exported = load_data(str(tmp_path / "run" / "export" / "test.json"))
    assert [i.messages for i in exported.items] == [i.messages for i in data.items]
    assert [i.id for i in exported.items] == [i.id for i in data.items]  # ShareGPT keeps the ids: evals join
    folder = load_data(str(tmp_path / "run" / "export"))                 # an export folder: its test file
    assert folder.split == "test" and [i.id for i in folder.items] == [i.id for i in data.items]
    with pytest.raises(InputError, match="no 'dev' file"):
        load_data(str(tmp_path / "run" / "export"), split="dev")
