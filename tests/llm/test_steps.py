from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data
from datamill.steps.llm.translation_rules import ALL_CHECKS, check_translation

ROWS = [{"instruction": f"question number {i}", "output": f"answer {i}"} for i in range(12)]


def write_input(tmp_path: Path, rows: list[dict[str, Any]] = ROWS) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def judge_reply(body: dict[str, Any]) -> str:
    prompt = body["messages"][0]["content"]
    if "number 3\n" in prompt and len(body["messages"]) == 1:
        return "I think it is fine"  # malformed first answer: re-asked
    if "number 5\n" in prompt:
        return "never JSON"  # malformed every time: dropped with the raw text
    issues = [{"category": "correctness", "severity": "major", "span": "answer 1"}] if "number 1\n" in prompt else []
    return "```json\n" + json.dumps({"score": 100, "issues": issues, "reasoning": "it answers the question"}) + "\n```"


def run(tmp_path: Path, data: Path, steps: list[dict[str, Any]], llm: dict[str, Any]) -> dict[str, Any]:
    recipe = {"name": "t", "inputs": [{"path": str(data)}], "llm": llm, "steps": steps,
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    return run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=2)


def exported(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (tmp_path / "run" / "export" / "data.jsonl").read_text().splitlines()]


def test_judge_recomputes_score_reasks_and_drops(tmp_path: Path, mock_server: Any) -> None:
    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=judge_reply)
    summary = run(tmp_path, write_input(tmp_path), [{"llm_judge": {"rubric": "sft-quality"}}],
                  {"base_url": server.url, "model": "mock", "rpm": 6000})
    assert summary["reconciled"]
    assert summary["totals"]["dropped"] == {"llm_invalid_output": 1}
    by_prompt = {r["messages"][0]["content"]: r for r in exported(tmp_path)}
    assert by_prompt["question number 1"]["scores"]["judge"] == 95.0  # 100 - major(5), not the model's 100
    assert by_prompt["question number 1"]["meta"]["judge"]["model_score"] == 100
    assert by_prompt["question number 3"]["scores"]["judge"] == 100.0  # repaired after one re-ask
    dropped = (tmp_path / "run" / "steps" / "01-llm_judge" / "dropped").glob("*.jsonl")
    entries = [json.loads(x) for f in dropped for x in f.read_text().splitlines()]
    assert entries[0]["detail"]["raw"] == "never JSON"
    assert (tmp_path / "run" / "cache" / "llm.sqlite").exists()
    paid = server.state.stats()["paid"]
    # a parser/threshold change re-runs the step from the cache: no new calls
    run(tmp_path, write_input(tmp_path), [{"llm_judge": {"rubric": "sft-quality", "drop_below": 96}}],
        {"base_url": server.url, "model": "mock", "rpm": 6000})
    assert server.state.stats()["paid"] == paid


def test_label_with_confidence_and_review_tag(tmp_path: Path, mock_server: Any) -> None:
    def reply(body: dict[str, Any]) -> str:
        low = "number 2\n" in body["messages"][0]["content"]
        return json.dumps({"label": "math" if low else "chat", "confidence": 0.5 if low else 0.95})

    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=reply)
    summary = run(tmp_path, write_input(tmp_path), [{"llm_label": {"labels": ["math", "chat"]}}],
                  {"base_url": server.url, "model": "mock"})
    assert summary["reconciled"] and summary["totals"]["written"] == 12
    rows = {r["messages"][0]["content"]: r for r in exported(tmp_path)}
    assert rows["question number 2"]["category"] == "math"
    assert rows["question number 2"]["tags"] == ["needs_review"]
    assert "tags" not in rows["question number 4"] or "needs_review" not in rows["question number 4"]["tags"]


def test_generate_fills_small_categories_to_target(tmp_path: Path, mock_server: Any) -> None:
    counter = {"n": 0}

    def reply(body: dict[str, Any]) -> str:
        counter["n"] += 1
        if counter["n"] % 4 == 0:  # a near-duplicate of a real item: rejected
            return json.dumps({"prompt": "spelling item 0", "answer": "fixed 0"})
        words = hashlib.sha256(str(counter["n"]).encode()).hexdigest()
        return json.dumps({"prompt": words[:32], "answer": words[32:]})

    rows = [{"instruction": f"spelling item {i}", "output": f"fixed {i}", "category": "spelling"} for i in range(3)]
    rows += [{"instruction": f"grammar item {i}", "output": f"g {i}", "category": "grammar"} for i in range(6)]
    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=reply)
    recipe = {"name": "t", "inputs": [{"path": str(write_input(tmp_path, rows))}],
              "llm": {"base_url": server.url, "model": "mock", "temperature": 0.8},
              "steps": [{"llm_generate": {"target_count": 6, "category_field": "meta.category", "similarity": 0.5}}],
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=2)
    assert summary["reconciled"], summary["totals"]
    assert summary["totals"]["generated"] == 3
    out = [json.loads(x) for x in (tmp_path / "run" / "export" / "data.jsonl").read_text().splitlines()]
    synthetic = [r for r in out if "synthetic" in (r.get("tags") or [])]
    assert len(synthetic) == 3 and {r["meta"]["category"] for r in synthetic} == {"spelling"}
    report = json.loads((tmp_path / "run" / "steps" / "01-llm_generate" / "stats.json").read_text())["report"]
    assert report["categories"]["spelling"]["generated"] == 3
    assert report["categories"]["grammar"]["generated"] == 0


def test_translation_rules_issues_in_judge_shape() -> None:
    issues = check_translation("价格是1,000元，见{name}。", "The price is 100 yuan，see.", ALL_CHECKS)
    rules = sorted(i["rule"] for i in issues)
    assert rules == ["cjk_punctuation", "number_added", "number_missing", "placeholder_missing"]
    assert all(set(i) >= {"category", "severity", "span"} for i in issues)
    assert check_translation("价格是1,000元", "The price is 1,000 yuan") == []
    glossary = check_translation("使用机器学习", "use AI", glossary={"机器学习": "machine learning"})
    assert glossary[0]["category"] == "terminology"


def test_plan_command(tmp_path: Path) -> None:
    from datamill.cli import app

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""name: p
inputs: [{{path: {write_input(tmp_path)}}}]
llm: {{model: m, rpm: 6}}
steps:
  - llm_judge: {{rubric: sft-quality}}
  - llm_label: {{labels: [a, b], llm: {{rpm: 12}}}}
""")
    result = CliRunner().invoke(app, ["plan", str(recipe)])
    assert result.exit_code == 0, result.output
    assert "12 input records" in result.output
    assert "| 01-llm_judge | openai | m | 12 | 2.0 min |" in result.output  # 12 calls at 6 rpm
    assert "| 02-llm_label | openai | m | <=12 | 1.0 min |" in result.output  # after a step that may drop


def test_a_run_closes_its_llm_cache(tmp_path: Path, mock_server: Any) -> None:
    """The LLM step runs in this process (one rate limiter); when the run ends its SQLite cache of paid calls is
    closed with the step (no open file left behind for the next run in the process)."""
    import os

    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0,
                         reply=lambda body: json.dumps({"label": "chat", "confidence": 0.9}))
    summary = run(tmp_path, write_input(tmp_path), [{"llm_label": {"labels": ["math", "chat"]}}],
                  {"base_url": server.url, "model": "mock"})
    assert summary["reconciled"]
    caches = list((tmp_path / "run").rglob("*.sqlite"))
    assert caches, "the run wrote no LLM cache"
    fds = Path(f"/proc/{os.getpid()}/fd")
    open_files = {os.path.realpath(fd) for fd in fds.iterdir() if fd.is_symlink()} if fds.is_dir() else set()
    assert not {str(c.resolve()) for c in caches} & open_files
