"""``datamill convert``: read + export in one command, with the run's summary.json."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from datamill.cli import app


def test_convert_writes_files_info_and_summary(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"question": f"q{i}", "answer": f"a{i}", "label": "x" if i % 2 else "y"} for i in range(10)]
    rows.append({"question": "empty", "answer": ""})
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "convert", str(source), "--to", "llamafactory-alpaca", "--out", str(out), "--field", "prompt=question",
        "--field", "answer=answer", "--split", "train=0.8", "--split", "test=0.2", "--stratify", "label",
        "--option", "dataset_name=qa", "-q", "-j", "1",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["reconciled"]
    assert summary["totals"]["read"] == 11 and summary["totals"]["dropped"] == {"export:empty_assistant_turn": 1}
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"qa_train", "qa_test"}
    train = json.loads((out / "train.json").read_text(encoding="utf-8"))
    test = json.loads((out / "test.json").read_text(encoding="utf-8"))
    assert len(train) + len(test) == 10 and train[0]["instruction"].startswith("q")
    assert (out / ".datamill" / "summary.json").exists()


def test_convert_errors_are_one_sentence(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "q", "output": "a"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown output format 'nope'" in result.output
    bad = CliRunner().invoke(app, ["convert", str(source), "--to", "openai", "--out", str(tmp_path / "o"),
                                   "--field", "prompt"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
