"""The local Hugging Face path on a tiny random Llama (SmolLM2's real tokenizer and chat template): greedy
answers through the cache, resume without generating again, adapters, batching, and the recipe's eval stage."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from datamill.evaluate.run import run_eval
from datamill.evaluate.spec import EvalSpec

QUESTIONS = [f"计算 {i} + {i * 7} 等于多少？" for i in range(12)]


def _data(tmp_path: Path, n: int = 12) -> Path:
    rows = [{"conversations": [{"from": "human", "value": f"计算 {i} + {i * 7} 等于多少？"},
                               {"from": "gpt", "value": f"计算过程：{i} + {i * 7} = {i * 8}"}]} for i in range(n)]
    path = tmp_path / "test.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def _adapter(tiny_model: Path, folder: Path) -> Path:
    """A LoRA adapter with random (non-zero) B matrices, so the adapted model answers differently."""
    if not (folder / "adapter_config.json").exists():
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        torch.manual_seed(1)
        model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
        peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                                                      init_lora_weights=False))
        peft_model.save_pretrained(str(folder))
    return folder


def _spec(model: Path, data: Path, **gen: Any) -> EvalSpec:
    return EvalSpec.model_validate({"model": str(model), "data": str(data), "exact_match": {"extract": "last_number"},
                                    "generation": {"max_new_tokens": 6, **gen}})


def _answers(out: Path) -> list[str]:
    return [json.loads(x)["answer"] for x in (out / "answers.jsonl").read_text(encoding="utf-8").splitlines()]


def test_cli_eval_then_resume_without_loading_the_model(tmp_path: Path, tiny_model: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = _data(tmp_path)
    args = ["eval", "--model", str(tiny_model), "--data", str(data), "--out", str(tmp_path / "out"),
            "--extract", "last_number", "--max-new-tokens", "6", "--batch-size", "4", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert report["n"] == 12 and report["answers"]["new"] == 12 and report["answers"]["cached"] == 0
    assert report["model"] == str(tiny_model) and report["adapter"] is None
    assert report["scored"] == {"exact_match": 12} and report["metrics"]["exact_match"] == 0.0  # random weights
    assert report["answers"]["model_key"].startswith("local:folder:")
    first = _answers(tmp_path / "out")
    assert all(isinstance(a, str) for a in first)

    from datamill.evaluate import local

    def no_load(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the model must not be loaded when every answer is cached")

    monkeypatch.setattr(local.LocalModel, "load", classmethod(no_load))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert (again["answers"]["new"], again["answers"]["cached"]) == (0, 12)
    assert _answers(tmp_path / "out") == first


def test_batching_does_not_change_greedy_answers(tmp_path: Path, tiny_model: Path) -> None:
    data = _data(tmp_path)
    one = run_eval(_spec(tiny_model, data, batch_size=1), tmp_path / "b1")
    four = run_eval(_spec(tiny_model, data, batch_size=5), tmp_path / "b5")
    assert one["answers"]["new"] == four["answers"]["new"] == 12
    assert _answers(tmp_path / "b1") == _answers(tmp_path / "b5")  # left padding is masked out


def test_adapter_is_another_model_and_names_its_base(tmp_path: Path, tiny_model: Path) -> None:
    data = _data(tmp_path)
    adapter = _adapter(tiny_model, tmp_path / "adapter")
    base = run_eval(_spec(tiny_model, data), tmp_path / "out")
    adapted = run_eval(EvalSpec.model_validate({"adapter": str(adapter), "data": str(data),
                                                "generation": {"max_new_tokens": 6}}), tmp_path / "out")
    assert adapted["model"] == str(tiny_model)              # from adapter_config.json's base_model_name_or_path
    assert adapted["answers"]["new"] == 12                   # same cache folder, different model key
    assert adapted["answers"]["model_key"].startswith(base["answers"]["model_key"] + "+adapter@")
    assert _answers(tmp_path / "out") != [None] * 12
    raw = run_eval(_spec(tiny_model, data, chat_template=False), tmp_path / "out")
    assert raw["answers"]["new"] == 12                       # another prompt format: not from the cache


def test_recipe_eval_stage_before_after_and_resume(tmp_path: Path, tiny_model: Path) -> None:
    from datamill.exec.run import run_recipe
    from datamill.recipe.load import load_recipe_data

    rows = [{"instruction": f"计算 {i} * 2 等于多少？", "output": f"{i * 2}", "kind": "mul" if i % 3 else "zero"}
            for i in range(24)]
    src = tmp_path / "in.json"
    src.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    adapter = _adapter(tiny_model, tmp_path / "adapter")
    recipe: dict[str, Any] = {
        "name": "evalstage", "inputs": [{"path": str(src), "format": "alpaca"}],
        "steps": [{"split": {"ratios": {"train": 0.75, "test": 0.25}, "seed": 0}}],
        "outputs": [{"format": "sharegpt", "path": "export/"}],
        "eval": {"model": str(tiny_model), "adapter": str(adapter), "by": ["kind"],
                 "exact_match": {"extract": "last_number"}, "generation": {"max_new_tokens": 4},
                 "compare": {"samples": 3}},
    }
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    ev = summary["eval"]
    assert ev["items"] == 6 and ev["split"] == "test"
    assert ev["before"]["answers"]["new"] == 6 and ev["after"]["answers"]["new"] == 6
    assert set(ev["compare"]["exact_match"]) == {"before", "after", "delta", "ci", "n"}
    md = (tmp_path / "run" / "eval" / "compare" / "compare.md").read_text(encoding="utf-8")
    assert "## By kind" in md and "| question | before | after | reference |" in md
    stored = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert stored["eval"] == ev and ev["skipped"] is False
    again = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert again["eval"] == {**ev, "skipped": True}
    recipe["eval"]["generation"]["max_new_tokens"] = 5   # a changed block runs again (answers are new)
    changed = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert changed["eval"]["before"]["answers"]["new"] == 6


def test_killed_eval_resumes_with_what_it_has(tmp_path: Path, tiny_model: Path) -> None:
    data = _data(tmp_path, 40)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "datamill", "eval", "--model", str(tiny_model), "--data", str(data),
           "--out", str(out), "--max-new-tokens", "48", "--batch-size", "1", "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = out / "cache" / "llm.sqlite"
    done = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists():
            try:
                with sqlite3.connect(cache) as db:
                    done = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            except sqlite3.Error:
                done = 0
            if done >= 3:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(cache) as db:
        kept = db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert 3 <= kept < 40, "the kill must land mid-way for this test to mean something"
    assert not (out / "eval.json").exists()
    subprocess.run(cmd, env=env, check=True)
    report = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert report["answers"]["cached"] == kept and report["answers"]["new"] == 40 - kept
    whole = tmp_path / "whole"
    subprocess.run([*cmd[:cmd.index("--out") + 1], str(whole), *cmd[cmd.index("--out") + 2:]], env=env, check=True)
    assert _answers(out) == _answers(whole)  # the resumed answers are the uninterrupted run's
