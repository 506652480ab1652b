"""Expressions that name a field the records lack: named in the drop, an error when no record has it
(issue 10, item 4), in ``filter`` steps and in outputs' ``where:``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.errors import RecipeError, StepError
from datamill.exec.run import run_recipe
from datamill.expr import compile_expr
from datamill.recipe.load import load_recipe
from datamill.steps.filter_expr import Filter, FilterParams

from .helpers import chat, run_row_step

ROWS = [{"question": f"q{i}", "answer": f"answer {i}", "topic": "a" if i % 2 else "b"} for i in range(12)]


def write(tmp_path: Path, steps: list[Any], where: str | None = None) -> Path:
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    recipe = {"name": "m", "inputs": [{"path": "d.jsonl", "format": "qa",
                                       "fields": {"prompt": "question", "answer": "answer"}}],
              "steps": steps, "outputs": [{"format": "jsonl", "path": "export/", "where": where}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_a_bare_typo_is_a_recipe_error_at_load() -> None:
    with pytest.raises(RecipeError) as info:
        compile_expr("len(answr) > 0")
    assert "unknown name 'answr'" in info.value.message and "did you mean answer" in str(info.value.hint)


def test_the_drop_names_the_missing_field() -> None:
    step = Filter(FilterParams(expr="len(meta.answr) > 0"))
    kept, dropped = run_row_step(step, [chat("a:0", "q", "a", meta={"answer": "a"})])
    assert not kept
    (_, drop), = dropped
    assert drop.reason == "expr_error" and drop.detail["missing"] == ["meta.answr"]
    assert "NoneType" in drop.detail["error"]


def test_a_field_no_record_has_fails_the_run_even_when_other_clauses_keep_records(tmp_path: Path) -> None:
    recipe = write(tmp_path, [{"filter": {"expr": "meta.topc == 'a' or len(answer) > 0"}}])
    with pytest.raises(StepError) as info:
        run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    message = info.value.message
    assert "meta.topc" in message and "none of the 12 records" in message
    assert "meta.topic" in message  # the fields that do exist


def test_a_field_some_records_have_is_fine_and_counted(tmp_path: Path) -> None:
    recipe = write(tmp_path, [{"filter": {"expr": "meta.topic == 'a' or exists(meta.never)"}}])
    summary = run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    assert summary["totals"]["written"] == 6
    stats = json.loads(next((tmp_path / "run" / "steps").glob("01-*/stats.json")).read_text())
    assert "missing_field:meta.never" not in stats["notes"]  # only tested with exists(): not needed


def test_an_output_where_naming_a_field_no_record_has_fails(tmp_path: Path) -> None:
    recipe = write(tmp_path, [], where="meta.topc == 'a' or kind == 'sft'")
    with pytest.raises(StepError) as info:
        run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    assert "meta.topc" in info.value.message and "meta.topic" in info.value.message


def test_numeric_strings_compare_as_numbers_and_are_noted(tmp_path: Path) -> None:
    step = Filter(FilterParams(expr="meta.n > 5"))
    rows = [chat(f"n:{i}", "q", "a", meta={"n": v}) for i, v in enumerate(["10", " 3 ", "1e1", "x"])]
    worker = step
    results = [worker.process(r) for r in rows]
    kept = [r["id"] for r in results if isinstance(r, dict)]
    assert kept == ["n:0", "n:2"]
    assert worker.take_notes()["coerced_numeric"] == 3


# -- siblings: a name that selects nothing in any record ------------------------------------------------

def test_a_filter_on_a_field_no_record_has_fails_the_run(tmp_path: Path) -> None:
    recipe = write(tmp_path, [{"length": {"on": "meta.titel", "min": 1}}])
    with pytest.raises(StepError) as info:
        run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    assert "length on reads meta.titel" in info.value.message and "meta.topic" in info.value.message


@pytest.mark.parametrize(("step", "fragment"), [
    ("split", "stratify_by: meta.topc is missing"),
    ("sample", "by: meta.topc is missing"),
    ("dedup_exact", "on: meta.titel selects no text"),
    ("dedup_minhash", "on: meta.titel selects no text"),
])
def test_global_steps_refuse_a_name_that_selects_nothing(step: str, fragment: str) -> None:
    from datamill.steps.registry import default_registry

    from .helpers import run_global_step

    params: dict[str, Any] = {
        "split": {"stratify_by": "meta.topc"}, "sample": {"n": 2, "by": "meta.topc"},
        "dedup_exact": {"on": "meta.titel"}, "dedup_minhash": {"on": "meta.titel"},
    }[step]
    cls = default_registry().get(step)
    rows = [chat(f"g:{i}", f"q{i}", f"a{i}", meta={"topic": "x"}) for i in range(5)]
    with pytest.raises(StepError) as info:
        run_global_step(cls(cls.Params(**params)), rows, 2)
    assert fragment in info.value.message
