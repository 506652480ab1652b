"""A real run over preference rows: detection picks the new formats, ``pairs: all`` turns one row into
several records (ids ``<source>:<row>#k``, counted as generated so counts reconcile), ties are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datamill.exec.run import run_recipe
from datamill.recipe.load import load_recipe_data

TRACES: list[dict[str, Any]] = [
    {"problem": "1+1?", "generations": ["2", "3", "2", "5"], "correctness_math_verify": [True, False, True, False]},
    {"problem": "2+2?", "generations": ["4", "4"], "correctness_math_verify": [True, True]},
]
HH: list[dict[str, Any]] = [
      {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"},
      {"chosen": "\n\nHuman: q\n\nAssistant: a", "rejected": "\n\nHuman: q\n\nAssistant: a"}]


def _write(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path.name


def test_all_pairs_run_reconciles(tmp_path: Path) -> None:
    data = {
        "name": "pairs",
        "inputs": [
            {"path": _write(tmp_path / "traces.jsonl", TRACES), "name": "traces", "options": {"pairs": "all"}},
            {"path": _write(tmp_path / "hh.jsonl", HH), "name": "hh"},
        ],
        "outputs": [{"format": "jsonl", "split_by": None}],
    }
    summary = run_recipe(load_recipe_data(data, tmp_path), tmp_path / "run", workers=1)
    assert summary["reconciled"]
    assert summary["totals"] == {"read": 4, "written": 6, "dropped": {}, "quarantined": 1, "generated": 3}
    assert [f["format"] for f in summary["inputs"]] == ["traces", "hh"]
    records = [json.loads(line) for line in (tmp_path / "run" / "export" / "data.jsonl").read_text().splitlines()]
    ids = {r["id"]: r for r in records}
    assert [i for i in ids if i.startswith("traces:0")] == ["traces:0", "traces:0#1", "traces:0#2", "traces:0#3"]
    assert ids["traces:1"]["tie"] and ids["traces:1"]["meta"]["unpaired"] == "all_correct"
    assert ids["hh:0"]["chosen"] == [{"role": "assistant", "content": "hello"}]
    quarantine = (tmp_path / "run" / "quarantine").glob("*.jsonl")
    assert any("identical" in path.read_text() for path in quarantine)
