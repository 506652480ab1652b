from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from datamill.steps.classify.classify import Classify, ClassifyParams

from ..helpers import chat, reasons, run_global_step

RULES = [
    {"category": "math", "regex": r"\d+\s*[-+*/]\s*\d+"},
    {"category": "code", "keywords": ["python", "函数"]},
    {"category": "both", "all_keywords": ["python", "sort"]},
    {"category": "vip", "when": "meta.user == 'vip'"},
]
ROWS = [
    chat("r:0", "计算 3 + 4", "7"),
    chat("r:1", "写一个 Python 函数来 sort 列表", "def f(): ..."),
    chat("r:2", "你好", "你好", meta={"user": "vip"}),
    chat("r:3", "讲个故事", "从前..."),
    chat("r:4", "python: 1+1", "2"),
]


@pytest.mark.parametrize(("mode", "expected_cat", "expected_tags"), [
    ("first", ["math", "code", "vip", "other", "math"], [None] * 5),
    ("all", ["math", "code", "vip", "other", "math"], [["math"], ["code", "both"], ["vip"], None, ["math", "code"]]),
])
def test_classify_table(mode: str, expected_cat: list[str], expected_tags: list[list[str] | None]) -> None:
    step = Classify(ClassifyParams.model_validate({"rules": RULES, "mode": mode}))
    kept, _ = run_global_step(step, ROWS, 2)
    assert [r["category"] for r in kept] == expected_cat
    assert [r.get("tags") for r in kept] == expected_tags
    report = step.report()
    assert report["total"] == 5
    assert report["categories"]["math"] == {"count": 2, "proportion": 0.4}
    assert list(report["categories"]) == ["math", "code", "vip", "other"]
    assert "| math | 2 | 0.4000 |" in step.table()


def test_classify_drop_and_rules_file(tmp_path: Path) -> None:
    f = tmp_path / "rules.yaml"
    f.write_text("rules:\n  - {category: story, regex: 故事}\n", encoding="utf-8")
    step = Classify(ClassifyParams.model_validate({"rules": RULES[:1], "rules_file": str(f), "drop": ["story"],
                                                   "default": None}))
    kept, dropped = run_global_step(step, ROWS, 10)
    assert reasons(dropped) == {"r:3": "category:story"}
    assert "category" not in kept[1]
    assert step.report()["categories"]["story"]["count"] == 1


def test_classify_rejects_bad_rules() -> None:
    for params in ({"rules": []}, {"rules": [{"category": "x", "regex": "("}]},
                   {"rules": [{"category": "x", "when": "__import__('os')"}]},
                   {"rules": [{"category": "x", "colour": "red"}]}):
        with pytest.raises(ValidationError):
            ClassifyParams.model_validate(params)
