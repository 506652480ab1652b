"""The seed 001 recipe runs end to end on the real corpora (inputs limited to keep it fast)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "seed001-consolidate" / "recipe.yaml"


def test_seed001_consolidate(corpora: Path, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("faiss")
    overrides = [f"inputs[{i}].limit=20" for i in range(8)]
    summary = run_recipe(load_recipe(RECIPE, overrides=overrides), tmp_path / "run", workers=1)
    assert summary["reconciled"] is True
    assert summary["totals"]["read"] == 160
    steps = {s["name"]: s for s in summary["steps"]}
    prompt = steps["02-semantic-prompt"]["report"]
    assert prompt["languages"]["zh"]["status"] == "skipped"  # the guard: MiniLM must not collapse Chinese
    assert prompt["languages"]["other"]["status"] == "embedded"
    export = tmp_path / "run" / "export"
    assert {p.name for p in export.glob("*.jsonl")} == {"sft.jsonl", "chat.jsonl", "cot.jsonl", "preference.jsonl"}
    prefs = [json.loads(line) for line in (export / "preference.jsonl").read_text(encoding="utf-8").splitlines()]
    assert prefs and all(r["chosen"] and r["id"].startswith(("dpo_zh:", "ultrafeedback_en:")) for r in prefs)
    zh_before = steps["01-dedup_exact"]["report"]["by_source"]
    with open(tmp_path / "run/steps/02-semantic-prompt/summary.csv", encoding="utf-8") as fh:
        table = {row["source"]: row for row in csv.DictReader(fh)}
    assert table["alpaca_zh"]["removed_duplicate_semantic"] == "0"
    assert int(table["TOTAL"]["before"]) == steps["01-dedup_exact"]["out"]
    assert zh_before and (tmp_path / "run/steps/02-semantic-prompt/clusters.json").exists()
    assert list((tmp_path / "run/cache/embeddings").glob("*.sqlite"))
    # the last dedup step's summary_all.csv covers the whole run: before -> removed by each dedup -> after
    with open(tmp_path / "run/steps/03-semantic-prompt-answer/summary_all.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["source", "before", "removed_by_01-dedup_exact", "removed_by_02-semantic-prompt",
                             "removed_by_03-semantic-prompt-answer", "removed_by_other_steps", "after"]
    total = rows[-1]
    assert total["source"] == "TOTAL" and int(total["before"]) == 160
    assert int(total["after"]) == steps["03-semantic-prompt-answer"]["out"]
    for row in rows:
        removed = sum(int(v) for k, v in row.items() if k.startswith("removed_by_"))
        assert int(row["before"]) - removed == int(row["after"])
    assert int(total["removed_by_01-dedup_exact"]) == sum(steps["01-dedup_exact"]["dropped"].values())
