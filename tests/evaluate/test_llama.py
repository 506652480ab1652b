"""Against a real server: SmolLM2-135M on llama.cpp (started by the tests) answers the test questions through
the endpoint path and judges before vs after pairwise. Its opinions are not the point; the plumbing is:
answers and verdicts cached, an interrupted judge resumes with only the missing calls, a re-run asks nothing,
both orders asked for every pair, the table written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from datamill.cli import app
from datamill.evaluate.compare import compare
from datamill.evaluate.spec import Compare, Pairwise
from datamill.llm.cache import LLMCache
from datamill.llm.config import Budget, LLMConfig

QA = [("What is 2 + 3?", "5"), ("What is 10 - 4?", "6"), ("What is 3 * 3?", "9"), ("Capital of France?", "Paris")]


def _data(tmp_path: Path) -> Path:
    rows = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
             "topic": "math" if i < 3 else "geo"} for i, (q, a) in enumerate(QA)]
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _eval(tmp_path: Path, url: str, out: str, *extra: str) -> dict:  # type: ignore[type-arg]
    args = ["eval", "--base-url", url, "--model", "smollm2", "--data", str(_data(tmp_path)), "--out",
            str(tmp_path / out), "--extract", "last_number", "--by", "topic", "--max-new-tokens", "24", "--quiet",
            *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads((tmp_path / out / "eval.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_endpoint_eval_and_pairwise_judge(tmp_path: Path, llama_server: str) -> None:
    before = _eval(tmp_path, llama_server, "before")
    assert before["n"] == 4 and before["answers"]["new"] == 4 and before["answers"]["errors"] == {}
    assert before["endpoint"] == llama_server and set(before["by_category"]["topic"]) == {"math", "geo"}
    assert before["scored"]["exact_match"] == 3 and before["unscored"]["exact_match"] == {"no_reference": 1}
    assert _eval(tmp_path, llama_server, "before")["answers"]["new"] == 0   # all from the cache
    after = _eval(tmp_path, llama_server, "after", "--system", "Answer with one word.")
    assert after["answers"]["new"] == 4

    # an interrupted judge (stopped by a budget of 2 calls), then the full comparison: only the rest is asked
    judge = LLMConfig(model="smollm2", base_url=llama_server, max_tokens=384, budget=Budget(max_calls=2))
    partial = compare(tmp_path / "before", tmp_path / "after", tmp_path / "cmp", Compare(pairwise=Pairwise(llm=judge)))
    assert partial["pairwise"]["calls"]["new"] == 2 and partial["pairwise"]["outcomes"].get("judge_failed", 0) >= 1
    cmp = ["eval", "--compare", str(tmp_path / "before"), str(tmp_path / "after"), "--out", str(tmp_path / "cmp"),
           "--pairwise", "--judge-base-url", llama_server, "--judge-model", "smollm2", "--quiet"]
    result = CliRunner().invoke(app, cmp)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "cmp" / "compare.json").read_text(encoding="utf-8"))
    resumed = report["pairwise"]["calls"]
    assert resumed["cached"] >= 2 and LLMCache(tmp_path / "cmp" / "cache" / "llm.sqlite").count() == 2 + resumed["new"]
    rows = [json.loads(x) for x in (tmp_path / "cmp" / "pairwise.jsonl").read_text(encoding="utf-8").splitlines()]
    judged = [r for r in rows if r["outcome"] not in ("same",)]
    assert judged, "the two prompts should give at least one different answer"
    for r in judged:  # both orders asked, each verdict one of the allowed values (schema-constrained)
        assert r["ab"]["winner"] in ("A", "B", "tie") and r["ba"]["winner"] in ("A", "B", "tie")
        assert r["score"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    calls = report["pairwise"]["calls"]
    assert calls["asked"] == 2 * len(judged) and calls["new"] + calls["cached"] >= calls["asked"]
    assert report["metrics"]["pairwise"]["n"] == len(rows)
    md = (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert "## Pairwise judge" in md and "| question | before | after | reference | judge |" in md
    cached = LLMCache(tmp_path / "cmp" / "cache" / "llm.sqlite").count()
    result = CliRunner().invoke(app, cmp)                                   # again: every verdict from the cache
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "cmp" / "compare.json").read_text(encoding="utf-8"))
    assert again["pairwise"]["calls"]["new"] == 0                        # (cached counts re-asks too)
    assert again["pairwise"]["calls"]["cached"] >= calls["asked"]
    assert LLMCache(tmp_path / "cmp" / "cache" / "llm.sqlite").count() == cached
    assert again["metrics"] == report["metrics"]
