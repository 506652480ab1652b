"""The built-in TRL backend on the tiny model: SFT (LoRA and full), pretraining, DPO, KTO.

Each run is a handful of steps; every trainable parameter must change, and the run must leave an
adapter (or model), ``loss.json``, ``loss.svg`` and ``train.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.train.run import train
from datamill.train.spec import TrainSpec

from .conftest import arithmetic, snapshot_callback, write_export

pytest.importorskip("trl")
pytest.importorskip("peft")


def _pairs(n: int) -> list[dict[str, Any]]:
    return [{"id": f"p:{i}", "kind": "preference", "messages": [{"role": "user", "content": f"{i} + {i} = ?"}],
             "chosen": [{"role": "assistant", "content": f"{2 * i}"}],
             "rejected": [{"role": "assistant", "content": f"{2 * i + 1}, I think"}]} for i in range(n)]


def _kto(n: int) -> list[dict[str, Any]]:
    return [{"id": f"k:{i}", "kind": "preference", "scores": {"kto_label": i % 2 == 0},
             "messages": [{"role": "user", "content": f"{i} + {i} = ?"},
                          {"role": "assistant", "content": f"{2 * i}" if i % 2 == 0 else "no idea"}]}
            for i in range(n)]


def _pretrain(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t:{i}", "kind": "pretrain", "text": f"Document {i}: the sum of {i} and {i} is {2 * i}."}
            for i in range(n)]


def _run(tmp_path: Path, model: str, records: list[dict[str, Any]], **options: Any) -> tuple[dict[str, Any], Any]:
    export = write_export(tmp_path / "export", records)
    snapshot = snapshot_callback()
    spec = TrainSpec.model_validate({"model": model, "max_steps": 3, "lr": 1e-2, "batch_size": 2,
                                     "cutoff_len": 128, "save_steps": 100, **options})
    lines: list[str] = []
    info = train(export, spec, tmp_path / "out", log=lines.append, callbacks=(snapshot,))
    assert any(line.startswith("step 3/3  loss ") and "eta" in line for line in lines), lines
    return info, snapshot


def _assert_all_changed(snapshot: Any, must_have: tuple[str, ...]) -> None:
    import torch

    assert snapshot.before and set(snapshot.before) == set(snapshot.after)
    for fragment in must_have:
        assert any(fragment in name for name in snapshot.before), fragment
    unchanged = [n for n, p in snapshot.before.items() if torch.equal(p, snapshot.after[n])]
    assert unchanged == []


@pytest.mark.parametrize(("records", "stage"), [(arithmetic(8), "sft"), (_pairs(8), "dpo"), (_kto(8), "kto"),
                                                (_pretrain(8), "pt")])
def test_lora_trains_every_adapter_parameter(tmp_path: Path, tiny_model: str, records: list[dict[str, Any]],
                                             stage: str) -> None:
    info, snapshot = _run(tmp_path, tiny_model, records)
    assert info["stage"] == stage and info["steps"] == 3 and info["dry_run"] is False
    _assert_all_changed(snapshot, ("lora_A", "lora_B"))
    out = tmp_path / "out"
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    saved = json.loads((out / "train.json").read_text())
    assert saved["data"]["records"] == 8 and len(saved["data"]["fingerprint"]) == 40
    assert saved["final_loss"] == pytest.approx(json.loads((out / "loss.json").read_text())[-1]["loss"])
    assert [p["step"] for p in json.loads((out / "loss.json").read_text())] == [1, 2, 3]
    assert "<polyline" in (out / "loss.svg").read_text()
    assert (out / f"trl_{stage}.yaml").is_file()


def test_full_fine_tuning_changes_every_parameter(tmp_path: Path, tiny_model: str) -> None:
    info, snapshot = _run(tmp_path, tiny_model, arithmetic(8), method="full")
    _assert_all_changed(snapshot, ("embed_tokens", "lm_head", "q_proj"))
    assert info["trainable_parameters"] == info["parameters"]
    assert (tmp_path / "out" / "model" / "model.safetensors").is_file()


def test_qlora_on_cpu_says_what_to_do(tmp_path: Path, tiny_model: str) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from datamill.train.trl_run import TrainError

    with pytest.raises(TrainError, match="CUDA GPU") as info:
        _run(tmp_path, tiny_model, arithmetic(4), method="qlora")
    assert info.value.hint == "use --method lora on CPU"
