"""review_apply: decisions change records on the next run; new decisions re-run only what follows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from datamill.exec.run import run_recipe
from datamill.exec.workdir import WorkDir
from datamill.recipe.load import load_recipe
from datamill.review.store import DecisionStore
from datamill.steps.base import Drop, StepContext
from datamill.steps.review_apply import ReviewApply, ReviewApplyParams
from review.conftest import make_review_run


def step(tmp_path: Path, **params: Any) -> ReviewApply:
    s = ReviewApply(ReviewApplyParams(**params))
    s.context = StepContext.detached(tmp_path)
    s.setup()
    return s


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"r{i}",
            "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
            "category": "good", "tags": ["needs_review"], **extra}


def test_decisions_become_drops_edits_and_provenance(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path / "review")
    store.decide("ann", "r1", "reject")
    store.decide("ann", "r2", "accept")
    store.decide("bob", "r3", "edit", edit={"answer": "fixed answer", "category": "bad"},
                 original={"answer": "a3", "category": "good"})
    s = step(tmp_path)
    dropped = s.process(record(1))
    assert isinstance(dropped, Drop) and dropped.reason == "human_rejected" and dropped.detail["reviewer"] == "ann"
    accepted = s.process(record(2))
    assert isinstance(accepted, dict) and accepted["meta"]["review"]["decision"] == "accept"
    assert accepted["tags"] == [] and accepted["messages"][1]["content"] == "a2"
    edited = s.process(record(3, meta={"kept": 1}))
    assert isinstance(edited, dict)
    assert edited["messages"][1]["content"] == "fixed answer" and edited["category"] == "bad"
    assert edited["meta"]["kept"] == 1
    assert edited["meta"]["review"] == {"decision": "edit", "reviewer": "bob", "at": edited["meta"]["review"]["at"],
                                        "original": {"answer": "a3", "category": "good"}}
    assert s.process(record(4)) == record(4)  # nobody decided: kept as it is
    assert s.take_notes() == {"rejected": 1, "accepted": 1, "edited": 1, "unreviewed": 1}


@pytest.mark.parametrize(("policy", "reason"), [("drop", "unreviewed"), ("hold", "held_for_review")])
def test_unreviewed_policy(tmp_path: Path, policy: str, reason: str) -> None:
    result = step(tmp_path, unreviewed=policy).process(record(9))
    assert isinstance(result, Drop) and result.reason == reason


def test_one_reviewers_decisions(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path / "review")
    store.decide("ann", "r1", "reject")
    store.decide("bob", "r1", "accept")
    assert isinstance(step(tmp_path).process(record(1)), dict)  # bob decided last
    assert isinstance(step(tmp_path, reviewer="ann").process(record(1)), Drop)


def test_the_fingerprint_follows_the_decisions_in_force(tmp_path: Path) -> None:
    s = ReviewApply(ReviewApplyParams())
    context = StepContext.detached(tmp_path)
    empty = s.fingerprint_extra(context)
    store = DecisionStore(tmp_path / "review")
    store.decide("ann", "r1", "reject")
    one = s.fingerprint_extra(context)
    assert one != empty
    store.undo("ann")
    assert s.fingerprint_extra(context) == empty
    store.decide("ann", "r1", "edit", edit={"answer": "x"})
    edit_x = s.fingerprint_extra(context)
    store.decide("ann", "r1", "edit", edit={"answer": "y"})
    assert s.fingerprint_extra(context) not in (edit_x, empty, one)


def export_records(run: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((run / "export").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            out[r["id"]] = r
    return out


def test_new_decisions_rerun_only_the_stages_after_the_review_step(tmp_path: Path) -> None:
    run = make_review_run(tmp_path, shard_size=7)
    recipe = load_recipe(tmp_path / "recipe.yaml")
    before = export_records(run)
    assert len(before) == 20
    stage_files = {p.name: p.stat().st_mtime_ns for p in (run / "steps" / "01-filter").glob("*.jsonl.zst")}
    assert sorted(WorkDir(run).finished_stages(recipe)) == [0, 1, 2, 3]  # what `datamill plan` sees
    store = DecisionStore(run / "review")
    store.decide("ann", "data:0", "reject")
    store.decide("ann", "data:1", "edit", edit={"answer": "a better answer"})
    assert sorted(WorkDir(run).finished_stages(recipe)) == [0, 1]
    summary = run_recipe(recipe, run, workers=1)
    log = "\n".join(summary["log"])
    assert "00-read: unchanged, skipped" in log and "01-filter: unchanged, skipped" in log
    assert "02-review_apply: unchanged" not in log and "03-split: unchanged" not in log
    assert {p.name: p.stat().st_mtime_ns for p in (run / "steps" / "01-filter").glob("*.jsonl.zst")} == stage_files
    assert summary["totals"]["dropped"]["human_rejected"] == 1 and summary["reconciled"]
    after = export_records(run)
    assert set(before) - set(after) == {"data:0"}
    assert after["data:1"]["messages"][-1]["content"] == "a better answer"
    assert after["data:1"]["meta"]["review"]["original"] == {"answer": before["data:1"]["messages"][-1]["content"]}
    dropped = [json.loads(x) for p in (run / "steps" / "02-review_apply" / "dropped").glob("*.jsonl")
               for x in p.read_text().splitlines()]
    assert [(d["reason"], d["record"]["id"]) for d in dropped] == [("human_rejected", "data:0")]
    # no new decision: nothing runs again
    again = run_recipe(recipe, run, workers=1)
    assert all(f"{s}: unchanged" in "\n".join(again["log"]) for s in ("02-review_apply", "03-split"))
    assert export_records(run) == after
