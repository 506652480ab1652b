"""``datamill convert``: read + export in one command, with the run's summary.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
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
        "--field", "answer=answer", "--split", "train=0.8", "--split", "test=0.2", "--stratify", "meta.label",
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


def test_out_with_a_file_name_writes_that_file(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "q1", "input": "", "output": "a1"}\n'
                      '{"instruction": "q2", "input": "", "output": "a2"}\n', encoding="utf-8")
    out = tmp_path / "train.jsonl"
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "jsonl", "--out", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["in:0", "in:1"]
    assert f"wrote {out} (2 records)" in result.output
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("*/.*.tmp"))
    summary = json.loads((tmp_path / "train.jsonl.summary.json").read_text())
    assert summary["totals"]["written"] == 2
    data = tmp_path / "data.json"
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "llamafactory-alpaca", "--out", str(data),
                                      "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert [r["output"] for r in json.loads(data.read_text())] == ["a1", "a2"]
    assert json.loads((tmp_path / "dataset_info.json").read_text())["data"]["file_name"] == "data.json"


@pytest.mark.parametrize("name", ["kto_en_demo.json/", "wiki_demo.txt/"])
def test_out_ending_in_a_slash_is_a_folder_whatever_its_name(tmp_path: Path, name: str) -> None:
    """``--out kto_en_demo.json/`` (a folder named after the input, as a user types it) is a folder: before, the
    slash was lost and the name taken for a file (written as one, or refused for its extension)."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "q1", "input": "", "output": "a1"}\n', encoding="utf-8")
    out = tmp_path / name
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "llamafactory-alpaca", "--out", f"{out}/",
                                      "-q", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert out.is_dir()
    assert json.loads((out / "dataset_info.json").read_text())["data"]["file_name"] == "data.json"
    assert [r["output"] for r in json.loads((out / "data.json").read_text())] == ["a1"]


def test_a_recipe_output_path_ending_in_a_slash_is_a_folder(tmp_path: Path) -> None:
    from datamill.exec.export_stage import ExportRun, resolve_output_path
    from datamill.export.registry import build_exporter
    from datamill.recipe.model import OutputSpec

    exporter = build_exporter("llamafactory-alpaca", {}, "x")
    for path, single in [("export/data.json/", False), ("export/data.json", True), ("export/", False)]:
        target = resolve_output_path(path, tmp_path)
        assert ExportRun.is_single_file(OutputSpec(format="llamafactory-alpaca", path=target), exporter) is single
        assert ExportRun(OutputSpec(format="llamafactory-alpaca", path=target), exporter, target).single_file is single


def test_out_that_cannot_be_honoured_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "q1", "input": "", "output": "a1"}\n', encoding="utf-8")
    wrong = CliRunner().invoke(app, ["convert", str(source), "--to", "jsonl", "--out", str(tmp_path / "d.json")])
    assert wrong.exit_code == 2 and "writes '.jsonl' files" in wrong.output
    split = CliRunner().invoke(app, ["convert", str(source), "--to", "jsonl", "--out", str(tmp_path / "d.jsonl"),
                                     "--split", "train=0.5", "--split", "test=0.5"])
    assert split.exit_code == 2 and "one file per split" in split.output
    dedup = CliRunner().invoke(app, ["dedup", str(source), "--out", str(tmp_path / "kept.jsonl")])
    assert dedup.exit_code == 2 and "give a folder" in dedup.output
    assert not (tmp_path / "d.json").exists() and not (tmp_path / "kept.jsonl").exists()


def test_a_file_that_is_not_there_after_the_rename_is_an_error(tmp_path: Path, monkeypatch: Any) -> None:
    from datamill.exec import export_stage

    source = tmp_path / "in.jsonl"
    source.write_text('{"instruction": "q1", "input": "", "output": "a1"}\n', encoding="utf-8")
    real_close = export_stage.ExportRun._close

    def lost_rename(self: Any, of: Any) -> None:
        of.writer.close()
        of.raw.close()
        of.tmp = None  # the temporary file is never moved into place
        real_close(self, of)

    monkeypatch.setattr(export_stage.ExportRun, "_close", lost_rename)
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "jsonl", "--out", str(tmp_path / "o"), "-j", "1"])
    assert result.exit_code == 4
    assert "after writing 1 records" in result.output and "nothing is there" in result.output
    assert "wrote" not in result.output.replace("after writing", "")


def test_max_loss_flag_lets_convert_keep_going_when_the_hint_says_so(tmp_path: Path) -> None:
    """Every record refused by the target (pretraining text to ShareGPT): exit 6 with a hint that names the flag
    convert has, then --max-loss 1 writes nothing and says why in the summary."""
    source = tmp_path / "in.txt"
    source.write_text("one document\nanother document\n", encoding="utf-8")
    out = tmp_path / "out"
    refused = CliRunner().invoke(app, ["convert", str(source), "--to", "sharegpt", "--out", str(out), "-q", "-j", "1"])
    assert refused.exit_code == 6, refused.output
    assert "--max-loss 1" in refused.output
    kept = CliRunner().invoke(app, ["convert", str(source), "--to", "sharegpt", "--out", str(out), "-q", "-j", "1",
                                    "--max-loss", "1"])
    assert kept.exit_code == 0, kept.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["written"] == 0 and sum(summary["outputs"][0]["dropped"].values()) == 2


def test_sharegpt_says_when_it_writes_datamills_ids_instead_of_the_files_own(tmp_path: Path) -> None:
    """A ShareGPT file with its own ids converted to ShareGPT: the rows get datamill's ids (documented), and the
    output says so, with the option that keeps the file's own (before: silently)."""
    source = tmp_path / "conv.json"
    source.write_text(json.dumps([{"id": f"identity_{i}", "conversations": [
        {"from": "human", "value": f"q{i}"}, {"from": "gpt", "value": f"a{i}"}]} for i in range(3)]), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "sharegpt", "--out", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "meta.id (option id_from: meta.id writes it): 3" in result.output
    note = json.loads((out / "summary.json").read_text())["outputs"][0]["notes"]
    assert note == {"ids: the row's own id is in meta.id (option id_from: meta.id writes it)": 3}
    kept = tmp_path / "kept"
    result = CliRunner().invoke(app, ["convert", str(source), "--to", "sharegpt", "--out", str(kept), "-j", "1",
                                      "--option", "id_from=meta.id"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads((kept / "data.json").read_text())] == ["identity_0", "identity_1", "identity_2"]
    assert not json.loads((kept / "summary.json").read_text())["outputs"][0]["notes"]
