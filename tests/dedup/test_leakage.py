from __future__ import annotations

import pytest

from datamill.steps.dedup.leakage import CheckLeakage, CheckLeakageParams
from steps.helpers import chat, ids, run_global_step

BASE = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    " pi rho sigma upsilon phi chi psi omega one two three"
)


def records() -> list[dict[str, object]]:
    return [
        chat("t1", BASE, "a", split="train"),
        chat("e1", BASE.replace("kappa", "tau"), "b", split="test"),  # near copy of a train record
        chat("e2", "completely different evaluation question about cooking", "c", split="test"),
        chat("t2", "another training prompt about something else entirely here", "d", split="train"),
        chat("t3", "another training prompt about something else entirely here", "d", split="train"),
        chat("v1", "another training prompt about something else entirely here", "e", split="valid"),
        chat("e3", "test only duplicate prompt that never appears in training data", "f", split="test"),
        chat("e4", "test only duplicate prompt that never appears in training data", "g", split="test"),
    ]


def test_leakage_report_keeps_everything() -> None:
    step = CheckLeakage(CheckLeakageParams())
    kept, dropped = run_global_step(step, records(), shard_size=3)
    assert len(kept) == 8 and dropped == []
    report = step.report()
    assert report["leaked"] == 2
    assert report["by_split"] == {"test": {"records": 4, "leaked": 1}, "valid": {"records": 1, "leaked": 1}}
    matches = {e["id"]: e["train_id"] for e in report["examples"]}
    assert matches == {"e1": "t1", "v1": "t2"}


@pytest.mark.parametrize(("method", "removed"), [("near", {"e1", "v1"}), ("exact", {"v1"})])
def test_leakage_remove(method: str, removed: set[str]) -> None:
    step = CheckLeakage(CheckLeakageParams(method=method, action="remove"))
    kept, dropped = run_global_step(step, records(), shard_size=2)
    assert {r["id"] for r, _ in dropped} == removed
    assert all(d.reason == "leakage" and d.detail["split"] != "train" for _, d in dropped)
    assert all(i.startswith(("t", "e", "v")) for i in ids(kept))
    assert {"t1", "t2", "t3", "e3", "e4"} <= set(ids(kept))
