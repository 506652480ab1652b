"""Seed 004's human-verification loop end to end: a real model (SmolLM2 on llama.cpp) labels 弱智吧 answers,
a person verifies and corrects them in the review app (a real browser), and the next run applies the
decisions without asking the model again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe
from datamill.report.build import build_report
from datamill.review.server import ReviewApp, start_background
from fixtures.browser import offline_page
from llm.conftest import llama_server  # noqa: F401 - a fixture
from report.conftest import ROOT

RECIPE = ROOT / "recipes" / "seed004-ruozhiba" / "label-review.yaml"
N = 5


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def calls(run: Path) -> int:
    with sqlite3.connect(run / "cache" / "llm.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])


def test_label_review_apply_loop(browser: Any, corpora: Path, llama_server: str,  # noqa: F811
                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEED004_LLM_URL", llama_server)
    monkeypatch.setenv("SEED004_MODEL", "smollm2")
    monkeypatch.setenv("SEED004_LIMIT", str(N))
    monkeypatch.setenv("SEED004_ANSWER_CHARS", "60")
    overrides = [f"inputs[0].path={corpora / '6_evol_ruozhiba' / 'source_ruozhiba.jsonl'}", "llm.concurrency=1"]
    run = tmp_path / "run"
    first = run_recipe(load_recipe(RECIPE, overrides=overrides), run, workers=1)
    label_stage = next(s for s in first["steps"] if s.get("step") == "llm_label")
    assert label_stage["out"] == N and label_stage["notes"]["llm_paid"] == N
    assert first["totals"]["written"] == N
    paid = calls(run)

    server = start_background(ReviewApp(run))
    assert server.server.app.stage.name == label_stage["name"]  # the stage review_apply reads
    page, blocked = offline_page(browser, server.url.split("/?")[0])
    page.goto(server.url)
    page.wait_for_selector('#view[data-id="ruozhiba:0"]')
    verdict = page.locator("#view .verdict").first.inner_text()
    assert "meta.llm_label" in verdict and "confidence" in verdict  # the model's label and reasoning
    assert page.locator("#f-label option").count() >= 2
    page.fill("#reviewer", "老师")
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # ruozhiba:0 accepted as labelled
    page.keyboard.press("r")  # ruozhiba:1 rejected
    page.wait_for_selector('#view[data-id="ruozhiba:2"]')
    page.keyboard.press("e")  # ruozhiba:2: correct the label and the answer
    page.wait_for_selector("#edit-answer:focus")
    page.fill("#edit-answer", "人工修正的回答：这是一个逻辑陷阱。")
    page.fill("#edit-label", "needs_fix")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector('#view[data-id="ruozhiba:3"]')
    assert page.locator("#progress").get_attribute("data-reviewed") == "3" and blocked == []
    page.close()
    server.stop()

    second = run_recipe(load_recipe(RECIPE, overrides=overrides), run, workers=1)
    assert f"{label_stage['name']}: unchanged, skipped (resume)" in second["log"]
    assert calls(run) == paid  # no label was asked again
    assert second["totals"]["dropped"] == {"human_rejected": 1} and second["totals"]["written"] == N - 1
    canonical = {r["id"]: r for p in (run / "export" / "canonical").glob("*.jsonl") for r in lines(p)}
    assert set(canonical) == {f"ruozhiba:{i}" for i in range(N)} - {"ruozhiba:1"}
    fixed = canonical["ruozhiba:2"]
    assert fixed["messages"][-1]["content"] == "人工修正的回答：这是一个逻辑陷阱。"
    assert fixed["category"] == "needs_fix" and fixed["meta"]["llm_label"]["label"] in ("good", "needs_fix", "bad")
    assert fixed["meta"]["review"]["reviewer"] == "老师" and "answer" in fixed["meta"]["review"]["original"]
    assert canonical["ruozhiba:0"]["meta"]["review"]["decision"] == "accept"
    xtuner = [r for p in (run / "export").glob("*.jsonl") for r in lines(p)]
    assert len(xtuner) == N - 1
    assert "人工修正的回答：这是一个逻辑陷阱。" in {r["messages"][-1]["content"] for r in xtuner}

    model = json.loads(build_report(run).json.read_text(encoding="utf-8"))
    assert model["llm"][0]["verdicts"]["n"] == N and model["review"]["records"] == 3
