"""``datamill plan --workdir``: a resumed run's plan counts only the calls its cache has not answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

ROWS = [{"instruction": f"question number {i}", "output": f"answer {i}"} for i in range(12)]
#: valid for both the label and the judge schema, so nothing is re-asked
REPLY = json.dumps({"label": "chat", "confidence": 0.9, "score": 100, "issues": [], "reasoning": "ok"})


def plan_rows(recipe: Path, workdir: Path | None) -> dict[str, list[str]]:
    from datamill.cli import app

    args = ["plan", str(recipe)] + (["--workdir", str(workdir)] if workdir else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [line.split(" | ") for line in result.output.splitlines() if line.startswith("| 0")]
    # step -> provider, model, calls, time, worst, rpm, concurrency, latency, cached, note
    return {r[0].lstrip("| "): r[1:] for r in rows}


def test_plan_subtracts_cached_calls_of_a_resumed_run(tmp_path: Path, mock_server: Any) -> None:
    server = mock_server(rpm=None, latency=(0.0, 0.01), error_rate=0.0, reply=lambda body: REPLY)
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    recipe: dict[str, Any] = {
        "name": "p", "inputs": [{"path": str(data)}], "llm": {"base_url": server.url, "model": "mock", "rpm": 600},
        "steps": [{"llm_label": {"labels": ["chat", "math"], "llm": {"budget": {"max_calls": 5}}}},
                  {"llm_judge": {"rubric": "sft-quality"}}],
        "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    work = tmp_path / "run"

    fresh = plan_rows(path, None)
    assert fresh["01-llm_label"][2] == "12" and fresh["01-llm_label"][8] == "-"
    assert fresh["02-llm_judge"][2] == "<=12"  # the label step may drop records

    summary = run_recipe(load_recipe(path), work, workers=1)
    assert summary["totals"]["dropped"] == {"llm_budget": 7}
    again = plan_rows(path, work)  # the same recipe: every stage is done, a resume calls nothing
    assert again["01-llm_label"][2] == "0" and again["02-llm_judge"][2] == "0"

    del recipe["steps"][0]["llm_label"]["llm"]  # raise the budget: the label step runs again
    path.write_text(yaml.safe_dump(recipe))
    resume = plan_rows(path, work)
    assert resume["01-llm_label"][2] == "7" and resume["01-llm_label"][8] == "5"
    assert "5 of 12 requests answered" in resume["01-llm_label"][9]
    assert resume["02-llm_judge"][2] == "<=12" and "cache not checked" in resume["02-llm_judge"][9]

    paid = server.state.stats()["paid"]
    run_recipe(load_recipe(path), work, workers=1)
    # the label step paid exactly the planned 7; the judge answered the 7 new records (5 were cached)
    assert server.state.stats()["paid"] - paid == 7 + 7
    done = plan_rows(path, work)
    assert done["01-llm_label"][2] == "0" and done["02-llm_judge"][2] == "0"
