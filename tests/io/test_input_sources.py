"""Each file given to ``datamill convert``/``datamill dedup`` is its own source, under a name that keeps
its letters in any script: ids, ``source`` and dedup's per-source ``summary.csv`` tell the files apart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from datamill.cli import app
from datamill.exec.run import input_name
from datamill.recipe.model import InputSpec


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _inputs(root: Path) -> tuple[Path, Path]:
    zh = _write(root / "中文数据5000-6000.jsonl", [
        {"instruction": "你好", "output": "您好"}, {"instruction": "再见", "output": "再会"},
        {"instruction": "same", "output": "x"},
    ])
    en = _write(root / "english.jsonl", [{"instruction": "hello", "output": "hi"},
                                         {"instruction": "same", "output": "x"}])
    return zh, en


def test_convert_two_files_gives_two_sources(tmp_path: Path) -> None:
    zh, en = _inputs(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["convert", str(zh), str(en), "--to", "jsonl", "--out", str(out), "-j", "1",
                                      "-q"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "data.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["source"]) for r in records] == [
        ("中文数据5000-6000:0", "中文数据5000-6000"), ("中文数据5000-6000:1", "中文数据5000-6000"),
        ("中文数据5000-6000:2", "中文数据5000-6000"), ("english:0", "english"), ("english:1", "english"),
    ]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [(f["file"].rsplit("/", 1)[-1], f["source"]) for f in summary["inputs"]] == [
        ("中文数据5000-6000.jsonl", "中文数据5000-6000"), ("english.jsonl", "english")]


def test_dedup_summary_has_a_row_per_file(tmp_path: Path) -> None:
    zh, en = _inputs(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["dedup", str(zh), str(en), "--method", "exact", "--on", "prompt", "--out",
                                      str(out), "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    with open(out / "summary.csv", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert table == [
        {"source": "中文数据5000-6000", "before": "3", "after": "3", "removed_duplicate_exact": "0"},
        {"source": "english", "before": "2", "after": "1", "removed_duplicate_exact": "1"},
        {"source": "TOTAL", "before": "5", "after": "4", "removed_duplicate_exact": "1"},
    ]


@pytest.mark.parametrize(("path", "name"), [
    ("中文数据5000-6000.jsonl", "中文数据5000-6000"),
    ("données (v2).jsonl", "données_v2_"),
    ("data/训练集/*.jsonl", "训练集"),
    ("a\tb.jsonl", "a_b"),
    ("（）.jsonl", "input3"),
])
def test_input_names_keep_letters_of_every_script(path: str, name: str) -> None:
    assert input_name(InputSpec(path=path), 3) == name
