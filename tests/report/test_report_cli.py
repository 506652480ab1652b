"""``datamill run`` writes the report: at ``runs/<name>`` without ``--workdir``, with the training cutoff the
recipe sets (``train: cutoff_len``, an output's ``check:``) marked on the token histograms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from datamill.cli import app
from datamill.report.tokens import DEFAULT_CUTOFF
from report.conftest import alpaca


def _recipe(folder: Path, **extra: Any) -> Path:
    """A tiny recipe (30 Alpaca rows -> canonical JSONL) in ``folder``, with ``extra`` top-level keys."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in alpaca(30)),
                                       encoding="utf-8")
    recipe = {"name": "tiny", "inputs": [{"path": "data.jsonl"}],
              "outputs": [{"format": "jsonl", "path": "export/"}], **extra}
    (folder / "recipe.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return folder / "recipe.yaml"


def _tokenizer(folder: Path) -> Path:
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({"[UNK]": 0, "question": 1, "answer": 2},
                                                           unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    return folder / "tokenizer.json"


def _run(recipe: Path, *args: str) -> None:
    result = CliRunner().invoke(app, ["run", str(recipe), "-q", "-j", "1", *args])
    assert result.exit_code == 0, result.output


def test_run_without_workdir_writes_runs_name_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = _recipe(tmp_path / "recipe")
    monkeypatch.chdir(tmp_path)
    _run(recipe)
    report = tmp_path / "runs" / "tiny" / "report"
    assert (report / "index.html").is_file()
    summary = json.loads((tmp_path / "runs" / "tiny" / "summary.json").read_text(encoding="utf-8"))
    assert json.loads((report / "report.json").read_text(encoding="utf-8"))["totals"] == summary["totals"]
    assert summary["totals"]["written"] == 30 and not (tmp_path / "recipe" / "runs").exists()


TRAIN = {"backend": "llamafactory", "model": "org/some-model", "template": "default", "dry_run": True}


@pytest.mark.parametrize(("extra", "args", "cutoff", "source"), [
    ({}, [], DEFAULT_CUTOFF, "default"),
    ({"train": {**TRAIN, "cutoff_len": 40}}, [], 40, "train.cutoff_len"),
    ({"train": TRAIN}, [], 1024, "train.cutoff_len"),  # the train: block's own default, what it trains with
    ({"train": {**TRAIN, "cutoff_len": 40}}, ["--cutoff", "12"], 12, "given"),
])
def test_run_report_marks_the_recipes_cutoff(tmp_path: Path, extra: dict[str, Any], args: list[str], cutoff: int,
                                             source: str) -> None:
    recipe = _recipe(tmp_path, **extra)
    _run(recipe, "--workdir", str(tmp_path / "run"), "--tokenizer", str(_tokenizer(tmp_path)), *args)
    report = tmp_path / "run" / "report"
    tokens = json.loads((report / "report.json").read_text(encoding="utf-8"))["tokens"]
    assert (tokens["cutoff"], tokens["cutoff_from"]) == (cutoff, source)
    assert f"training cutoff {cutoff:,} ({source})" in (report / "index.html").read_text(encoding="utf-8")
    # datamill report on the same run takes the same cutoff
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--tokenizer", str(tmp_path / "tokenizer.json"),
                                      *args])
    assert result.exit_code == 0, result.output
    again = json.loads((report / "report.json").read_text(encoding="utf-8"))["tokens"]
    assert (again["cutoff"], again["cutoff_from"]) == (cutoff, source)


def test_run_report_takes_an_output_checks_cutoff(tmp_path: Path) -> None:
    from fixtures.tiny_model import tiny_model_dir

    model = str(tiny_model_dir())
    outputs = [{"format": "jsonl", "path": "export/"},
               {"format": "openai", "path": "openai/", "check": {"model": model, "backend": "trl", "cutoff_len": 64}}]
    recipe = _recipe(tmp_path, outputs=outputs)
    _run(recipe, "--workdir", str(tmp_path / "run"), "--tokenizer", model)
    tokens = json.loads((tmp_path / "run" / "report" / "report.json").read_text(encoding="utf-8"))["tokens"]
    assert (tokens["cutoff"], tokens["cutoff_from"]) == (64, "outputs[1].check")
