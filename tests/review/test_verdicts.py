"""The review app shows the model's verdicts with their reasoning: ``llm_label``'s label, confidence and
reasoning and ``llm_judge``'s score, issues and reasoning, as the steps wrote them (a run against the mock
LLM server, read back through the server's JSON API)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datamill.review.server import ReviewApp, start_background
from report.conftest import alpaca, run_rows
from review.test_server import request

LABELS = ["math", "poem", "code"]


def reply(body: dict[str, Any]) -> str:
    """llm_label's and llm_judge's answers, told apart by their prompts; the reasoning names the question."""
    prompt = body["messages"][0]["content"]
    number = int(re.search(r"question (\d+)", prompt).group(1))  # type: ignore[union-attr]
    if '{"label"' in prompt:
        return json.dumps({"label": LABELS[number % 3], "confidence": 0.5 + number / 100,
                           "reasoning": f"label reasoning for question {number}"})
    issues = [{"category": "clarity", "severity": "minor", "span": f"answer {number}"}] if number % 2 else []
    return json.dumps({"score": 90, "issues": issues, "reasoning": f"judge reasoning for question {number}"})


@pytest.fixture
def judged_run(tmp_path: Path) -> Iterator[Path]:
    from datamill.llm.mockserver import MockServer, MockState

    server = MockServer(MockState(rpm=None, latency=(0.0, 0.0), error_rate=0.0, reply=reply)).start()
    try:
        llm = {"base_url": server.url, "model": "mock"}
        run_rows(tmp_path, alpaca(6), [{"llm_label": {"labels": LABELS, "llm": llm}}, {"llm_judge": {"llm": llm}}])
    finally:
        server.stop()
    yield tmp_path / "run"


def test_label_and_judge_reasoning_are_served(judged_run: Path) -> None:
    running = start_background(ReviewApp(judged_run))
    try:
        url, token = running.url, running.server.token
        ids = json.loads(request(url, "/api/items", token=token)[1])["ids"]
        assert len(ids) == 6
        seen = set()
        for record_id in ids:
            status, body = request(url, f"/api/item?id={record_id}", token=token)
            assert status == 200
            item = json.loads(body)
            number = int(re.search(r"question (\d+)", item["prompt"]).group(1))  # type: ignore[union-attr]
            seen.add(number)
            verdicts = {v["field"]: v for v in item["verdicts"]}
            assert set(verdicts) == {"meta.llm_label", "meta.judge"}
            label = verdicts["meta.llm_label"]
            assert (label["label"], label["confidence"], label["reasoning"]) == \
                (LABELS[number % 3], 0.5 + number / 100, f"label reasoning for question {number}")
            assert item["label"] == LABELS[number % 3]
            judge = verdicts["meta.judge"]
            assert judge["reasoning"] == f"judge reasoning for question {number}"
            assert [(i["category"], i["span"]) for i in judge["issues"]] == \
                ([("clarity", f"answer {number}")] if number % 2 else [])
            # the score the step recomputed from the issues (a minor issue costs 1), next to the model's own
            assert (judge["score"], judge["model_score"]) == (99 if number % 2 else 100, 90)
        assert seen == set(range(6))
        # the page puts each verdict's label, confidence, score, issues and reasoning on screen (as text)
        page = request(url, f"/?token={token}", token=None)[1].decode()
        box = page[page.index("function verdictBox"):page.index("async function show")]
        for shown in ("v.label", "v.confidence", "v.score", "issue.category", "v.reasoning"):
            assert shown in box, shown
    finally:
        running.stop()
