"""The endpoint path and the pairwise judge against a scripted OpenAI-compatible server (the LLM layer's
mock): answers and verdicts are cached, a stopped evaluation resumes with only the missing calls, and the
position swap turns a judge's position bias into ties. (The real-server proofs are in test_llama.py.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from datamill.evaluate.data import load_data
from datamill.evaluate.pairwise import judge_pairs
from datamill.evaluate.run import run_eval
from datamill.evaluate.spec import EvalSpec
from datamill.llm.config import Budget, LLMConfig
from datamill.llm.mockserver import MockServer


def _data(tmp_path: Path, n: int = 8) -> str:
    rows = [{"instruction": f"{i} + {i} = ?", "output": f"The answer is {2 * i}.", "category": "even" if i % 2 == 0
             else "odd"} for i in range(n)]
    path = tmp_path / "test.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return str(path)


def _adder(body: dict[str, Any]) -> str:
    """Answers `i + i = ?` right for even i, wrong for odd i."""
    i = int(re.match(r"(\d+)", body["messages"][-1]["content"])[1])  # type: ignore[index]
    return f"It is {2 * i if i % 2 == 0 else 2 * i + 1}"


def _spec(url: str, data: str, **budget: int) -> EvalSpec:
    return EvalSpec.model_validate({
        "endpoint": {"model": "mock", "base_url": url, "concurrency": 2, "max_retries": 0, "budget": budget},
        "data": data, "by": ["category"], "exact_match": {"extract": "last_number"}})


def test_endpoint_eval_and_resume(tmp_path: Path, mock_server: Callable[..., MockServer]) -> None:
    server = mock_server(rpm=None, latency=(0.0, 0.0), error_rate=0.0, reply=_adder)
    data = _data(tmp_path)
    first = run_eval(_spec(server.url, data, max_calls=3), tmp_path / "out")  # stopped after 3 paid calls
    assert first["answers"]["new"] == 8 and first["answers"]["errors"] == {"budget": 5}
    assert first["scored"]["exact_match"] == 3 and first["unscored"]["exact_match"] == {"no_answer": 5}
    again = run_eval(_spec(server.url, data), tmp_path / "out")
    assert (again["answers"]["cached"], again["answers"]["new"], again["answers"]["errors"]) == (3, 5, {})
    assert server.state.stats()["paid"] == 8 and server.state.stats()["duplicates"] == 0  # nothing asked twice
    assert again["metrics"]["exact_match"] == 0.5
    assert again["by_category"]["category"]["even"] == {"n": 4, "metrics": {"exact_match": 1.0}}
    assert again["by_category"]["category"]["odd"] == {"n": 4, "metrics": {"exact_match": 0.0}}
    rows = [json.loads(x) for x in (tmp_path / "out" / "answers.jsonl").read_text().splitlines()]
    assert rows[1]["answer"] == "It is 3" and rows[1]["details"]["exact_match"] == {"answer": "3", "reference": "2"}
    assert rows[1]["finish_reason"] == "stop"
    third = run_eval(_spec(server.url, data), tmp_path / "out")
    assert third["answers"]["new"] == 0 and server.state.stats()["paid"] == 8
    # another server is another model: nothing is reused from the cache
    other = mock_server(rpm=None, latency=(0.0, 0.0), error_rate=0.0, reply=_adder)
    assert run_eval(_spec(other.url, data), tmp_path / "out")["answers"]["new"] == 8


def _verdict(rule: Callable[[str, str], str]) -> Callable[[dict[str, Any]], str]:
    def reply(body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        a = text.split("ANSWER A:\n", 1)[1].split("\n\nANSWER B:", 1)[0]
        b = text.split("ANSWER B:\n", 1)[1].split("\n\nAnswer with only", 1)[0]
        return json.dumps({"winner": rule(a, b), "reason": "mock"})

    return reply


QUESTIONS = [[{"role": "user", "content": f"q{i}"}] for i in range(4)]
BEFORE = ["bad 0", "bad 1", "same", "bad 3"]
AFTER = ["GOOD 0", "GOOD 1", "same", "GOOD 3"]


def test_pairwise_swap_cancels_position_bias(tmp_path: Path, mock_server: Callable[..., MockServer]) -> None:
    server = mock_server(rpm=None, latency=(0.0, 0.0), error_rate=0.0, reply=_verdict(lambda a, b: "A"))
    llm = LLMConfig(model="judge", base_url=server.url, max_retries=0)
    result = judge_pairs(QUESTIONS, [None] * 4, BEFORE, AFTER, llm, tmp_path)
    assert result.scores == [0.5, 0.5, 0.5, 0.5]        # always "A": a tie in every item, not a win
    assert result.outcomes == {"tie": 3, "same": 1}
    assert result.summary()["first_position_share"] == 1.0
    assert server.state.stats()["paid"] == 6               # 3 items x 2 orders; identical answers not sent
    assert result.details[0]["ab"]["winner"] == "A" and result.details[0]["ba"]["winner"] == "A"


def test_pairwise_preference_cached_and_resumed(tmp_path: Path, mock_server: Callable[..., MockServer]) -> None:
    server = mock_server(rpm=None, latency=(0.0, 0.0), error_rate=0.0,
                         reply=_verdict(lambda a, b: "A" if "GOOD" in a else "B" if "GOOD" in b else "tie"))
    llm = LLMConfig(model="judge", base_url=server.url, max_retries=0, concurrency=1)
    partial = judge_pairs(QUESTIONS, [None] * 4, BEFORE, AFTER, llm.model_copy(update={"budget": Budget(max_calls=3)}),
                          tmp_path)
    assert partial.outcomes["judge_failed"] >= 1 and server.state.stats()["paid"] == 3
    full = judge_pairs(QUESTIONS, [None] * 4, BEFORE, AFTER, llm, tmp_path)
    assert full.scores == [1.0, 1.0, 0.5, 1.0] and full.outcomes == {"after": 3, "same": 1}
    assert full.summary()["first_position_share"] == 0.5   # after was first in one order, second in the other
    assert server.state.stats()["paid"] == 6 and server.state.stats()["duplicates"] == 0
    judge_pairs(QUESTIONS, [None] * 4, BEFORE, AFTER, llm, tmp_path)
    assert server.state.stats()["paid"] == 6               # all from the cache


def test_eval_data_ids_round_trip(tmp_path: Path) -> None:
    data = load_data(_data(tmp_path, 3))
    assert [i.id for i in data.items] == ["1", "2", "3"] and data.items[0].category("category") == ["even"]


def test_rubric_judge_metric_scores_every_answer(tmp_path: Path, mock_server: Callable[..., MockServer]) -> None:
    def reply(body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        if "You review examples for fine-tuning" in text:  # the sft-quality rubric: one major issue if wrong
            wrong = "It is 3" in text or "It is 7" in text
            issues = [{"category": "correctness", "severity": "major", "span": "It is"}] if wrong else []
            return json.dumps({"score": 99, "issues": issues, "reasoning": "mock"})
        return _adder(body)

    server = mock_server(rpm=None, latency=(0.0, 0.0), error_rate=0.0, reply=reply)
    spec = EvalSpec.model_validate({
        "endpoint": {"model": "mock", "base_url": server.url, "max_retries": 0}, "data": _data(tmp_path, 4),
        "judge": {"rubric": "sft-quality", "llm": {"model": "judge", "base_url": server.url, "max_retries": 0}}})
    report = run_eval(spec, tmp_path / "out")
    rows = [json.loads(x) for x in (tmp_path / "out" / "answers.jsonl").read_text().splitlines()]
    # items 1 and 3 are answered wrong ("It is 3", "It is 7"): one major issue = 100 - 5, not the model's 99
    assert [r["scores"]["judge"] for r in rows] == [100.0, 95.0, 100.0, 95.0]
    assert report["metrics"]["judge"] == 97.5 and rows[1]["details"]["judge"]["issues"][0]["severity"] == "major"
    assert server.state.stats()["paid"] == 8
    run_eval(spec, tmp_path / "out")
    assert server.state.stats()["paid"] == 8          # answers and verdicts from the cache
