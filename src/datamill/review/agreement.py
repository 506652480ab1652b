"""Agreement between reviewers on the items both reviewed: Cohen's kappa per pair of reviewers.

Two views: the *decision* (``keep`` for accept and edit, ``reject``) and, for labelling work, the
*label* each reviewer ended with (the edited label, or the record's label when they accepted it).
Kappa is ``(p_o - p_e) / (1 - p_e)``: observed agreement corrected for the agreement expected from
each reviewer's own label frequencies; undefined (``None``) when both used one and the same label
for every shared item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import combinations
from typing import Any

from datamill.review.store import Event, State


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items (``None`` when undefined)."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def _decision(e: Event) -> str:
    return "reject" if e.decision == "reject" else "keep"


def agreement(state: State, label_of: Callable[[Event], str | None] | None = None) -> list[dict[str, Any]]:
    """Per pair of reviewers: items both decided, raw agreement and kappa on decisions (and labels)."""
    live = state.live("record")
    by_reviewer: dict[str, dict[str, Event]] = {}
    for (reviewer, item_id), e in live.items():
        by_reviewer.setdefault(reviewer, {})[item_id] = e
    out = []
    for r1, r2 in combinations(sorted(by_reviewer), 2):
        shared = sorted(set(by_reviewer[r1]) & set(by_reviewer[r2]))
        if not shared:
            continue
        d1 = [_decision(by_reviewer[r1][i]) for i in shared]
        d2 = [_decision(by_reviewer[r2][i]) for i in shared]
        row: dict[str, Any] = {
            "reviewers": [r1, r2], "items": len(shared),
            "agree": round(sum(x == y for x, y in zip(d1, d2, strict=True)) / len(shared), 4),
            "kappa": _round(cohen_kappa(d1, d2)),
        }
        if label_of is not None:
            pairs = [(label_of(by_reviewer[r1][i]), label_of(by_reviewer[r2][i])) for i in shared]
            labelled = [(x, y) for x, y in pairs if x is not None and y is not None]
            if labelled:
                row["label_items"] = len(labelled)
                row["label_kappa"] = _round(cohen_kappa([x for x, _ in labelled], [y for _, y in labelled]))
        out.append(row)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
