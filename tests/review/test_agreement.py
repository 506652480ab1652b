"""Cohen's kappa between reviewers, checked against scikit-learn."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from datamill.review.agreement import agreement, cohen_kappa
from datamill.review.store import DecisionStore


@pytest.mark.parametrize("seed", range(8))
def test_kappa_equals_scikit_learn(seed: int) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(seed)
    labels = ["keep", "reject", "fix"][: 2 + seed % 2]
    a = [rng.choice(labels) for _ in range(50)]
    b = [x if rng.random() < 0.7 else rng.choice(labels) for x in a]
    assert cohen_kappa(a, b) == pytest.approx(metrics.cohen_kappa_score(a, b))


def test_kappa_edge_cases() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # one label only: chance agreement is total
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) == -1.0


def test_agreement_on_items_reviewed_twice(tmp_path: Path) -> None:
    store = DecisionStore(tmp_path)
    for i, (x, y) in enumerate([("accept", "accept"), ("reject", "reject"), ("accept", "reject"), ("edit", "accept")]):
        store.decide("ann", f"r{i}", x, edit={"category": "b"} if x == "edit" else None)
        store.decide("bob", f"r{i}", y)
    store.decide("ann", "only-ann", "accept")
    labels = {"r0": "a", "r1": "a", "r2": "a", "r3": "a"}

    def label_of(e: object) -> str | None:
        edit = getattr(e, "edit", None)
        return None if getattr(e, "decision", "") == "reject" else (edit or {}).get("category", labels[e.id])  # type: ignore[attr-defined]

    rows = agreement(store.snapshot(), label_of)
    assert len(rows) == 1
    row = rows[0]
    assert row["reviewers"] == ["ann", "bob"] and row["items"] == 4
    assert row["agree"] == 0.75  # edit counts as keeping the record
    assert row["kappa"] == pytest.approx(cohen_kappa(["keep", "reject", "keep", "keep"],
                                                     ["keep", "reject", "reject", "keep"]))
    assert row["label_items"] == 2 and row["label_kappa"] == pytest.approx(cohen_kappa(["a", "b"], ["a", "a"]))
