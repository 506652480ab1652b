"""The seed recipes run end to end on the real corpora, and their files load in the trainers' loaders."""

from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from datamill.evaluate.data import final_stage, load_stage
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe, load_recipe_data
from datamill.records import get_path

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def test_seed002_medical(corpora: Path, llamafactory: Any, tmp_path: Path) -> None:
    summary = run_recipe(load_recipe(RECIPES / "seed002-medical" / "recipe.yaml"), tmp_path, workers=1)
    assert summary["reconciled"] and summary["totals"]["quarantined"] == 0
    # where: routes each shape (and the SFT test split) to its output, so nothing is refused or left unselected
    assert summary["totals"]["dropped"] == {"duplicate_exact": 79}
    assert summary["totals"]["written"] == summary["totals"]["read"] - 79
    sft, sft_test, pretrain, reward = summary["outputs"]
    # 6,452 SFT records: 5% of each input held out (seeded, stratified by source) for the eval: block
    assert (sft["out"], sft_test["out"], pretrain["out"], reward["out"]) == (6129, 323, 3698, 11)
    for output in summary["outputs"]:
        assert output["dropped"] == {} and output["in"] == output["out"]
    export = tmp_path / "export"
    info = json.loads((export / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"medical_sft", "medical_sft_test", "medical_reward"}
    for entry in info.values():
        assert entry["file_sha1"] == hashlib.sha1((export / entry["file_name"]).read_bytes()).hexdigest()
    lines = (export / "medical_pretrain.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == pretrain["out"] and all(line.strip() for line in lines)
    assert llamafactory.count(export, "medical_sft", "sft") == sft["out"]
    assert llamafactory.count(export, "medical_sft_test", "sft") == sft_test["out"]
    assert llamafactory.count(export, "medical_reward", "rm") == reward["out"]
    questions = [{(r["instruction"], r["input"]) for r in json.loads((export / f"{name}.json").read_text("utf-8"))}
                 for name in ("medical_sft", "medical_sft_test")]
    assert not questions[0] & questions[1]  # no held-out question is trained on
    train = yaml.safe_load((RECIPES / "seed002-medical" / "llamafactory_lora_sft.yaml").read_text(encoding="utf-8"))
    assert train["dataset"] in info and train["finetuning_type"] == "lora" and train["stage"] == "sft"
    assert train["dataset_dir"] == "runs/seed002-medical/export"
    # the recipe's train: block (a dry run) wrote the same run's LLaMA-Factory YAML on the registry it wrote
    written = yaml.safe_load((tmp_path / "train" / "llamafactory_train.yaml").read_text(encoding="utf-8"))
    assert summary["train"]["dry_run"] is True and written["dataset"] == "medical_sft"
    assert written["dataset_dir"] == str(export) and written["quantization_bit"] == 4
    assert (written["template"], written["lora_target"], written["learning_rate"]) == ("llama2", "q_proj,v_proj", 5e-5)
    # the eval: block (a dry run): the model alone, with LLaMA-Factory's adapter, and the pairwise table
    assert summary["eval"]["dry_run"] is True
    before, after, compare = summary["eval"]["commands"]
    assert (tmp_path / "eval" / "commands.sh").read_text(encoding="utf-8").splitlines() == [before, after, compare]
    assert "--split test --model meta-llama/Llama-2-7b-chat-hf --out" in before and "--adapter" not in before
    assert f"--adapter {tmp_path / 'train' / 'llamafactory'} --out {tmp_path / 'eval' / 'after'}" in after
    assert "--compare" in compare and "--pairwise --judge-model judge" in compare
    settings = yaml.safe_load((tmp_path / "eval" / "eval.yaml").read_text(encoding="utf-8"))
    assert settings["by"] == ["source"] and settings["exact_match"] == []
    assert [(j["name"], j["rubric"]) for j in settings["judge"]] == [("quality", "sft-quality")]
    # what those commands evaluate: exactly the held-out SFT questions (the pretraining texts of the test
    # split are counted as no_prompt, no reward pair is among them)
    data = load_stage(final_stage(tmp_path), "test")
    assert len(data.items) == sft_test["out"] and data.skipped["no_prompt"] == 185
    assert collections.Counter(item.record["source"] for item in data.items) == {"chatdoctor": 273,
                                                                                 "medical_sft_zh": 50}
    assert all(item.reference and item.record["kind"] == "sft" for item in data.items)


def strata(folder: Path, path: str) -> dict[str, collections.Counter[str]]:
    """{stratum: {split: records}} of the canonical files in ``folder`` (one file per split)."""
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for file in folder.glob("*.jsonl"):
        for line in file.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            value = get_path(record, path)
            key = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                    separators=(",", ":"))
            table[key][record["split"]] += 1
    return table


def assert_proportions(table: dict[str, collections.Counter[str]], ratios: dict[str, float]) -> None:
    """Every stratum is split in the ratios: each split within one record of its exact share."""
    assert table
    for stratum, counts in table.items():
        n = sum(counts.values())
        assert set(counts) <= set(ratios), stratum
        for split, ratio in ratios.items():
            assert abs(counts[split] - ratio * n) < 1, (stratum, dict(counts), ratios)


def test_seed004_ruozhiba(corpora: Path, tmp_path: Path) -> None:
    summary = run_recipe(load_recipe(RECIPES / "seed004-ruozhiba" / "recipe.yaml"), tmp_path, workers=1)
    assert summary["reconciled"] and summary["totals"]["written"] == 240
    export = tmp_path / "export"
    train = (export / "train.jsonl").read_text(encoding="utf-8").splitlines()
    test = (export / "test.jsonl").read_text(encoding="utf-8").splitlines()
    assert (len(train), len(test)) == (168, 72)  # 7:3, exact counts
    assert "\\u" not in train[0] and any("\u4e00" <= ch <= "\u9fff" for ch in train[0])
    rows = [json.loads(line) for line in train + test]
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)
    # not the first 70% of lines: the split is a seeded hash, stratified by task_type
    source = [json.loads(line)["instruction"] for line in
              (corpora / "6_evol_ruozhiba/source_ruozhiba.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [json.loads(line)["messages"][0]["content"] for line in train] != source[:168]
    table = strata(export / "canonical", "meta.task_type")
    assert sum(sum(c.values()) for c in table.values()) == 240
    assert_proportions(table, {"train": 0.7, "test": 0.3})
    report = json.loads(next(tmp_path.glob("steps/*-split/stats.json")).read_text())["report"]["strata"]
    assert {k: dict(v) for k, v in table.items()} == report  # the split's report says what the files hold
    # the train: block (a dry run) wrote an XTuner config on the 168 training rows
    assert summary["train"]["dry_run"] is True
    assert "dataset_map_fn=openai_map_fn" in (tmp_path / "train" / "xtuner_config.py").read_text(encoding="utf-8")
    assert len((tmp_path / "train" / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()) == 168
    # XTuner's openai_map_fn contract: every row maps to one (input, output) turn without raising
    for row in rows:
        turns = [m for m in row["messages"] if m["role"] in ("user", "assistant")]
        assert len(turns) == 2 and all(isinstance(m["content"], str) and m["content"].strip() for m in turns)


def test_seed004_split_keeps_the_ratio_in_every_stratum(corpora: Path, tmp_path: Path) -> None:
    """The shipped data has one task_type, so the recipe's split runs again on a field with several values:
    a category from the prompt's length (the seed recipe otherwise unchanged)."""
    folder = RECIPES / "seed004-ruozhiba"
    recipe = yaml.safe_load((folder / "recipe.yaml").read_text(encoding="utf-8"))
    split = next(i for i, s in enumerate(recipe["steps"]) if "split" in s)
    recipe["steps"].insert(split, {"classify": {"rules": [
        {"category": "short", "when": "len(prompt) < 15"}, {"category": "medium", "when": "len(prompt) < 25"}],
        "default": "long"}})
    recipe["steps"][split + 1]["split"]["stratify_by"] = "category"
    summary = run_recipe(load_recipe_data(recipe, folder), tmp_path, workers=1)
    table = strata(tmp_path / "export" / "canonical", "category")
    assert set(table) == {"short", "medium", "long"} and all(sum(c.values()) >= 20 for c in table.values())
    assert_proportions(table, {"train": 0.7, "test": 0.3})
    assert sum(sum(c.values()) for c in table.values()) == summary["totals"]["written"] == 240
