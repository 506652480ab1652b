"""An output exported again removes the files its previous export wrote and this one does not (and their
entries in a LLaMA-Factory registry): a re-run with other split names left the old test file, and its
``dataset_info.json`` entry with a matching sha1, beside a new train file that holds its records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data


def recipe(tmp_path: Path, ratios: dict[str, float], outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = tmp_path / "d.jsonl"
    if not data.exists():
        data.write_text("".join(json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}"}) + "\n"
                                for i in range(200)))
    return {"name": "s", "inputs": [{"path": str(data)}],
            "steps": [{"split": {"ratios": ratios, "seed": 1}}],
            "outputs": outputs or [{"format": "jsonl", "path": "export/"},
                                   {"format": "llamafactory-alpaca", "path": "export_lf/",
                                    "options": {"dataset_name": "d"}}]}


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".datamill" not in p.parts}


@pytest.mark.parametrize("fresh", [False, True])
def test_a_changed_split_leaves_no_old_file_or_registry_entry(tmp_path: Path, fresh: bool) -> None:
    work = tmp_path / "run"
    run_recipe(load_recipe_data(recipe(tmp_path, {"train": 0.8, "test": 0.2}), tmp_path), work, workers=2)
    assert (work / "export" / "test.jsonl").exists() and (work / "export_lf" / "test.json").exists()
    summary = run_recipe(load_recipe_data(recipe(tmp_path, {"train": 0.8, "val": 0.2}), tmp_path), work,
                         workers=2, fresh=fresh)
    assert not (work / "export" / "test.jsonl").exists()
    assert not (work / "export_lf" / "test.json").exists()
    registry = json.loads((work / "export_lf" / "dataset_info.json").read_text())
    assert sorted(registry) == ["d_train", "d_val"]
    assert all((work / "export_lf" / e["file_name"]).exists() for e in registry.values())
    assert any("removed" in line and "test.json" in line for line in summary["log"])
    written = {f["path"] for o in summary["outputs"] for f in o["files"]}
    on_disk = {str(p) for p in (work / "export").glob("*")} | {str(p) for p in (work / "export_lf").glob("*.json")
                                                                 if p.name != "dataset_info.json"}
    assert on_disk == written


def test_an_output_the_recipe_no_longer_has_takes_its_files_with_it(tmp_path: Path) -> None:
    work = tmp_path / "run"
    run_recipe(load_recipe_data(recipe(tmp_path, {"train": 0.9, "test": 0.1}), tmp_path), work, workers=1)
    assert (work / "export_lf" / "train.json").exists()
    only_jsonl = [{"format": "jsonl", "path": "export/"}]
    summary = run_recipe(load_recipe_data(recipe(tmp_path, {"train": 0.9, "test": 0.1}, only_jsonl), tmp_path),
                         work, workers=1)
    assert not (work / "export_lf" / "train.json").exists() and not (work / "export_lf" / "test.json").exists()
    assert (work / "export" / "train.jsonl").exists()
    assert summary["reconciled"]


def test_a_registry_keeps_the_entries_of_files_that_exist(tmp_path: Path) -> None:
    """Another output's (or the user's) entry in the same registry stays while its file exists."""
    work = tmp_path / "run"
    (work / "export_lf").mkdir(parents=True)
    (work / "export_lf" / "mine.json").write_text("[]")
    (work / "export_lf" / "dataset_info.json").write_text(json.dumps({
        "mine": {"file_name": "mine.json"}, "hub": {"hf_hub_url": "org/ds"}, "gone": {"file_name": "gone.json"}}))
    summary = run_recipe(load_recipe_data(recipe(tmp_path, {"train": 0.9, "test": 0.1}), tmp_path), work, workers=1)
    registry = json.loads((work / "export_lf" / "dataset_info.json").read_text())
    assert sorted(registry) == ["d_test", "d_train", "hub", "mine"]
    notes = summary["outputs"][1]["notes"]
    assert notes == {"dataset_info.json: entries for files that no longer exist removed": 1}
