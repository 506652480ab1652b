"""A real LLaMA-Factory predictions file: `llamafactory-cli train` with do_predict on the tiny model writes
generated_predictions.jsonl, and `datamill eval --predictions` scores it joined to the test data it was made on
(the LLaMA-Factory environment is the one scripts/setup.d/35-train.sh builds)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app
from datamill.models import cache_root

LF_CLI = cache_root() / "llamafactory-venv" / "bin" / "llamafactory-cli"


@pytest.mark.skipif(not LF_CLI.exists(), reason=f"no LLaMA-Factory environment at {LF_CLI.parent.parent} "
                    "(built by scripts/setup.d/35-train.sh)")
def test_score_llamafactory_generated_predictions(tmp_path: Path, tiny_model: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"instruction": f"计算 {i} + {i} 等于多少？", "input": "", "output": f"计算过程：{i} + {i} = {2 * i}",
             "category": "add"} for i in range(4)]
    (data / "test.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    (data / "dataset_info.json").write_text(json.dumps({"arith_test": {"file_name": "test.json"}}), encoding="utf-8")
    out = tmp_path / "predict"
    config = {"model_name_or_path": str(tiny_model), "stage": "sft", "do_predict": True, "predict_with_generate": True,
              "finetuning_type": "lora", "dataset_dir": str(data), "eval_dataset": "arith_test", "template": "smollm2",
              "cutoff_len": 128, "max_new_tokens": 6, "do_sample": False, "per_device_eval_batch_size": 2,
              "output_dir": str(out), "overwrite_output_dir": True, "report_to": "none"}
    (tmp_path / "predict.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {**os.environ, "DISABLE_VERSION_CHECK": "1", "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run([str(LF_CLI), "train", str(tmp_path / "predict.yaml")], env=env, capture_output=True,
                          text=True, timeout=900)
    predictions = out / "generated_predictions.jsonl"
    assert done.returncode == 0 and predictions.is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    lines = [json.loads(x) for x in predictions.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 4 and set(lines[0]) >= {"prompt", "predict", "label"}

    result = CliRunner().invoke(app, ["eval", "--predictions", str(predictions), "--data", str(data / "test.json"),
                                      "--out", str(tmp_path / "eval"), "--extract", "last_number", "--by", "category",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval" / "eval.json").read_text(encoding="utf-8"))
    assert report["n"] == 4 and report["scored"] == {"exact_match": 4}
    assert report["by_category"]["category"]["add"]["n"] == 4           # the data's fields, joined by position
    answers = [json.loads(x) for x in (tmp_path / "eval" / "answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [a["answer"] for a in answers] == [x["predict"] for x in lines]
    assert [a["question"] for a in answers] == [r["instruction"] for r in rows]  # the data's prompt, not the template
