"""``datamill check``: lengths with the real tokenizer, what each trainer truncates, rejects and alters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from fixtures.tiny_model import tiny_model_dir

LONG = "计算过程：" + "1234567 + 7654321 = 8888888。" * 40


def _msgs(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


ROWS = [
    _msgs(("user", "1+1?"), ("assistant", "2")),
    _msgs(("user", "long?"), ("assistant", LONG)),
    _msgs(("user", "part one"), ("user", "part two"), ("assistant", "merged")),
    _msgs(("assistant", "hello first"), ("user", "q"), ("assistant", "a")),
    _msgs(("user", "q"), ("assistant", "a"), ("user", "dangling")),
]


@pytest.fixture(scope="module")
def model() -> str:
    return str(tiny_model_dir())


def _check(path: Path, model: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["check", str(path), "--model", model, "--json", *args])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_xtuner_alterations_and_truncation(tmp_path: Path, model: str) -> None:
    path = _write(tmp_path / "export", "train.jsonl", ROWS)
    report = _check(path, model, "--backend", "xtuner", "--cutoff-len", "128")
    assert report["records"] == len(ROWS) and report["unreadable"] == 0
    assert report["over_cutoff"] == 1 and report["by_split"]["train"]["over_cutoff"] == 1
    assert report["truncated"] == {"records": 1, "answer_cut": 1}
    assert report["end_of_turn"]["lost_by_truncation"] == 1
    assert report["altered"] == {"leading_assistant_dropped": 1, "trailing_user_dropped": 1, "user_turns_merged": 1}
    assert report["end_of_turn_token"] == "<|im_end|>"


def test_llamafactory_rejects_and_trl_keeps_the_start(tmp_path: Path, model: str) -> None:
    path = _write(tmp_path / "export", "train.jsonl", ROWS)
    lf = _check(path, model, "--backend", "llamafactory", "--cutoff-len", "128")
    assert lf["rejected"] == {"ends_without_answer": 1, "invalid_role_order": 2}
    assert lf["truncated"]["answer_cut"] == 1
    trl = _check(path, model, "--backend", "trl", "--cutoff-len", "128")
    assert trl["rejected"] == {} and trl["truncated"] == {"records": 1, "answer_cut": 1}
    packed = _check(path, model, "--backend", "llamafactory", "--cutoff-len", "128", "--packing")
    assert packed["rejected"]["dropped_lengthy_packing"] == 1


def test_thresholds_and_text_summary(tmp_path: Path, model: str) -> None:
    path = _write(tmp_path / "export", "test.jsonl", ROWS[:2])
    _write(tmp_path / "export", "train.jsonl", ROWS[:1])
    report = _check(tmp_path / "export", model, "--backend", "trl")
    assert set(report["by_split"]) == {"test", "train"}
    long_tokens = report["by_split"]["test"]["tokens"]["max"]
    assert 1024 < long_tokens < 2048 and report["over"] == {"1024": 1, "2048": 0, "4096": 0}
    assert report["truncated"] == {"records": 1, "answer_cut": 1}  # TRL's default max_length: 1024
    result = CliRunner().invoke(app, ["check", str(path), "--model", model, "--cutoff-len", "300"])
    assert result.exit_code == 0, result.output
    assert "truncated by llamafactory: 1" in result.stdout and "answer_cut: 1" in result.stdout


def test_missing_path_is_an_input_error(tmp_path: Path, model: str) -> None:
    result = CliRunner().invoke(app, ["check", str(tmp_path / "nope"), "--model", model])
    assert result.exit_code == 3 and "does not exist" in result.output
