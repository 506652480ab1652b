"""``datamill.run``: a recipe (file or dict) run from code returns its summary and files; runs are isolated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import datamill
from datamill.errors import DataLossError, RecipeError


def recipe(data: str) -> dict[str, object]:
    return {"name": "api", "inputs": [{"path": data}], "steps": [{"dedup_exact": {"on": "prompt"}}],
            "outputs": [{"format": "llamafactory-alpaca", "path": "export/"}]}


def test_run_a_dict_and_a_file(tmp_path: Path) -> None:
    rows = [{"instruction": f"q{i % 3}", "input": "", "output": f"a{i}"} for i in range(6)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = datamill.run(recipe("d.jsonl"), workdir=tmp_path / "one", base_dir=tmp_path, workers=1)
    assert first.totals["read"] == 6 and first.totals["written"] == 3
    assert first.totals["dropped"] == {"duplicate_exact": 3}
    assert first.files == [str(tmp_path / "one/export/data.json")]
    assert len(json.loads(Path(first.files[0]).read_text())) == 3
    # the same recipe from a file, in another work directory of the same process: same output, own files
    (tmp_path / "r.json").write_text(json.dumps(recipe("d.jsonl")))
    second = datamill.run(tmp_path / "r.json", workdir=tmp_path / "two", workers=1,
                          overrides=["steps[0].params.on=answer"])
    assert second.totals["written"] == 6 and second.workdir == tmp_path / "two"
    assert (tmp_path / "two/summary.json").exists()


def test_errors_are_datamill_errors(tmp_path: Path) -> None:
    with pytest.raises(RecipeError):
        datamill.run({"name": "x", "inputs": []}, workdir=tmp_path / "w")
    (tmp_path / "d.jsonl").write_text('{"instruction": "q", "input": "", "output": "a"}\n')
    bad = recipe("d.jsonl") | {"steps": [{"filter": {"expr": "len(answer) > 100"}}]}
    with pytest.raises(DataLossError) as info:
        datamill.run(bad, workdir=tmp_path / "w", base_dir=tmp_path, workers=1)
    assert info.value.exit_code == 6
