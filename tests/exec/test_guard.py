"""The engine's invariants: no stage silently loses all of its input, counts reconcile, failures are loud."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.errors import DataLossError, InputError, ReconcileError
from datamill.exec import driver as run_module
from datamill.exec.guard import check_loss, check_reconciles, lost_too_much
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.report.stats import StageStats


def write(tmp_path: Path, rows: list[dict[str, Any]], steps: list[Any], **extra: Any) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recipe = {"name": "g", "inputs": [{"path": "data.jsonl"}], "steps": steps,
              "outputs": [{"format": "jsonl", "path": "export/"}], **extra}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return path


ROWS = [{"instruction": f"q{i}", "input": "", "output": f"answer {i}"} for i in range(20)]


def test_a_filter_that_drops_everything_fails_with_exit_6(tmp_path: Path) -> None:
    recipe = write(tmp_path, ROWS, [{"filter": {"expr": "len(answer) > 1000"}}])
    with pytest.raises(DataLossError) as info:
        run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)
    err = info.value
    assert err.exit_code == 6
    assert "01-filter lost 20 of 20 records" in err.message
    assert "filter:len(answer) > 1000: 20" in err.message
    assert "for example: data:0: filter:len(answer) > 1000" in err.message
    assert "max_loss" in (err.hint or "")
    assert str(tmp_path / "run/steps/01-filter/dropped") in (err.hint or "")
    # the stage is not marked done: fixing the recipe re-runs it
    assert not (tmp_path / "run/steps/01-filter/_SUCCESS").exists()


def test_max_loss_share_and_opt_out(tmp_path: Path) -> None:
    steps = [{"filter": {"expr": "answer != 'answer 1' and answer != 'answer 2'"}}]
    run_recipe(load_recipe(write(tmp_path, ROWS, steps)), tmp_path / "a", workers=1)  # 10% lost: fine by default
    with pytest.raises(DataLossError, match=r"10%, more than max_loss 0\.05"):
        run_recipe(load_recipe(write(tmp_path, ROWS, steps, max_loss=0.05)), tmp_path / "b", workers=1)
    # per step, next to the step name
    step = [{"filter": {"expr": "answer != 'answer 1' and answer != 'answer 2'"}, "max_loss": 0.05}]
    with pytest.raises(DataLossError, match="step 01-filter"):
        run_recipe(load_recipe(write(tmp_path, ROWS, step)), tmp_path / "c", workers=1)
    everything = [{"filter": {"expr": "len(answer) > 1000"}}]
    summary = run_recipe(load_recipe(write(tmp_path, ROWS, everything, max_loss=1)), tmp_path / "d", workers=1)
    assert summary["totals"]["written"] == 0 and summary["reconciled"]


def test_unmapped_answer_fails_at_export_and_says_which_column_to_map(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "reply": f"a{i}"} for i in range(5)]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "g", "inputs": [{"path": "data.jsonl", "format": "qa", "fields": {"prompt": "question"}}],
              "outputs": [{"format": "llamafactory-alpaca", "path": "export/"}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(DataLossError) as info:
        run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert "output 0 (llamafactory-alpaca) lost 5 of 5 records" in info.value.message
    assert "meta.reply" in info.value.message  # the column to map is shown
    assert "--field answer=COLUMN" in (info.value.hint or "")


def test_every_row_quarantined_names_the_file_and_the_first_error(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"instruction": "a"}x\n[1, 2]\n')
    recipe = {"name": "g", "inputs": [{"path": "data.jsonl", "format": "alpaca", "file_format": "jsonl"}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(DataLossError) as info:
        run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert "reading data.jsonl lost 2 of 2 rows" in info.value.message
    assert "for example: data.jsonl:1: invalid JSON" in info.value.message
    assert "not valid for the file's container" in (info.value.hint or "")  # a parse problem, not a mapping one


def test_rows_that_parse_but_do_not_map_point_at_the_mapping(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"question": "a"}\n{"question": "b"}\n')
    recipe = {"name": "g", "inputs": [{"path": "data.jsonl", "format": "alpaca"}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(DataLossError) as info:
        run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert "alpaca: " in info.value.message
    assert "check format: and fields:" in (info.value.hint or "")


def test_an_empty_input_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    recipe = {"name": "g", "inputs": [{"path": "empty.jsonl", "format": "alpaca"}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(InputError) as info:
        run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert "empty.jsonl" in info.value.message


def test_stats_that_do_not_reconcile_stop_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = write(tmp_path, ROWS, [{"filter": {"expr": "True"}}])
    real = run_module.sum_shard_stats

    def broken(stage: Any, shards: list[str]) -> StageStats:
        stats = real(stage, shards)
        stats.records_out -= 1  # a record vanished without a reason
        return stats

    monkeypatch.setattr(run_module, "sum_shard_stats", broken)
    with pytest.raises(ReconcileError, match="01-filter: counts do not reconcile: in 20"):
        run_recipe(load_recipe(recipe), tmp_path / "run", workers=1)


def test_guard_functions() -> None:
    ok = StageStats(records_in=10, records_out=10)
    check_reconciles("x", ok)
    check_loss("x", ok, None)
    bad = StageStats(records_in=10, records_out=9)
    with pytest.raises(ReconcileError):
        check_reconciles("x", bad)
    lost = StageStats(records_in=10, records_out=0, quarantined=10)
    assert lost_too_much(lost, None)
    assert not lost_too_much(lost, 1.0)
    assert not lost_too_much(StageStats(), None)  # nothing in, nothing lost
    assert lost_too_much(StageStats(records_in=10, records_out=8, quarantined=2), 0.1)
    assert not lost_too_much(StageStats(records_in=10, records_out=8, quarantined=2), 0.2)
