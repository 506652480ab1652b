"""LLaMA-Factory and XTuner: the configs ``datamill train`` writes, and a real ``llamafactory-cli train``.

The LLaMA-Factory run uses the CLI of the virtual environment that ``scripts/setup.d/35-train.sh`` builds
under ``$DATAMILL_CACHE/llamafactory-venv`` (LLaMA-Factory 0.9.5 on the project's torch; see the
fragment for why it has an environment of its own).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app
from datamill.handoff.trainers import xtuner_structure
from datamill.models import cache_root

from .conftest import arithmetic, write_export

LF_CLI = cache_root() / "llamafactory-venv" / "bin" / "llamafactory-cli"


def _train(*args: str) -> Any:
    result = CliRunner().invoke(app, ["train", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def openai_map_fn_contract(row: dict[str, Any]) -> list[dict[str, str]]:
    """What XTuner's openai_map_fn makes of a row (its documented behaviour, re-stated): system/user/assistant
    only (anything else raises NotImplementedError), user turns accumulate into the next answer's input."""
    conversation, system, text = [], "", ""
    messages = list(row["messages"])
    while messages and messages[0]["role"] == "assistant":
        messages = messages[1:]
    for m in messages:
        if m["role"] == "system":
            system = m["content"]
        elif m["role"] == "user":
            text += m["content"]
        elif m["role"] == "assistant":
            conversation.append({"system": system, "input": text, "output": m["content"]})
            system, text = "", ""
        else:
            raise NotImplementedError(m["role"])
    return conversation


def test_xtuner_dry_run_writes_a_config_and_rows_openai_map_fn_reads(tmp_path: Path, tiny_model: str) -> None:
    records = arithmetic(6)
    records.append({"id": "t:0", "kind": "chat", "tools": [{"type": "function", "function": {"name": "add"}}],
                    "messages": [{"role": "user", "content": "add 1 2"},
                                 {"role": "assistant", "content": "", "tool_calls": [
                                     {"id": "c1", "type": "function",
                                      "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}}]},
                                 {"role": "tool", "content": "3", "tool_call_id": "c1"},
                                 {"role": "assistant", "content": "3"}]})
    export = write_export(tmp_path / "export", records)
    info = _train(str(export), "--backend", "xtuner", "--model", tiny_model, "--out", str(tmp_path / "out"),
                  "--dry-run", "--template", "default", "--set", "max_length=512")
    assert info["dry_run"] is True and info["command"].startswith("xtuner train ")
    assert info["data"]["refused"] == {"tool_calls_unsupported": 1}  # the tool conversation is refused, counted
    config = (tmp_path / "out" / "xtuner_config.py").read_text()
    compile(config, "xtuner_config.py", "exec")
    assert "dataset_map_fn=openai_map_fn" in config and "max_length = 512" in config
    assert f'pretrained_model_name_or_path = "{tiny_model}"' in config
    rows = [json.loads(line) for line in (tmp_path / "out" / "data" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and info["openai_map_fn"]["rows"] == 6
    for row in rows:
        (turn,) = openai_map_fn_contract(row)
        assert turn["input"] == row["messages"][0]["content"] and turn["output"] == row["messages"][1]["content"]
        assert xtuner_structure(row) == (None, [])


def test_llamafactory_dry_run_uses_the_exports_own_registry(tmp_path: Path, tiny_model: str) -> None:
    from export.conftest import export

    folder = tmp_path / "export"
    records = [{**r, "split": "train" if i < 6 else "test"} for i, r in enumerate(arithmetic(8))]
    export(records, "llamafactory-sharegpt", folder, split_by="split")
    info = _train(str(folder), "--backend", "llamafactory", "--model", tiny_model, "--out", str(tmp_path / "out"),
                  "--dry-run", "--max-steps", "5", "--set", "lora_rank=4")
    cfg = yaml.safe_load((tmp_path / "out" / "llamafactory_train.yaml").read_text())
    registry = json.loads((folder / "dataset_info.json").read_text())
    assert set(registry) == {"train", "test"}
    assert cfg["dataset"] == "train" and cfg["dataset_dir"] == str(folder)
    assert info["data"]["records"] == 6
    assert cfg["stage"] == "sft" and cfg["finetuning_type"] == "lora" and cfg["lora_rank"] == 4
    assert cfg["max_steps"] == 5 and cfg["cutoff_len"] == 1024 and cfg["template"] == "default"
    assert info["command"].endswith(f"train {tmp_path / 'out' / 'llamafactory_train.yaml'}")


@pytest.mark.skipif(not LF_CLI.exists(), reason=f"no LLaMA-Factory environment at {LF_CLI.parent.parent} "
                    "(built by scripts/setup.d/35-train.sh)")
def test_llamafactory_cli_trains_on_the_yaml_datamill_wrote(tmp_path: Path, tiny_model: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISABLE_VERSION_CHECK", "1")  # datasets 5.x is newer than LLaMA-Factory's pin
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    export = write_export(tmp_path / "export", arithmetic(12))
    out = tmp_path / "out"
    info = _train(str(export), "--backend", "llamafactory", "--model", tiny_model, "--out", str(out),
                  "--template", "smollm2", "--max-steps", "3", "--save-steps", "2", "--batch-size", "2",
                  "--cutoff-len", "128", "--lr", "1e-3", "--launcher", str(LF_CLI))
    assert info["dry_run"] is False and info["steps"] == 3 and info["final_loss"] > 0
    trained = out / "llamafactory"
    assert (trained / "adapter_model.safetensors").is_file() and (trained / "checkpoint-2").is_dir()
    state = json.loads((trained / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert [p["step"] for p in json.loads((out / "loss.json").read_text())] == [1, 2, 3]


def test_trl_yaml_is_read_by_trls_own_cli_parser(tmp_path: Path, tiny_model: str) -> None:
    """TRL 0.24's ``trl`` CLI does not start under transformers 5 (see docs/training.md), so its own argument
    parser proves the YAML: every key is a field of ScriptArguments/SFTConfig/ModelConfig, with our values."""
    from datamill.train.trl_run import fix_trl_availability_flags

    fix_trl_availability_flags()
    from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser

    export = write_export(tmp_path / "export", arithmetic(4))
    info = _train(str(export), "--model", tiny_model, "--out", str(tmp_path / "out"), "--dry-run",
                  "--max-steps", "7", "--cutoff-len", "200", "--set", "warmup_ratio=0.1")
    assert info["dry_run"] is True and info["command"] == f"trl sft --config {tmp_path / 'out' / 'trl_sft.yaml'}"
    parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig))
    script, config, model = parser.parse_args_and_config(["--config", str(tmp_path / "out" / "trl_sft.yaml")])
    assert script.dataset_name == str(tmp_path / "out" / "data") and model.model_name_or_path == tiny_model
    assert (config.max_steps, config.max_length, config.warmup_ratio) == (7, 200, 0.1)
    assert model.use_peft and model.lora_r == 8 and model.lora_target_modules == "all-linear"
    rows = (tmp_path / "out" / "data" / "train.jsonl").read_text().splitlines()
    assert len(rows) == 4 and "messages" in json.loads(rows[0])


def test_missing_trainer_cli_falls_back_to_a_dry_run_with_the_command(tmp_path: Path, tiny_model: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no xtuner anywhere
    export = write_export(tmp_path / "export", arithmetic(3))
    result = CliRunner().invoke(app, ["train", str(export), "--backend", "xtuner", "--model", tiny_model,
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "xtuner is not installed (or pass --launcher PATH)" in result.stderr
    assert result.stdout.strip() == (tmp_path / "out" / "command.txt").read_text().strip()
    assert result.stdout.startswith("xtuner train ") and not (tmp_path / "out" / "train.json").exists()
    bad = CliRunner().invoke(app, ["train", str(export), "--backend", "xtuner", "--model", tiny_model,
                                   "--out", str(tmp_path / "out"), "--launcher", str(tmp_path / "nope")])
    assert bad.exit_code == 3 and "is not an executable file" in bad.output
