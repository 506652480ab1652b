"""A real model (SmolLM2-135M via llama.cpp server): plumbing, schema-constrained output, the judge's
evidence checks and resume. Its answers are poor; the tests check shapes, counts, that nothing is sent
for an empty answer, that no kept issue quotes words the answer does not hold, and that a re-run makes
no new calls."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.steps.llm.evidence import has_reasoning, span_occurs
from datamill.steps.llm.scoring import MQM_WEIGHTS

QA = [("What is 2+2?", "4"), ("Capital of France?", "Paris is the capital of France."), ("Say hi", "hi"),
      ("Color of the sky?", "The sky is green.")]
EMPTY = "Name a fruit."  # answered with nothing: must never reach the model


def cached_calls(path: Path) -> list[str]:
    """Every cached request's messages, joined."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT request FROM calls").fetchall()
    return ["\n".join(m["content"] for m in json.loads(request)["messages"]) for (request,) in rows]


def test_label_and_judge_against_llama_cpp(tmp_path: Path, llama_server: str) -> None:
    rows = [{"instruction": q, "output": a} for q, a in [*QA, (EMPTY, "")]]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe: dict[str, Any] = {
        "name": "llama", "inputs": [{"path": str(data)}],
        "llm": {"base_url": llama_server, "model": "smollm2", "max_tokens": 96, "concurrency": 1,
                "response_format": "json_object_schema"},
        "steps": [{"llm_label": {"labels": ["math", "geography", "chat"]}},
                  {"llm_judge": {"rubric": "sft-quality", "max_parse_retries": 1}}],
        "max_loss": 1,
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert summary["reconciled"]
    label, judge = summary["steps"][1], summary["steps"][2]
    assert label["in"] == label["out"] == 5  # the grammar-constrained labels all parse
    assert judge["in"] == 5
    dropped = judge.get("dropped", {})
    assert dropped["judge_empty_answer"] == 1  # the empty answer, before any call
    assert set(dropped) <= {"judge_empty_answer", "llm_invalid_output"}
    out = [json.loads(x) for x in (tmp_path / "run" / "export" / "data.jsonl").read_text().splitlines()]
    assert len(out) == judge["out"] == 4 - dropped.get("llm_invalid_output", 0) >= 1
    assert EMPTY not in {r["messages"][0]["content"] for r in out}
    discarded = 0
    for r in out:
        assert r["category"] in ("math", "geography", "chat")
        verdict, answer = r["meta"]["judge"], r["messages"][1]["content"]
        assert verdict["issues"] or has_reasoning(verdict["reasoning"])  # silence is not a perfect score
        assert all(span_occurs(i["span"], [answer]) for i in verdict["issues"])
        assert r["scores"]["judge"] == max(0.0, 100 - sum(MQM_WEIGHTS[i["severity"]] for i in verdict["issues"]))
        discarded += len(verdict.get("discarded", []))
    assert judge.get("notes", {}).get("judge_issues_discarded", 0) == discarded

    cache_path = tmp_path / "run" / "cache" / "llm.sqlite"
    calls = cached_calls(cache_path)
    assert len(calls) >= 2 * len(QA) + 1  # label and judge calls for every non-empty answer
    assert sum(EMPTY in c for c in calls) == 1  # the label step asked about it; the judge never did
    cached = len(calls)
    recipe["steps"][1]["llm_judge"]["drop_below"] = 0  # changes the step, not the prompts: all from the cache
    run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert len(cached_calls(cache_path)) == cached
