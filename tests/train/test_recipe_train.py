"""A recipe's ``train:`` block: the last stage of the run, skipped on resume when nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app

from .conftest import arithmetic, write_export

pytest.importorskip("trl")


def _recipe(tmp_path: Path, train: dict[str, Any]) -> Path:
    write_export(tmp_path / "data", arithmetic(20), "arith.jsonl")
    recipe = {"name": "arith", "inputs": [{"path": "data/arith.jsonl"}],
              "steps": [{"split": {"ratios": {"train": 0.8, "test": 0.2}, "seed": 0}}],
              "outputs": [{"format": "trl", "path": "export/"}], "train": train}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return path


def _run(recipe: Path, workdir: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", str(recipe), "--workdir", str(workdir), "-q", "-j", "1", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads((workdir / "summary.json").read_text())
    return summary


def test_train_block_trains_after_the_outputs_and_resumes(tmp_path: Path, tiny_model: str) -> None:
    train = {"model": tiny_model, "max_steps": 2, "batch_size": 2, "cutoff_len": 64, "lr": 1e-3}
    recipe = _recipe(tmp_path, train)
    workdir = tmp_path / "run"
    first = _run(recipe, workdir)
    assert first["train"]["steps"] == 2 and first["train"]["skipped"] is False
    info = json.loads((workdir / "train" / "train.json").read_text())
    assert info["data"]["records"] == 16  # the train split only
    assert (workdir / "train" / "adapter" / "adapter_model.safetensors").is_file()
    again = _run(recipe, workdir)
    assert again["train"]["skipped"] is True and again["train"]["steps"] == 2
    recipe = _recipe(tmp_path, {**train, "max_steps": 3})
    changed = _run(recipe, workdir)
    assert changed["train"]["skipped"] is False and changed["train"]["steps"] == 3


def test_train_block_dry_run_for_llamafactory(tmp_path: Path, tiny_model: str) -> None:
    recipe = _recipe(tmp_path, {"model": tiny_model, "backend": "llamafactory", "dry_run": True,
                                "template": "smollm2"})
    summary = _run(recipe, tmp_path / "run")
    assert summary["train"]["dry_run"] is True
    assert summary["train"]["command"].endswith(f"train {tmp_path / 'run' / 'train' / 'llamafactory_train.yaml'}")
    cfg = yaml.safe_load((tmp_path / "run" / "train" / "llamafactory_train.yaml").read_text())
    assert cfg["template"] == "smollm2" and cfg["dataset"] == "train"


def test_unknown_train_key_is_a_recipe_error(tmp_path: Path, tiny_model: str) -> None:
    recipe = _recipe(tmp_path, {"model": tiny_model, "epoch": 2})
    result = CliRunner().invoke(app, ["run", str(recipe), "--workdir", str(tmp_path / "run"), "-q"])
    assert result.exit_code == 2 and "train.epoch" in result.output
