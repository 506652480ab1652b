"""Scores recomputed from issues (MQM-style), never taken from the model's own number.

Each issue costs its severity's weight (MQM: minor 1, major 5, critical 10); the score is
``max(0, 100 - total)``. A model that says "score 95" while listing two major errors gets 90.
Rule checks (:mod:`datamill.steps.llm.translation_rules`) write issues in the same shape, so both
can be scored, routed and compared the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MQM_WEIGHTS: dict[str, float] = {"minor": 1.0, "major": 5.0, "critical": 10.0}
MAX_SCORE = 100.0


def normalize_issue(issue: Mapping[str, Any], categories: Iterable[str] | None = None) -> dict[str, Any]:
    """Lower-case category/severity; an unknown category becomes ``other``, an unknown severity ``major``."""
    category = str(issue.get("category") or "other").strip().lower()
    known = set(categories) if categories is not None else None
    if known is not None and category not in known:
        head = category.split("/", 1)[0]
        category = head if head in known else "other"
    severity = str(issue.get("severity") or "major").strip().lower()
    if severity not in MQM_WEIGHTS:
        severity = "major"
    out = {"category": category, "severity": severity, "span": str(issue.get("span") or "")}
    for extra in ("subcategory", "rule", "detail"):
        if issue.get(extra):
            out[extra] = issue[extra]
    return out


def score_issues(issues: Iterable[Mapping[str, Any]], weights: Mapping[str, float] = MQM_WEIGHTS) -> float:
    penalty = sum(float(weights.get(str(i.get("severity")), weights.get("major", 5.0))) for i in issues)
    return max(0.0, MAX_SCORE - penalty)
