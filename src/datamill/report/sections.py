"""The build report's step-specific sections: dedup, LLM, split balance and evaluation results.

Each reads what its steps already wrote (``stats.json`` reports and notes, ``clusters.json``,
``summary_all.csv``, ``eval.json``) plus the verdict counts of the stages' profiles.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from datamill.report.profile import Profile

#: dedup clusters shown, and members shown per cluster
CLUSTERS = 20
MEMBERS = 8
#: where eval.json files are looked for inside the work directory (besides paths given explicitly)
EVAL_GLOBS = ("eval.json", "eval*/eval.json", "eval*/*/eval.json")


def dedup(steps: list[dict[str, Any]], stage_dirs: list[Path]) -> list[dict[str, Any]]:
    """Each dedup stage: totals, per-source numbers, the largest clusters with their members."""
    out = []
    for step, folder in zip(steps, stage_dirs, strict=True):
        name = str(step.get("step") or "")
        if not (name.startswith("dedup") or name == "check_leakage"):
            continue
        report = step.get("report") or {}
        entry: dict[str, Any] = {
            "stage": step.get("name"), "step": name,
            "seen": report.get("seen"),
            "groups": report.get("groups", report.get("duplicate_groups")),
            "dropped": report.get("duplicates_dropped", sum((step.get("dropped") or {}).values())),
            "similarity": report.get("similarity"),
            "by_source": report.get("by_source", []),
            "largest_groups": report.get("largest_groups", [])[:CLUSTERS],
            "clusters": [],
        }
        clusters_file = folder / "clusters.json"
        if clusters_file.is_file():
            clusters = json.loads(clusters_file.read_text(encoding="utf-8"))
            for c in clusters[:CLUSTERS]:
                members = c.get("members", [])
                entry["clusters"].append({"cluster": c.get("cluster"), "size": c.get("size"), "kept": c.get("kept"),
                                          "members": members[:MEMBERS], "more": max(0, len(members) - MEMBERS)})
        summary_all = folder / "summary_all.csv"
        if summary_all.is_file():
            with open(summary_all, encoding="utf-8") as fh:
                entry["summary_all"] = list(csv.reader(fh))
        out.append(entry)
    return out


def _llm_numbers(notes: dict[str, int], params: dict[str, Any], dropped: dict[str, int]) -> dict[str, Any]:
    llm = params.get("llm") or {}
    budget = llm.get("budget") or {}
    tokens_in, tokens_out = int(notes.get("llm_input_tokens", 0)), int(notes.get("llm_output_tokens", 0))
    price_in, price_out = float(budget.get("price_input_per_1k") or 0), float(budget.get("price_output_per_1k") or 0)
    live_s = int(notes.get("llm_live_ms", 0)) / 1000
    attempts = int(notes.get("llm_attempts", 0))
    return {
        "provider": llm.get("provider"), "model": llm.get("model"),
        "paid_calls": int(notes.get("llm_paid", 0)), "cached_calls": int(notes.get("llm_cached", 0)),
        "attempts": attempts, "input_tokens": tokens_in, "output_tokens": tokens_out,
        "cost": round(tokens_in / 1000 * price_in + tokens_out / 1000 * price_out, 6) if price_in or price_out
        else None,
        "rpm_limit": llm.get("rpm"), "tpm_limit": llm.get("tpm"),
        "achieved_rpm": round(attempts / live_s * 60, 1) if live_s > 0 and attempts else None,
        "errors": {k.removeprefix("llm_error:"): v for k, v in notes.items() if k.startswith("llm_error:")},
        "invalid_outputs": int(dropped.get("llm_invalid_output", 0)),
        "dropped": {k: v for k, v in dropped.items() if k.startswith("llm_")},
    }


def llm(steps: list[dict[str, Any]], profiles: list[Profile | None]) -> list[dict[str, Any]]:
    """Each LLM stage: calls, tokens, cost, achieved rate vs limit, invalid outputs, and its verdicts
    (judge scores and issue categories, labels and confidences) or its synthesis table."""
    out = []
    for step, profile in zip(steps, profiles, strict=True):
        name = str(step.get("step") or "")
        if not name.startswith("llm_"):
            continue
        params = step.get("params") or {}
        entry: dict[str, Any] = {"stage": step.get("name"), "step": name,
                                 **_llm_numbers(step.get("notes") or {}, params, step.get("dropped") or {})}
        report = step.get("report") or {}
        snapshot = report.get("llm")
        if snapshot:  # llm_generate: the client's own numbers from the reduce
            entry.update(paid_calls=snapshot.get("paid", 0), cached_calls=snapshot.get("cached", 0),
                         attempts=snapshot.get("attempts", 0), input_tokens=snapshot.get("input_tokens", 0),
                         output_tokens=snapshot.get("output_tokens", 0), achieved_rpm=snapshot.get("rpm"),
                         errors=snapshot.get("errors", {}))
        if "categories" in report:
            entry["categories"] = report["categories"]
        if profile is not None and profile.verdicts is not None:
            v = profile.verdicts
            entry["verdicts"] = {
                "kind": v.kind, "n": v.n, "labels": dict(v.labels.most_common()),
                "issues": dict(v.issues.most_common()), "severities": dict(v.severities.most_common()),
                "needs_review": v.needs_review,
                "scores": {"n": v.scores.n, "mean": round(v.scores.total / v.scores.n, 4) if v.scores.n else None,
                           "min": v.scores.min, "max": v.scores.max,
                           "hist": [[round(lo, 4), round(hi, 4), c] for lo, hi, c in v.scores.histogram()]},
                "labels_allowed": params.get("labels"),
            }
        out.append(entry)
    return out


def splits(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each split stage: records per split, and per stratum when stratified."""
    out = []
    for step in steps:
        if step.get("step") != "split":
            continue
        report = step.get("report") or {}
        params = step.get("params") or {}
        out.append({"stage": step.get("name"), "ratios": params.get("ratios"), "stratify_by": params.get("stratify_by"),
                    "counts": report.get("counts", {}), "strata": report.get("strata", {}),
                    "strata_not_shown": report.get("strata_not_shown", 0)})
    return out


def review(run_dir: Path) -> dict[str, Any] | None:
    """People's review decisions (``datamill review``): counts by decision and reviewer, agreement."""
    from datamill.review.agreement import agreement
    from datamill.review.store import FILE, DecisionStore

    folder = run_dir / "review"
    if not (folder / FILE).is_file():
        return None
    state = DecisionStore(folder).snapshot()
    effective = state.effective("record")
    by_decision: dict[str, int] = {}
    for e in effective.values():
        by_decision[e.decision] = by_decision.get(e.decision, 0) + 1
    by_reviewer: dict[str, int] = {}
    for reviewer, _ in state.live("record"):
        by_reviewer[reviewer] = by_reviewer.get(reviewer, 0) + 1
    clusters = state.effective("cluster")
    return {"records": len(effective), "by_decision": by_decision, "by_reviewer": by_reviewer,
            "agreement": agreement(state), "clusters": len(clusters),
            "clusters_confirmed": sum(1 for e in clusters.values() if e.decision == "accept")}


def evaluations(run_dir: Path, extra: tuple[Path, ...] = ()) -> list[dict[str, Any]]:
    """``eval.json`` results (``datamill eval``) found in the work directory or given explicitly."""
    found: list[Path] = []
    for pattern in EVAL_GLOBS:
        found.extend(sorted(run_dir.glob(pattern)))
    found.extend(extra)
    out = []
    for path in dict.fromkeys(p.resolve() for p in found):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "metrics" not in data:
            continue
        out.append({"path": str(path), **{k: data.get(k) for k in ("model", "adapter", "n", "metrics", "by_category")}})
    return out
