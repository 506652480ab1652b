"""Proof with LLaMA-Factory itself: every exported file goes through its own dataset pipeline
(``get_dataset``: its converter and its processors, a local tokenizer, offline) from the exported
``dataset_info.json``, and it must yield exactly the rows datamill wrote.

The synthetic records cover every mode and shape (system, history, CoT, tool calls, ties, KTO);
the corpora test runs every SFT/chat/preference file of ../shared/corpora through a real run with
all targets (the first 200 rows of each file, to keep the suite fast).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data

from .conftest import export
from .samples import BROKEN, KTO, PREFERENCE, PRETRAIN, SFT, TOOL_CHAT

STAGE = {"sft": "sft", "preference": "rm", "kto": "kto", "pretrain": "pt"}


def _stage(info_entry: dict[str, Any]) -> str:
    if info_entry.get("ranking"):
        return "rm"
    if "kto_tag" in info_entry.get("columns", {}):
        return "kto"
    if info_entry.get("columns") == {"prompt": "text"}:
        return "pt"
    return "sft"


@pytest.mark.parametrize(
    ("fmt", "records", "written"),
    [
        ("llamafactory-alpaca", SFT + [r for r, _ in BROKEN], 5),
        ("llamafactory-alpaca", PREFERENCE, 2),
        ("llamafactory-alpaca", KTO, 2),
        ("llamafactory-alpaca", PRETRAIN, 2),
        ("llamafactory-sharegpt", SFT + TOOL_CHAT + [r for r, _ in BROKEN], 6),
        ("llamafactory-sharegpt", PREFERENCE, 2),
        ("llamafactory-sharegpt", KTO, 2),
    ],
)
def test_llamafactory_reads_every_written_row(llamafactory: Any, tmp_path: Path, fmt: str,
                                              records: list[dict[str, Any]], written: int) -> None:
    out = export(records, fmt, tmp_path, {"dataset_name": "ds"})
    assert sum(out.written.values()) == written
    entry = out.info()["ds"]
    assert llamafactory.count(tmp_path, "ds", _stage(entry)) == written


#: SFT, chat and preference files of ../shared/corpora (pretraining text and non-dialogue tables excluded).
CORPUS_FILES = [
    "1_stanford_alpaca/seed_tasks.jsonl",
    "1_alpaca_en_sample/alpaca_data_sample.json",
    "1_alpaca_zh_carbonz0/zh-data-part-00.json",
    "2_llamafactory/alpaca_en_demo.json",
    "2_llamafactory/alpaca_zh_demo.json",
    "2_llamafactory/dpo_zh_demo.json",
    "2_llamafactory/glaive_toolcall_en_demo.json",
    "2_llamafactory/glaive_toolcall_zh_demo.json",
    "2_llamafactory/identity.json",
    "2_llamafactory/kto_en_demo.json",
    "2_llamafactory/mllm_demo.json",
    "2_llamafactory/reason_tool_use_demo_50.jsonl",
    "2_llamafactory/v1_dpo_demo.jsonl",
    "2_llamafactory/v1_sft_demo.jsonl",
    "2_fastchat_sharegpt/dummy_conversation.json",
    "3_medicalgpt_dpo_zh/toolcall_dpo_zh_demo.jsonl",
    "3_ultrafeedback_subset/eval_clean.jsonl",
    "4_gsm8k/test.jsonl",
    "4_ascend_arith_zh/test-v2.json",
    "5_chatdoctor/chatdoctor5k.json",
    "5_medicalgpt/medical_sft_1K_format.jsonl",
    "5_medicalgpt/medical_corpus.txt",
    "6_evol_ruozhiba/source_ruozhiba.jsonl",
]
TARGETS = ["llamafactory-alpaca", "llamafactory-sharegpt", "sharegpt", "openai", "trl"]
ROWS = 200


@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file_to_every_target(corpora: Path, llamafactory: Any, tmp_path: Path, name: str) -> None:
    recipe = {
        "name": "proof",
        # every target is tried on every file: a target that takes none of a file's records is expected
        "max_loss": 1,
        "inputs": [{"path": str(corpora / name), "limit": ROWS}],
        "outputs": [{"format": t, "path": f"export/{t}", "split_by": None, "options": {"dataset_name": "ds"}
                     if t.startswith("llamafactory") else {}} for t in TARGETS],
        "executor": {"shard_size": 64},  # several shards: the parts are written by 2 workers and joined
    }
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=2)
    assert summary["reconciled"]
    assert summary["totals"]["quarantined"] == 0, summary["log"]
    read = summary["totals"]["read"]
    report = {}
    for target, output in zip(TARGETS, summary["outputs"], strict=True):
        assert output["in"] == read
        assert output["in"] == output["out"] + sum(output["dropped"].values())  # nothing lost without a reason
        report[target] = (output["out"], output["dropped"])
        dropped_file = tmp_path / "run" / "outputs" / f"{TARGETS.index(target):02d}-{target}" / "dropped"
        for line in (dropped_file / f"{target}.jsonl").read_text(encoding="utf-8").splitlines() if \
                (dropped_file / f"{target}.jsonl").exists() else []:
            assert json.loads(line)["reason"] in output["dropped"]
        if target.startswith("llamafactory") and output["out"]:
            folder = tmp_path / "run" / "export" / target
            entry = json.loads((folder / "dataset_info.json").read_text(encoding="utf-8"))["ds"]
            assert llamafactory.count(folder, "ds", _stage(entry)) == output["out"], (target, report)
            # the registry entry describes the rows (a KTO file read as SFT trains on its unwanted answers)
            rows = json.loads((folder / entry["file_name"]).read_text(encoding="utf-8"))
            columns = set((entry.get("columns") or {}).values())
            assert any("kto_tag" in r for r in rows) == ("kto_tag" in columns), (target, entry)
            assert any("chosen" in r for r in rows) == bool(entry.get("ranking")), (target, entry)
    # some target takes this file's shape; only multimodal rows (media not exported) fit none
    media_only = all(set(dropped) == {"media_not_exported"} for _, dropped in report.values())
    assert max(out for out, _ in report.values()) > 0 or media_only, report
