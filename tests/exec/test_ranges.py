"""Big JSON Lines files read in byte ranges: every line once, and the same records, ids, locations and
quarantine entries as one reader produces, whatever sits at a range edge."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from datamill.exec import ranges, run
from datamill.exec.ranges import ByteRange, count_range, numbered, plan_ranges
from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data


def tricky_file(path: Path) -> bytes:
    """Rows with CRLF, blank lines, multi-byte UTF-8, a broken line, a non-object, a GBK line and a BOM."""
    lines: list[bytes] = []
    for i in range(400):
        row = {"instruction": f"问题 {i} " + "字" * (i % 9), "input": "", "output": f"答案 {i} é" * (1 + i % 3)}
        line = json.dumps(row, ensure_ascii=False).encode()
        if i % 17 == 0:
            line += b"\r"
        lines.append(line)
        if i % 23 == 0:
            lines.append(b"")
        if i % 31 == 0:
            lines.append(b"   \t")
        if i % 57 == 0:
            lines.append(b'{"instruction": "truncated')
        if i % 71 == 0:
            lines.append(b"[1, 2]")
        if i % 97 == 0:
            lines.append(json.dumps({"instruction": "gbk", "input": "", "output": "中文答案"},
                                    ensure_ascii=False).encode("gbk"))
    data = b"\xef\xbb\xbf" + b"\n".join(lines)  # BOM, and no newline after the last line
    path.write_bytes(data)
    return data


def test_ranges_cover_every_line_once(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    data = tricky_file(path)
    for target in (1, 100, 997, 5000):
        plan = plan_ranges(str(path), len(data), target)
        assert plan[0].start == 0 and plan[-1].end == len(data)
        for a, b in itertools.pairwise(plan):
            assert a.end == b.start
            assert data[b.start - 1:b.start] == b"\n"  # every range starts at a line start
    # counting: the lines of all ranges add up to the file's lines
    monkey = pytest.MonkeyPatch()
    monkey.setattr(ranges, "MIN_RANGE_BYTES", 100)
    plan = plan_ranges(str(path), len(data), 100)
    monkey.undo()
    assert len(plan) > 20
    counts = [count_range(str(path), r) for r in plan]
    whole = count_range(str(path), ByteRange(0, 0, len(data)))
    assert (sum(c[0] for c in counts), sum(c[1] for c in counts)) == whole
    assert whole[0] == data.count(b"\n") + 1
    numbered_plan = numbered(plan, counts)
    assert numbered_plan[-1].first_line == whole[0] - counts[-1][0]


def run_file(tmp_path: Path, name: str, split: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    if split:
        monkeypatch.setattr(ranges, "MIN_RANGE_BYTES", 300)
        monkeypatch.setattr(run, "MIN_RANGE_BYTES", 300)
    else:
        monkeypatch.setattr(run, "splittable", lambda source, limit: 0)
    recipe = {"name": "r", "inputs": [{"path": str(tmp_path / "f.jsonl")}],
              "steps": [{"filter": {"expr": "len(answer) > 0"}}],
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}],
              "executor": {"shard_size": 7}}
    summary = run_recipe(load_recipe_data(recipe, tmp_path), tmp_path / name, workers=2)
    monkeypatch.undo()
    return summary


def test_a_split_read_equals_one_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tricky_file(tmp_path / "f.jsonl")
    one = run_file(tmp_path, "one", False, monkeypatch)
    many = run_file(tmp_path, "many", True, monkeypatch)
    assert "byte ranges" in many["inputs"][0]["file_detection"]
    assert "byte ranges" not in (one["inputs"][0]["file_detection"] or "")
    assert (tmp_path / "one/export/data.jsonl").read_bytes() == (tmp_path / "many/export/data.jsonl").read_bytes()
    assert one["totals"] == many["totals"]
    assert one["inputs"][0]["stats"] == {**many["inputs"][0]["stats"], "seconds": one["inputs"][0]["stats"]["seconds"]}

    def quarantine(root: Path) -> list[tuple[Any, ...]]:
        entries = [json.loads(line) for f in sorted((root / "quarantine").glob("*.jsonl"))
                   for line in f.read_text().splitlines()]
        return sorted((e["location"], e.get("offset"), e["error"]) for e in entries)

    assert quarantine(tmp_path / "one") == quarantine(tmp_path / "many")
    assert len(quarantine(tmp_path / "one")) == 8 + 6  # truncated lines (i % 57) and non-objects (i % 71)
    assert one["totals"]["read"] > 400
