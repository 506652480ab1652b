"""``check:`` on an output: over-long records kept (counted), dropped (by reason), truncated or failing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app
from datamill.handoff.encode import ChatEncoder
from fixtures.tiny_model import tiny_model_dir

LIMIT = 96


def _records() -> list[dict[str, Any]]:
    short = [{"id": f"s{i}", "q": f"{i} + {i}?", "a": f"{2 * i}"} for i in range(5)]
    long = [{"id": f"l{i}", "q": f"count to {i}", "a": "，".join(str(n) for n in range(60 + i))} for i in range(3)]
    return short + long


def _run(tmp_path: Path, on_overlength: str) -> tuple[int, str, Path]:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records()), encoding="utf-8")
    recipe = {"name": "checked",
              "inputs": [{"path": str(data), "format": "qa", "fields": {"prompt": "q", "answer": "a"}}],
              "outputs": [{"format": "openai", "path": "export/", "split_by": None,
                           "check": {"model": str(tiny_model_dir()), "backend": "trl", "cutoff_len": LIMIT,
                                     "on_overlength": on_overlength}}]}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    workdir = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "recipe.yaml"), "--workdir", str(workdir), "-q", "-j", "1"])
    return result.exit_code, result.output, workdir


def _summary(workdir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((workdir / "summary.json").read_text())
    return data


def _rows(workdir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (workdir / "export" / "data.jsonl").read_text().splitlines()]


def test_drop_counts_over_long_records_by_reason(tmp_path: Path) -> None:
    code, output, workdir = _run(tmp_path, "drop")
    assert code == 0, output
    summary = _summary(workdir)
    assert summary["totals"]["written"] == 5 and summary["totals"]["dropped"] == {"export:over_cutoff": 3}
    assert summary["reconciled"] is True
    dropped = (workdir / "outputs" / "00-openai" / "dropped" / "openai.jsonl").read_text().splitlines()
    assert len(dropped) == 3 and all(json.loads(d)["detail"]["limit"] == LIMIT for d in dropped)


def test_keep_writes_and_counts(tmp_path: Path) -> None:
    code, output, workdir = _run(tmp_path, "keep")
    assert code == 0, output
    assert _summary(workdir)["totals"]["written"] == 8
    assert _summary(workdir)["outputs"][0]["notes"]["over_cutoff (kept)"] == 3


def test_truncate_shortens_the_answer_and_keeps_the_end_of_turn(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    code, output, workdir = _run(tmp_path, "truncate")
    assert code == 0, output
    summary = _summary(workdir)
    assert summary["totals"]["written"] == 8 and summary["outputs"][0]["notes"]["truncated to the limit"] == 3
    encoder = ChatEncoder(AutoTokenizer.from_pretrained(str(tiny_model_dir())))
    rows = _rows(workdir)
    lengths = [encoder.encode({"messages": r["messages"]}).total for r in rows]
    assert max(lengths) <= LIMIT and min(sorted(lengths)[-3:]) >= LIMIT - 3  # cut just enough to fit
    cut = [r for r in rows if r["messages"][0]["content"].startswith("count to")]
    assert len(cut) == 3
    for row in cut:
        turn = encoder.encode({"messages": row["messages"]}).turns[-1]
        assert turn.eot  # the answer still ends with <|im_end|>
        assert "，".join(str(n) for n in range(10)) in row["messages"][1]["content"]  # its start is kept


def test_fail_stops_the_run_naming_the_record(tmp_path: Path) -> None:
    code, output, _ = _run(tmp_path, "fail")
    assert code == 4 and "over the limit of 96" in output and "on_overlength: fail" in output


@pytest.mark.parametrize("bad", [{"on_overlength": "cut"}, {"model": "x", "cutof_len": 3}])
def test_check_options_are_validated(tmp_path: Path, bad: dict[str, Any]) -> None:
    recipe = {"name": "bad", "inputs": [{"path": "x.jsonl"}],
              "outputs": [{"format": "openai", "check": {"model": "m", **bad}}]}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "recipe.yaml"), "--workdir", str(tmp_path / "run")])
    assert result.exit_code == 2 and "outputs[0].check" in result.output
