from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from datamill.errors import RecipeError
from datamill.recipe.load import load_recipe_data
from datamill.steps.filter_expr import Filter, FilterParams, default_reason

from .helpers import chat, reasons, run_row_step

RECORDS = [
    chat("r:0", "short?", "ok", meta={"task_type": "qa"}),
    chat("r:1", "long question here", "a long enough answer", meta={"task_type": "qa"}),
    chat("r:2", "another", "another long answer", meta={"task_type": "x"}),
    chat("r:3", "no meta", "long answer without meta"),
    {"id": "r:4", "text": "pretrain", "meta": {"task_type": 3}},  # a document is its own answer
]


def test_keeps_records_where_true_and_drops_the_rest_with_reason() -> None:
    expr = "len(answer) > 10 and meta.task_type != 'x'"
    kept, dropped = run_row_step(Filter(FilterParams(expr=expr)), RECORDS)
    assert [r["id"] for r in kept] == ["r:1", "r:3"]
    assert reasons(dropped) == {"r:0": f"filter:{expr}", "r:2": f"filter:{expr}", "r:4": f"filter:{expr}"}


def test_custom_reason() -> None:
    _, dropped = run_row_step(Filter(FilterParams(expr="text != ''", reason="no_text")), RECORDS)
    assert set(reasons(dropped).values()) == {"no_text"}


def test_evaluation_error_drops_with_expr_error() -> None:
    kept, dropped = run_row_step(Filter(FilterParams(expr="meta.task_type > 'a'")), RECORDS)
    assert [r["id"] for r in kept] == ["r:0", "r:1", "r:2"]
    assert reasons(dropped) == {"r:3": "expr_error", "r:4": "expr_error"}
    for _, drop in dropped:
        assert "'>' not supported" in drop.detail["error"]


def test_default_reason_is_one_short_line() -> None:
    assert default_reason("a\n  and b") == "filter:a and b"
    long = default_reason("len(answer) > 10 and " * 10)
    assert len(long) == len("filter:") + 60 and long.endswith("...")


def test_bad_expression_is_rejected_by_params() -> None:
    with pytest.raises(ValidationError, match="__import__"):
        FilterParams(expr="__import__('os').system('true')")


def test_bad_expression_is_a_recipe_error_with_location() -> None:
    steps = [{"limit": {"n": 1}}, {"filter": {"expr": "open('x')"}}]
    data = {"name": "t", "inputs": [{"path": "x.jsonl"}], "steps": steps}
    with pytest.raises(RecipeError) as info:
        load_recipe_data(data, base_dir=Path("."))
    assert info.value.location == "steps[1].params.expr"
    assert "function 'open' is not allowed" in info.value.message
