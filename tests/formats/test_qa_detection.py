"""Question/answer files under common column names are detected as ``qa`` with the mapping reported;
when nothing fits, the error lists the file's columns and a ``datamill convert`` command that runs; the
CLI's ``--field`` is checked by the validator recipes use."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from datamill.errors import FormatDetectionError, RecipeError
from datamill.exec.run import run_recipe
from datamill.formats import detect_format, get_adapter
from datamill.recipe.load import load_recipe_data

Q, A = "How many legs does a spider have?", "Eight."

#: (columns, expected {part: column}) for rows holding text in every column
DETECTED: list[tuple[list[str], dict[str, str]]] = [
    (["question", "answer"], {"prompt": "question", "answer": "answer"}),
    (["ask", "answer"], {"prompt": "ask", "answer": "answer"}),
    (["question", "std_answer"], {"prompt": "question", "answer": "std_answer"}),
    (["problem", "solution"], {"prompt": "problem", "answer": "solution"}),
    (["query", "response"], {"prompt": "query", "answer": "response"}),
    (["original_text", "ans"], {"prompt": "original_text", "answer": "ans"}),
    (["Question", "Answer"], {"prompt": "Question", "answer": "Answer"}),
    (["id", "user_question", "model_answer"], {"prompt": "user_question", "answer": "model_answer"}),
    (["问题", "答案"], {"prompt": "问题", "answer": "答案"}),
    (["用户", "助手"], {"prompt": "用户", "answer": "助手"}),
    (["problem", "solution", "answer"], {"prompt": "problem", "answer": "solution"}),  # a known pair wins
    (["question", "thinking", "answer"], {"prompt": "question", "answer": "answer", "reasoning": "thinking"}),
    (["Question", "Expected-Answer"], {"prompt": "Question", "answer": "Expected-Answer"}),
]


@pytest.mark.parametrize(("columns", "mapping"), DETECTED, ids=["/".join(c) for c, _ in DETECTED])
def test_common_column_names_are_detected_as_qa(columns: list[str], mapping: dict[str, str]) -> None:
    row = {c: f"{c} text" for c in columns}
    row[mapping["prompt"]], row[mapping["answer"]] = Q, A
    detection = detect_format([row] * 3)
    assert detection.format == "qa" and detection.confidence >= 0.5
    assert detection.mapping == mapping
    record = get_adapter("qa").to_record(row)
    assert record["messages"][-2:] == [{"role": "user", "content": Q},
                                       {"role": "assistant", "content": A, **({"reasoning": "thinking text"}
                                                                              if "reasoning" in mapping else {})}]


@pytest.mark.parametrize("columns", [["foo", "bar"], ["source", "target"], ["question_id", "turns"],
                                     ["answer", "response"]])
def test_names_that_do_not_make_a_pair_are_not_guessed(columns: list[str]) -> None:
    with pytest.raises(FormatDetectionError, match="could not recognise"):
        detect_format([{c: "some text" for c in columns}] * 3)


def _csv(path: Path, header: str) -> Path:
    path.write_text(f"{header}\n{Q},{A}\nWhat is the capital of France?,Paris is the capital.\n", encoding="utf-8")
    return path


def test_the_read_log_reports_the_mapping(tmp_path: Path) -> None:
    _csv(tmp_path / "ask.csv", "ask,answer")
    recipe = {"name": "t", "inputs": [{"path": "ask.csv"}], "outputs": [{"format": "jsonl"}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    line = next(m for m in summary["log"] if m.startswith("read ask.csv"))
    assert "detected qa" in line and "mapping: prompt=ask, answer=answer" in line
    assert summary["inputs"][0]["detection"]["mapping"] == {"prompt": "ask", "answer": "answer"}


def test_a_failed_detection_prints_a_command_that_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "data 1.csv", "foo,bar")
    result = CliRunner().invoke(app, ["convert", "data 1.csv", "--to", "jsonl", "--out", "first", "-q"])
    assert result.exit_code == 3
    text = " ".join(result.output.split())
    assert "data 1.csv: could not recognise the record format" in text
    assert "with columns foo (string), bar (string)" in text
    command = text[text.index("datamill convert"):text.index(" (in a recipe")]
    assert command == "datamill convert 'data 1.csv' --format qa --field prompt=foo --field answer=bar --to jsonl " \
                      "--out out/"
    assert "fields: {prompt: foo, answer: bar}" in text
    rerun = CliRunner().invoke(app, [*shlex.split(command)[1:], "-q"])
    assert rerun.exit_code == 0, rerun.output
    rows = [json.loads(line) for line in (tmp_path / "out/data.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["messages"] == [{"role": "user", "content": Q}, {"role": "assistant", "content": A}]


@pytest.mark.parametrize("command", [
    ["convert", "x.csv", "--to", "jsonl", "--out", "o"],
    ["dedup", "x.csv", "--out", "o"],
    ["inspect", "x.csv"],
])
def test_cli_field_rejects_unknown_parts_like_recipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      command: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "x.csv", "foo,bar")
    result = CliRunner().invoke(app, [*command, "--field", "questoin=foo"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "--field questoin=foo: unknown part 'questoin' (known: prompt, input, answer" in text
    assert "did you mean 'question'?" in text
    assert not (tmp_path / "o").exists()  # refused before anything was read or written
    recipe: dict[str, Any] = {"name": "t", "inputs": [{"path": "x.csv", "fields": {"questoin": "foo"}}],
                              "outputs": [{"format": "jsonl"}]}
    with pytest.raises(RecipeError, match=r"inputs\[0\]\.fields\.questoin: unknown part 'questoin' \(known: prompt"):
        load_recipe_data(recipe, tmp_path)
