"""The recipe's eval: block without a model: dry run (the commands to run later, with settings that
`datamill eval --config` accepts) and the recipe llm: block under the judges' own settings."""

from __future__ import annotations

import json
from pathlib import Path

from datamill.evaluate.spec import EvalSpec, RecipeEval
from datamill.evaluate.stage import with_recipe_llm
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data, yaml_load


def test_dry_run_writes_settings_and_commands(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i}", "output": f"{i}"} for i in range(20)]
    (tmp_path / "in.json").write_text(json.dumps(rows), encoding="utf-8")
    recipe = {"name": "dry", "inputs": [{"path": "in.json"}],
              "steps": [{"split": {"ratios": {"train": 0.5, "test": 0.5}, "seed": 0}}],
              "outputs": [{"format": "openai", "path": "export/"}],
              "llm": {"base_url": "http://127.0.0.1:9/v1", "rpm": 30},
              "eval": {"model": "org/some-model", "adapter": "out/adapter", "dry_run": True, "by": ["category"],
                       "exact_match": {"extract": "last_number"},
                       "compare": {"pairwise": {"llm": {"model": "judge"}}}}}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    commands = summary["eval"]["commands"]
    assert summary["eval"]["dry_run"] is True and len(commands) == 3
    assert "--model org/some-model --out" in commands[0] and commands[0].endswith("eval/before")
    assert "--model org/some-model --adapter out/adapter --out" in commands[1]
    assert commands[2].startswith("datamill eval --compare") and "--judge-base-url http://127.0.0.1:9/v1" in commands[2]
    settings = yaml_load((tmp_path / "run" / "eval" / "eval.yaml").read_text(encoding="utf-8"))
    spec = EvalSpec.model_validate(settings)                  # what --config reads (the model is on the command)
    assert spec.by == ["category"] and spec.exact_match[0].extract == "last_number"
    assert not (tmp_path / "run" / "eval" / "before").exists()
    assert (tmp_path / "run" / "eval" / "commands.sh").read_text().splitlines() == commands


def test_trained_weights_by_backend(tmp_path: Path) -> None:
    from datamill.evaluate.stage import trained_weights
    from datamill.train.spec import TrainSpec

    assert trained_weights(TrainSpec(model="m"), tmp_path) == (None, str(tmp_path / "train" / "adapter"))
    assert trained_weights(TrainSpec(model="m", method="full"), tmp_path) == (str(tmp_path / "train" / "model"), None)
    lf = TrainSpec(model="m", backend="llamafactory", out="/abs/out")
    assert trained_weights(lf, tmp_path) == (None, "/abs/out/llamafactory")


def test_dry_run_after_xtuner_names_the_conversion(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i}", "output": f"{i}"} for i in range(10)]
    (tmp_path / "in.json").write_text(json.dumps(rows), encoding="utf-8")
    recipe = {"name": "dry", "inputs": [{"path": "in.json"}],
              "steps": [{"split": {"ratios": {"train": 0.5, "test": 0.5}, "seed": 0}}],
              "outputs": [{"format": "openai", "path": "export/", "options": {"xtuner": True}}],
              "train": {"backend": "xtuner", "model": "org/m", "dry_run": True},
              "eval": {"dry_run": True}}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert f"--adapter {tmp_path / 'run' / 'train' / 'xtuner_hf'}" in summary["eval"]["commands"][1]
    script = (tmp_path / "run" / "eval" / "commands.sh").read_text(encoding="utf-8")
    assert script.startswith("# XTuner saves .pth checkpoints") and "xtuner convert pth_to_hf" in script


def test_recipe_llm_block_is_merged_under_the_judges() -> None:
    spec = RecipeEval.model_validate({"model": "m", "judge": {"llm": {"model": "j", "max_tokens": 100}},
                                      "compare": {"pairwise": {"llm": {"model": "p"}}}})
    merged = with_recipe_llm(spec, {"base_url": "http://h/v1", "model": "default", "rpm": 60})
    assert merged.judge[0].llm.model == "j" and merged.judge[0].llm.max_tokens == 100
    assert merged.judge[0].llm.base_url == "http://h/v1" and merged.judge[0].llm.rpm == 60
    assert merged.compare.pairwise is not None and merged.compare.pairwise.llm.model == "p"
    assert merged.compare.pairwise.llm.base_url == "http://h/v1"
