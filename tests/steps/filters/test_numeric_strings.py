"""Numbers read as text (CSV/TSV columns) count as numbers, never as missing (issue 10, item 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from datamill.exec.run import run_recipe
from datamill.numbers import as_number
from datamill.recipe.load import load_recipe
from datamill.steps.filters.score_threshold import ScoreThreshold, ScoreThresholdParams

from ..helpers import chat, reasons, run_row_step


@pytest.mark.parametrize(("value", "expected"), [
    (50, (50, False)), (7.5, (7.5, False)), ("50", (50, True)), (" 7.5\n", (7.5, True)), ("1e3", (1000.0, True)),
    ("-0.000000", (0.0, True)), ("+.5", (0.5, True)), ("5.", (5.0, True)),
    ("", (None, False)), ("   ", (None, False)), ("nan", (None, False)), ("NaN", (None, False)),
    ("inf", (None, False)), ("None", (None, False)), ("1,234", (None, False)), ("1,5", (None, False)),
    ("50%", (None, False)), ("1_000", (None, False)), ("0x1f", (None, False)), (True, (None, False)),
    (float("nan"), (None, False)), (None, (None, False)), ([1], (None, False)),
])
def test_as_number(value: Any, expected: tuple[Any, bool]) -> None:
    assert as_number(value) == expected


def test_score_threshold_reads_numeric_strings_and_notes_them() -> None:
    step = ScoreThreshold(ScoreThresholdParams(score="meta.mean", min=50))
    rows = [chat("s:0", "q", "a", meta={"mean": "60"}), chat("s:1", "q", "a", meta={"mean": " 40 "}),
            chat("s:2", "q", "a", meta={"mean": "nan"}), chat("s:3", "q", "a", meta={"mean": 70})]
    kept, dropped = run_row_step(step, rows)
    assert [r["id"] for r in kept] == ["s:0", "s:3"]
    assert reasons(dropped) == {"s:1": "score_below:meta.mean", "s:2": "score_missing"}
    assert dropped[1][1].detail == {"score": "meta.mean", "value": "nan"}  # says what it found


def test_a_real_tsv_score_column_is_read_as_numbers(corpora: Path, tmp_path: Path) -> None:
    source = corpora / "7_wmt_mqm" / "mqm_ted_zhen.avg_seg_scores.tsv"
    limit = 8000
    # the file itself: "system mqm_avg_score seg_id" separated by spaces (a tab after the system)
    with source.open(encoding="utf-8") as fh:
        next(fh)
        values = [line.split()[1] for _, line in zip(range(limit), fh, strict=False)]
    numeric = [float(v) for v in values if v != "None"]
    assert len(values) == limit and len(numeric) > 4000  # the column holds numbers as text (and "None")
    recipe = {"name": "mqm", "inputs": [{"path": str(source), "format": "raw", "limit": limit}],
              "steps": [{"score_threshold": {"score": "meta.mqm_avg_score", "min": -5}}],
              "outputs": [{"format": "jsonl", "path": "export/", "split_by": None}]}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    summary = run_recipe(load_recipe(path), tmp_path / "run", workers=1)
    stats = json.loads(next((tmp_path / "run" / "steps").glob("01-*/stats.json")).read_text())
    assert stats["notes"]["coerced_numeric"] == len(numeric)
    assert stats["dropped"]["score_missing"] == values.count("None")  # only the rows without a score
    assert stats["dropped"]["score_below:meta.mqm_avg_score"] == sum(v < -5 for v in numeric)
    assert summary["totals"]["written"] == sum(v >= -5 for v in numeric)
