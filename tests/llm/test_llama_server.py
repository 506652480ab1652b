"""A real model (SmolLM2-135M via llama.cpp server): plumbing, schema-constrained output and resume.
Its answers are poor; the tests check shapes, counts and that a re-run makes no new calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data


def test_label_and_judge_against_llama_cpp(tmp_path: Path, llama_server: str) -> None:
    rows = [{"instruction": q, "output": a} for q, a in [("What is 2+2?", "4"), ("Capital of France?", "Paris"),
                                                        ("Say hi", "hi"), ("Color of the sky?", "blue")]]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe: dict[str, Any] = {
        "name": "llama", "inputs": [{"path": str(data)}],
        "llm": {"base_url": llama_server, "model": "smollm2", "max_tokens": 96, "concurrency": 1,
                "response_format": "json_object_schema"},
        "steps": [{"llm_label": {"labels": ["math", "geography", "chat"]}},
                  {"llm_judge": {"rubric": "sft-quality"}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert summary["reconciled"]
    out = [json.loads(x) for x in (tmp_path / "run" / "export" / "data.jsonl").read_text().splitlines()]
    for r in out:  # the grammar-constrained answers follow the schema
        assert r["category"] in ("math", "geography", "chat")
        assert 0 <= r["scores"]["judge"] <= 100
    from datamill.llm.cache import LLMCache

    cached = LLMCache(tmp_path / "run" / "cache" / "llm.sqlite").count()
    assert cached >= 2 * len(out)
    recipe["steps"][1]["llm_judge"]["drop_below"] = 0  # changes the step, not the prompts: all from the cache
    run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert LLMCache(tmp_path / "run" / "cache" / "llm.sqlite").count() == cached
