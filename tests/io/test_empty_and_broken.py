"""Empty and broken files: JSON Lines with broken lines stay JSON Lines (one error per line, with its
number), multi-line JSON stays JSON, and every error about a file names the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.errors import DataLossError, FormatDetectionError, InputError
from datamill.exec.run import run_recipe
from datamill.inspect import inspect_path
from datamill.io.detect import detect_file_format
from datamill.io.read import read_rows
from datamill.io.sources import SourceFile
from datamill.recipe.load import load_recipe_data

GOOD = ['{"instruction": "a", "output": "b"}', '{"instruction": "c", "output": "d"}']
CUT = '{"instruction": "x", "output": '

#: (case, file name, lines, expected (line number, error or None) per row)
LINE_FILES: list[tuple[str, str, list[str], list[tuple[int, bool]]]] = [
    ("two good lines then five truncated", "a.jsonl", GOOD + [CUT] * 5,
     [(1, True), (2, True), (3, False), (4, False), (5, False), (6, False), (7, False)]),
    ("one good line then broken ones", "b.jsonl", [*GOOD[:1], CUT, '{"instruction": "y"'],
     [(1, True), (2, False), (3, False)]),
    ("every line broken", "c.jsonl", ['{"a":1', '{"b":'], [(1, False), (2, False)]),
    ("the first line broken", "d.jsonl", [CUT, *GOOD], [(1, False), (2, True), (3, True)]),
    ("JSON Lines named .json with broken lines", "e.json", GOOD[:1] + [CUT] * 3,
     [(1, True), (2, False), (3, False), (4, False)]),
]


def _source(path: Path) -> SourceFile:
    return SourceFile(str(path), path.name, "auto", {})


@pytest.mark.parametrize(("name", "lines", "expected"), [c[1:] for c in LINE_FILES], ids=[c[0] for c in LINE_FILES])
def test_broken_json_lines_keep_their_line_numbers(tmp_path: Path, name: str, lines: list[str],
                                                  expected: list[tuple[int, bool]]) -> None:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert detect_file_format(str(path)).file_format == "jsonl"
    rows = list(read_rows(_source(path)))
    assert [(r.location, r.error is None) for r in rows] == [(f"{name}:{n}", ok) for n, ok in expected]


@pytest.mark.parametrize("text", [
    json.dumps([{"a": 1}, {"a": 2}], indent=2),
    "\n".join(json.dumps({"a": i, "b": [1, 2]}, indent=2) for i in range(3)),
    '{"a": 1},\n{"a": 2},\n{"a": 3}\n',
    '{\n"a": 1,\n"b": 2\n}\n{\n"a": 3\n}\n',
])
def test_multi_line_json_is_still_json(tmp_path: Path, text: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    assert detect_file_format(str(path)).file_format == "json"
    assert all(r.error is None for r in read_rows(_source(path)))


def _run(tmp_path: Path, name: str, text: str, **spec: Any) -> dict[str, Any]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    recipe = {"name": "t", "inputs": [{"path": name, **spec}], "outputs": [{"format": "jsonl"}]}
    return run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)


@pytest.mark.parametrize("spec", [{}, {"format": "alpaca"}])
def test_an_empty_file_is_an_error_naming_it(tmp_path: Path, spec: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=r"no records were read from the inputs; empty: empty\.jsonl"):
        _run(tmp_path, "empty.jsonl", "", **spec)


@pytest.mark.parametrize("spec", [{}, {"format": "alpaca"}])
def test_a_file_of_broken_lines_fails_naming_it_and_the_first_line(tmp_path: Path, spec: dict[str, Any]) -> None:
    with pytest.raises(DataLossError, match=r"reading broken\.jsonl lost 2 of 2 rows .* broken\.jsonl:1: truncated"):
        _run(tmp_path, "broken.jsonl", '{"a":1\n{"b":\n', **spec)
    quarantined = (tmp_path / "run/quarantine").glob("read-*.jsonl")
    entries = [json.loads(line) for f in quarantined for line in f.read_text(encoding="utf-8").splitlines()]
    assert [e["location"] for e in entries] == ["broken.jsonl:1", "broken.jsonl:2"]


def test_broken_lines_before_good_ones_do_not_stop_detection(tmp_path: Path) -> None:
    summary = _run(tmp_path, "late.jsonl", "\n".join([CUT] * 250 + GOOD) + "\n")
    assert summary["totals"]["quarantined"] == 250 and summary["totals"]["written"] == 2
    assert summary["inputs"][0]["format"] == "alpaca"


def test_detection_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FormatDetectionError, match=r"^odd\.jsonl: could not recognise the record format"):
        _run(tmp_path, "odd.jsonl", '{"x": 1}\n{"x": 2}\n')
    with pytest.raises(FormatDetectionError, match=r"odd\.jsonl: could not recognise"):
        inspect_path(str(tmp_path / "odd.jsonl"), base_dir=tmp_path)


def test_inspect_of_a_broken_file_reports_rather_than_fails(tmp_path: Path) -> None:
    (tmp_path / "broken.jsonl").write_text('{"a":1\n{"b":\n', encoding="utf-8")
    result = inspect_path(str(tmp_path / "broken.jsonl"), base_dir=tmp_path)
    file = result["files"][0]
    assert file["record_format"] is None and file["records"] == 2 and sum(file["unparseable"].values()) == 2


def test_a_file_two_inputs_name_is_said_to_be_read_twice(tmp_path: Path) -> None:
    """A path and a glob that matches it read the file twice (two sources): the log says so."""
    from datamill.exec.run import run_recipe
    from datamill.recipe.load import load_recipe_data

    (tmp_path / "a.jsonl").write_text('{"instruction": "q", "input": "", "output": "a"}\n')
    (tmp_path / "empty.jsonl").write_text("")
    recipe = {"name": "t", "inputs": [{"path": "a.jsonl"}, {"path": "*.jsonl"}], "outputs": [{"format": "jsonl"}]}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / "run", workers=1)
    assert summary["totals"]["read"] == 2
    warnings = [line for line in summary["log"] if line.startswith("WARNING")]
    assert any("a.jsonl is read 2 times" in line for line in warnings), summary["log"]
    assert any("empty.jsonl is empty" in line for line in warnings)
