"""The lm-evaluation-harness task written for a test split: its data file, its YAML keys (local JSON needs
test_split: train), the filter for the extractor, and the printed command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from datamill.cli import app


def test_lm_eval_task_from_cli(tmp_path: Path) -> None:
    rows = [{"instruction": f"计算 {i} * 3 等于多少？", "output": f"计算过程：{i} * 3 = {i * 3}"} for i in range(5)]
    data = tmp_path / "test.json"
    data.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "--lm-eval-task", "--data", str(data), "--out", str(tmp_path / "lm"),
                                      "--model", "org/model", "--adapter", str(tmp_path / "adapter"),
                                      "--extract", "last_number", "--max-new-tokens", "64"])
    assert result.exit_code == 0, result.output
    task_file = tmp_path / "lm" / "datamill_test_json_all.yaml"
    task = yaml.safe_load(task_file.read_text(encoding="utf-8"))
    assert task["task"] == "datamill_test_json_all" and task["dataset_path"] == "json"
    assert task["test_split"] == "train" and list(task["dataset_kwargs"]["data_files"]) == ["train"]
    assert task["output_type"] == "generate_until"
    assert task["generation_kwargs"] == {"until": [], "do_sample": False, "max_gen_toks": 64}
    flt = task["filter_list"][0]["filter"]
    assert flt[0]["function"] == "regex" and flt[0]["group_select"] == -1 and flt[1]["function"] == "take_first"
    pattern = re.compile(flt[0]["regex_pattern"])
    assert pattern.findall("计算过程：4 * 3 = 12")[-1] == "12"
    items = [json.loads(x) for x in Path(task["dataset_kwargs"]["data_files"]["train"]).read_text().splitlines()]
    assert [i["answer"] for i in items] == ["0", "3", "6", "9", "12"]   # the reference's extracted answer
    assert items[1]["question"] == "计算 1 * 3 等于多少？"
    assert "lm_eval --model hf --model_args pretrained=org/model,peft=" in result.output
    assert f"--include_path {task_file.parent}" in result.output and "--tasks datamill_test_json_all" in result.output


def test_eval_help_lists_the_modes() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in ("--compare", "--pairwise", "--predictions", "--lm-eval-task", "--adapter", "--base-url", "--extract"):
        assert flag in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path / "o"), "--data", "x.jsonl"])
    assert result.exit_code == 2 and "nothing to evaluate" in result.output
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path / "o"), "--model", "m", "--data", "x",
                                      "--extract", "nope"])
    assert result.exit_code == 2 and "exact_match" in result.output
    result = CliRunner().invoke(app, ["eval", "--compare", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "c"),
                                      "--pairwise"])
    assert result.exit_code == 2 and "--judge-base-url" in result.output
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path / "o"), "--base-url", "http://127.0.0.1:9/v1",
                                      "--model", "m", "--adapter", str(tmp_path), "--data", "x"])
    assert result.exit_code == 2 and "not to an endpoint" in result.output
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path / "o"), "--adapter", str(tmp_path), "--data", "x"])
    assert result.exit_code == 3 and "adapter_config.json" in result.output   # not an adapter folder
