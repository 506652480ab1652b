"""A run's ``summary.json`` names the files to read back; those paths come from a file, not from the
user's command, so they must stay inside the run folder (or inside the outputs the caller's own recipe
named): one that escapes is an InputError naming it, and nothing of it is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datamill.errors import InputError
from datamill.handoff.source import data_files, iter_records

ROW = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _run_folder(tmp_path: Path, *paths: str) -> Path:
    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    (run / "export" / "train.jsonl").write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    files = [{"path": p, "split": "train", "records": 1} for p in paths]
    (run / "summary.json").write_text(json.dumps({"outputs": [{"format": "openai", "files": files}]}),
                                      encoding="utf-8")
    return run


def test_files_inside_the_run_folder_are_read(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, str(tmp_path / "run" / "export" / "train.jsonl"))
    files = data_files(run)
    assert [(Path(f.path).name, f.split) for f in files] == [("train.jsonl", "train")]
    assert [r["messages"][0]["content"] for _, r in iter_records(files)] == ["q"]


@pytest.mark.parametrize("escape", ["../secret.jsonl", "export/../../secret.jsonl", "ABS", "/etc/passwd",
                                    "LINK", "s3://bucket/secret.jsonl", "file:///etc/passwd"])
def test_a_path_escaping_the_run_folder_is_an_input_error_naming_it(tmp_path: Path, escape: str) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    if escape == "ABS":
        escape = str(secret)
    run = _run_folder(tmp_path, str(tmp_path / "run" / "export" / "train.jsonl"), escape)
    if escape == "LINK":  # a link inside the folder that points out of it
        (run / "export" / "link.jsonl").symlink_to(secret)
        escape = str(run / "export" / "link.jsonl")
        (run / "summary.json").write_text(json.dumps({"outputs": [{"format": "openai", "files": [
            {"path": escape, "split": "train", "records": 1}]}]}), encoding="utf-8")
    with pytest.raises(InputError, match="outside the run folder") as info:
        data_files(run)
    assert escape in info.value.message and str(run) in info.value.message
    assert info.value.hint and "pass the export folder" in info.value.hint


def test_outputs_the_caller_named_may_lie_outside(tmp_path: Path) -> None:
    """The train stage passes the output locations of the recipe it just ran (resolved by the engine)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "train.jsonl").write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    run = _run_folder(tmp_path, str(outside / "train.jsonl"))
    with pytest.raises(InputError, match="outside the run folder"):
        data_files(run)
    assert [Path(f.path).name for f in data_files(run, outputs=[str(outside) + "/"])] == ["train.jsonl"]
    with pytest.raises(InputError, match="outside the run folder"):
        data_files(run, outputs=[str(tmp_path / "elsewhere-not")])
