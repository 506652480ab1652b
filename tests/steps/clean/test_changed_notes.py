"""Cleaning steps report how many records they changed: ``notes.changed`` in the stage's stats.json, through a
real run (a record counts once however many of its texts changed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.steps.clean.normalize import Normalize, NormalizeParams

from ..helpers import chat

ROWS = [
    {"instruction": "你好,世界", "input": "", "output": "你好,世界"},  # both texts change: counted once
    {"instruction": "fine", "input": "", "output": "already clean"},
    {"instruction": "call 13812345678", "input": "", "output": "see https://example.com/x."},
    {"instruction": "结果是30，对吗？", "input": "", "output": "是的。"},
]


def test_changed_is_counted_once_per_record() -> None:
    step = Normalize(NormalizeParams())
    for record in (chat("a", "你好,世界", "你好,世界"), chat("b", "ok", "ok"), chat("c", "x  y", "z")):
        step.process(record)
    assert step.take_notes() == {"changed": 2}


def test_changed_lands_in_stats_json(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS))
    steps: list[Any] = ["fix_unicode", "normalize", "remove_patterns", {"mask_pii": {"types": ["EMAIL"]}}]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"name": "t", "inputs": [{"path": "data.jsonl"}], "steps": steps}))
    summary = run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    stats = {label: json.loads((tmp_path / "run/steps" / label / "stats.json").read_text())
             for label in ("01-fix_unicode", "02-normalize", "03-remove_patterns", "04-mask_pii")}
    assert stats["01-fix_unicode"].get("notes", {}) == {}  # full-width punctuation is not a repair
    assert stats["02-normalize"]["notes"] == {"changed": 1}
    assert stats["03-remove_patterns"]["notes"] == {"changed": 1}
    assert stats["04-mask_pii"].get("notes", {}) == {}
    assert [s.get("notes", {}) for s in summary["steps"][1:]] == [s.get("notes", {}) for s in stats.values()]
    assert all(s["in"] == s["out"] == len(ROWS) for s in stats.values())
    assert summary["reconciled"]


def test_arith_solution_notes_the_answers_it_rewrote() -> None:
    from datamill.steps.augment.arith_solution import ArithParams, ArithSolution

    step = ArithSolution(ArithParams())
    solved: Any = step.apply(chat("a", "计算 7469.98 * -2455.65 等于多少？", "-18343656.3870"), 0, None)
    step.apply(chat("b", "What is love?", "Baby don't hurt me"), 1, None)  # not a problem it knows: unchanged
    assert solved["messages"][1]["content"].startswith("计算过程")
    assert step.take_notes() == {"changed": 1}
