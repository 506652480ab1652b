"""``datamill plan``: limits before an LLM step, llm_generate's calls, latency and concurrency, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe

ROWS = [{"instruction": f"question number {i}", "output": f"answer {i}"} for i in range(12)]


def write(tmp_path: Path, recipe: dict[str, Any], rows: list[dict[str, Any]] = ROWS) -> Path:
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = {"name": "p", "inputs": [{"path": str(data)}],
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}], **recipe}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def plan(*args: str) -> tuple[int, str, dict[str, list[str]]]:
    from datamill.cli import app

    result = CliRunner().invoke(app, ["plan", *args])
    rows = [line.split(" | ") for line in result.output.splitlines() if line.startswith("| 0")]
    # step -> provider, model, calls, time, worst, rpm, concurrency, latency, cached, note
    return result.exit_code, result.output, {r[0].lstrip("| "): r[1:] for r in rows}


def test_limit_and_sample_before_an_llm_step_bound_the_calls(tmp_path: Path) -> None:
    path = write(tmp_path, {"llm": {"model": "m", "rpm": 60},
                            "steps": [{"limit": {"n": 5}}, {"llm_judge": {}}, {"sample": {"fraction": 0.4}},
                                      {"llm_label": {"labels": ["a", "b"]}}]})
    code, output, rows = plan(str(path))
    assert code == 0, output
    assert rows["02-llm_judge"][2] == "<=5"
    assert rows["04-llm_label"][2] == "<=2"  # 40% of at most 5


def test_generate_is_planned_from_the_inputs_category_counts(tmp_path: Path) -> None:
    rows = [{"instruction": f"spelling {i}", "output": "x", "category": "spelling"} for i in range(3)]
    rows += [{"instruction": f"grammar {i}", "output": "x", "category": "grammar"} for i in range(6)]
    path = write(tmp_path, {"llm": {"model": "m", "rpm": 60},
                            "steps": [{"llm_generate": {"target_count": 6, "category_field": "meta.category"}},
                                      {"llm_judge": {}}]}, rows)
    code, output, plans = plan(str(path))
    assert code == 0, output
    assert plans["01-llm_generate"][2] == "3"  # spelling needs 3 more; grammar is at the target
    assert "(9 calls)" in plans["01-llm_generate"][4]  # at most 3 x missing
    assert plans["02-llm_judge"][2] == "<=12"  # 9 read + 3 generated

    later = write(tmp_path, {"llm": {"model": "m"}, "steps": [
        {"filter": {"expr": "len(prompt) > 0"}},
        {"llm_generate": {"target_count": 6, "category_field": "meta.category"}}]}, rows)
    assert plan(str(later))[2]["02-llm_generate"][2] == "~3"  # counted before the filter: an estimate

    unknown = write(tmp_path, {"llm": {"model": "m"}, "steps": [
        {"llm_generate": {"target_count": 6, "category_field": "meta.topic"}}]}, rows)
    _, output, plans = plan(str(unknown))
    assert plans["01-llm_generate"][2] == "?" and "no record of the inputs has meta.topic" in output


def test_time_follows_latency_and_concurrency_not_only_the_rate(tmp_path: Path) -> None:
    path = write(tmp_path, {"llm": {"model": "m", "rpm": 600, "concurrency": 1}, "steps": [{"llm_judge": {}}]})
    _, output, rows = plan(str(path))
    assert rows["01-llm_judge"][3] == "0.6 min"  # 12 calls x 3 s (assumed) one at a time, not 12 / 600 rpm
    assert "latency 3 s a call: assumed" in output
    _, output, rows = plan(str(path), "--latency", "10")
    assert rows["01-llm_judge"][3] == "2.0 min" and rows["01-llm_judge"][7] == "10 s"
    _, _, rows = plan(str(path), "--latency", "10", "--set", "llm.concurrency=4")
    assert rows["01-llm_judge"][3] == "0.5 min"


def test_latency_is_measured_in_the_work_directory(tmp_path: Path, mock_server: Any) -> None:
    server = mock_server(rpm=None, latency=(0.3, 0.3), error_rate=0.0,
                         reply=lambda body: json.dumps({"label": "a", "confidence": 0.9}))
    path = write(tmp_path, {"llm": {"base_url": server.url, "model": "mock", "concurrency": 1},
                            "steps": [{"llm_label": {"labels": ["a", "b"], "llm": {"budget": {"max_calls": 4}}}}]})
    run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    _, output, rows = plan(str(path), "--workdir", str(tmp_path / "run"))
    seconds = float(rows["01-llm_label"][7].removesuffix(" s"))
    assert 0.3 <= seconds < 1.0, output
    assert "median of 4 live calls to mock in the work directory" in output


def test_errors_exit_with_their_code(tmp_path: Path) -> None:
    code, output, _ = plan(str(tmp_path / "missing.yaml"))
    assert code == 2 and "does not exist" in output and "Traceback" not in output
    bad = write(tmp_path, {"steps": [{"llm_judge": {"rubric": "nope"}}]})
    code, output, _ = plan(str(bad))
    assert code == 2 and "steps[0]" in output
