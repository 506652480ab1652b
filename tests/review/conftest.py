"""A run to review: Alpaca rows (some holding markup) -> filter -> review_apply -> split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from report.conftest import XSS, alpaca, run_rows

STEPS: list[Any] = [
    {"filter": {"expr": "meta.topic != 'code'", "reason": "no_code"}},
    {"review_apply": {}},
    {"split": {"ratios": {"train": 0.75, "test": 0.25}, "seed": 0}},
]


def review_rows() -> list[dict[str, Any]]:
    rows = alpaca(24)
    for i, x in enumerate(XSS):
        rows.append({"instruction": f"markup {i}: {x}", "input": "", "output": f"reply {x}", "topic": "markup"})
    return rows


def make_review_run(root: Path, **kwargs: Any) -> Path:
    run_rows(root, review_rows(), STEPS, **kwargs)
    return root / "run"


@pytest.fixture
def review_run(tmp_path: Path) -> Path:
    return make_review_run(tmp_path)
