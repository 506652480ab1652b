"""The executor end to end: counts reconcile, outputs are deterministic, resume skips finished work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.run import input_name, run_recipe
from datamill.recipe.load import load_recipe
from datamill.recipe.model import InputSpec


def write_jsonl(path: Path, rows: list[Any]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_inputs(root: Path, n: int = 500) -> None:
    data = root / "data"
    data.mkdir()
    rows = [{"instruction": f"question {i % (n // 2)}", "input": "", "output": f"answer {i % (n // 2)}",
             "topic": "even" if i % 2 == 0 else "odd"} for i in range(n)]
    write_jsonl(data / "a.jsonl", rows[: n // 2])
    write_jsonl(data / "b.jsonl", rows[n // 2:])


def write_recipe(root: Path, **overrides: Any) -> Path:
    recipe = {
        "name": "t",
        "inputs": [{"path": "data/*.jsonl"}],
        "steps": [
            {"filter": {"expr": "meta.topic != 'skip'"}},
            {"dedup_exact": {"on": "prompt"}},
            {"split": {"ratios": {"train": 0.8, "test": 0.2}, "seed": 0, "stratify_by": "meta.topic"}},
        ],
        "outputs": [{"format": "jsonl", "path": "export/"}],
        "executor": {"shard_size": 37},
    }
    recipe.update(overrides)
    path = root / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def export_bytes(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((workdir / "export").glob("*.jsonl"))}


def test_run_reconciles_and_writes_splits(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    summary = run_recipe(load_recipe(write_recipe(tmp_path)), tmp_path / "run", workers=1)
    totals = summary["totals"]
    assert totals["read"] == 500
    assert totals["dropped"] == {"duplicate_exact": 250}
    assert totals["written"] == 250
    assert summary["reconciled"] is True
    for step in summary["steps"]:
        assert step["in"] == step["out"] + sum(step["dropped"].values()) + step["quarantined"], step["name"]
    files = export_bytes(tmp_path / "run")
    assert set(files) == {"train.jsonl", "test.jsonl"}
    assert sum(len(b.splitlines()) for b in files.values()) == 250
    test_rows = [json.loads(line) for line in files["test.jsonl"].splitlines()]
    assert len(test_rows) == 50
    assert all(r["split"] == "test" for r in test_rows)
    assert all(r["id"].startswith("data:") for r in test_rows)
    dropped = (tmp_path / "run/steps/02-dedup_exact/dropped").glob("*.jsonl")
    entries = [json.loads(line) for f in dropped for line in f.read_text().splitlines()]
    assert len(entries) == 250
    assert all(e["reason"] == "duplicate_exact" and e["detail"]["duplicate_of"] for e in entries)
    assert (tmp_path / "run/recipe.lock.yaml").exists()
    assert json.loads((tmp_path / "run/summary.json").read_text())["totals"] == totals


def test_parallel_and_serial_outputs_are_identical(tmp_path: Path) -> None:
    make_inputs(tmp_path, 2000)
    recipe = load_recipe(write_recipe(tmp_path))
    run_recipe(recipe, tmp_path / "serial", workers=1)
    run_recipe(recipe, tmp_path / "parallel", workers=2)
    assert export_bytes(tmp_path / "serial") == export_bytes(tmp_path / "parallel")


def test_resume_skips_unchanged_steps_and_recomputes_changed_ones(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    path = write_recipe(tmp_path)
    first = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    second = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert any("01-filter: unchanged, skipped" in m for m in second["log"])
    assert any("03-split: unchanged, skipped" in m for m in second["log"])
    assert second["totals"] == first["totals"]
    third = run_recipe(load_recipe(path, overrides=["steps[2].params.seed=1"]), tmp_path / "run", workers=1)
    assert any("02-dedup_exact: unchanged, skipped" in m for m in third["log"])
    assert not any("03-split: unchanged" in m for m in third["log"])
    assert third["totals"]["written"] == first["totals"]["written"]
    fresh = run_recipe(load_recipe(path), tmp_path / "run", workers=1, fresh=True)
    assert not any("skipped" in m for m in fresh["log"])


def test_changed_input_file_invalidates_the_read(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    path = write_recipe(tmp_path)
    run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    with open(tmp_path / "data/a.jsonl", "a") as fh:
        fh.write(json.dumps({"instruction": "brand new", "input": "", "output": "x", "topic": "odd"}) + "\n")
    again = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    assert again["totals"]["read"] == 501
    assert again["totals"]["written"] == 251


def test_removed_step_directories_are_cleaned(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    run_recipe(load_recipe(write_recipe(tmp_path)), tmp_path / "run", workers=1)
    run_recipe(load_recipe(write_recipe(tmp_path, steps=[{"limit": {"n": 10}}])), tmp_path / "run", workers=1)
    assert sorted(p.name for p in (tmp_path / "run/steps").iterdir()) == ["00-read", "01-limit"]


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        (InputSpec(path="data/*.jsonl"), "data"),
        (InputSpec(path="x/train.json.gz"), "train"),
        (InputSpec(path="s3://bucket/pre/*.jsonl.out"), "pre"),
        (InputSpec(path="hf://org/ds"), "org__ds"),
        (InputSpec(path="a.jsonl", name="mine"), "mine"),
    ],
)
def test_input_names(spec: InputSpec, name: str) -> None:
    assert input_name(spec, 0) == name


def test_outputs_with_where_route_records_and_totals_count_each_record_once(tmp_path: Path) -> None:
    make_inputs(tmp_path)
    path = write_recipe(tmp_path, steps=[{"dedup_exact": {"on": "prompt"}}], outputs=[
        {"format": "jsonl", "path": "export/even/", "where": "meta.topic == 'even'", "split_by": None},
        {"format": "jsonl", "path": "export/odd/", "where": "meta.topic == 'odd' and answer != 'answer 1'",
         "split_by": None},
        {"format": "parquet", "path": "export/all/"},
    ])
    summary = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    even = (tmp_path / "run/export/even/data.jsonl").read_text().splitlines()
    odd = (tmp_path / "run/export/odd/data.jsonl").read_text().splitlines()
    assert len(even) == 125 and len(odd) == 124
    assert summary["outputs"][1]["notes"]["not selected by 'where'"] == 126
    # the parquet output writes everything, so every record counts as written exactly once
    assert summary["totals"]["written"] == 250
    assert summary["reconciled"]

    path = write_recipe(tmp_path, steps=[{"dedup_exact": {"on": "prompt"}}], outputs=[
        {"format": "jsonl", "path": "export/even/", "where": "meta.topic == 'even'"},
    ])
    summary = run_recipe(load_recipe(path), tmp_path / "run2", workers=1)
    assert summary["totals"]["written"] == 125
    assert summary["totals"]["dropped"]["export:not_selected"] == 125
    assert summary["reconciled"]


def test_split_by_template_writes_one_file_per_combination(tmp_path: Path) -> None:
    make_inputs(tmp_path, 40)
    path = write_recipe(tmp_path, steps=[{"split": {"ratios": {"train": 0.5, "test": 0.5}}}],
                        outputs=[{"format": "jsonl", "path": "export/",
                                  "split_by": "{meta.topic}/{split}-{meta.nope}"}])
    summary = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    files = sorted(str(p.relative_to(tmp_path / "run/export")) for p in (tmp_path / "run/export").rglob("*.jsonl"))
    assert files == ["even/test-none.jsonl", "even/train-none.jsonl", "odd/test-none.jsonl", "odd/train-none.jsonl"]
    assert sum(f["records"] for f in summary["outputs"][0]["files"]) == 40
    for f in summary["outputs"][0]["files"]:
        rows = [json.loads(x) for x in Path(f["path"]).read_text().splitlines()]
        topic, rest = f["split"].split("/")
        assert {r["meta"]["topic"] for r in rows} == {topic}
        assert {r["split"] for r in rows} == {rest.split("-")[0]}
