"""The before/after comparison of two evaluations of the same items: per metric and per category, the two
means, the paired difference and its confidence interval; optionally a pairwise judge; side-by-side samples.

Items are joined on their id and must have the same prompt in both evaluations (otherwise they are not
the same items and the comparison is refused). Each metric is compared over the items scored in both.
Writes ``compare.json`` and ``compare.md`` (see :mod:`datamill.evaluate.table`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datamill.errors import InputError
from datamill.evaluate.run import ANSWERS_FILE, EVAL_FILE
from datamill.evaluate.spec import Compare
from datamill.evaluate.stats import Interval, mean_interval, paired_delta

PAIRWISE = "pairwise"


def load_eval(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``eval.json`` and the per-item answers of an evaluation folder."""
    report_path, answers_path = folder / EVAL_FILE, folder / ANSWERS_FILE
    if not report_path.is_file() or not answers_path.is_file():
        raise InputError(f"{folder} is not a finished evaluation (no {EVAL_FILE} / {ANSWERS_FILE})",
                         hint="run `datamill eval ... --out DIR` first")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in answers_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return report, rows


Row = dict[str, Any]


def join(before: list[Row], after: list[Row]) -> tuple[list[tuple[Row, Row]], dict[str, int]]:
    """Pairs of rows with the same id (in the after file's order); refuses items whose prompts differ."""
    by_id = {row["id"]: row for row in before}
    pairs = []
    for row in after:
        other = by_id.get(row["id"])
        if other is None:
            continue
        if other["messages"] != row["messages"]:
            raise InputError(f"item {row['id']} has different prompts in the two evaluations: they were not run on "
                             "the same data", hint="evaluate both models on the same file or run directory")
        pairs.append((other, row))
    if not pairs:
        raise InputError("the two evaluations have no item in common", hint="evaluate both on the same data")
    after_ids = {row["id"] for row in after}
    unpaired = {"before_only": sum(r["id"] not in after_ids for r in before), "after_only": len(after) - len(pairs)}
    return pairs, unpaired


def _delta(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]], metric: str, settings: Compare) -> dict[str, Any]:
    both = [(b["scores"].get(metric), a["scores"].get(metric)) for b, a in pairs]
    both = [(x, y) for x, y in both if x is not None and y is not None]
    xs, ys = [float(x) for x, _ in both], [float(y) for _, y in both]
    interval = paired_delta(xs, ys, method=settings.ci, level=settings.level, resamples=settings.resamples)
    return _row(xs, ys, interval)


def _row(xs: list[float], ys: list[float], interval: Interval) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 6)

    n = len(xs)
    return {"before": r(sum(xs) / n) if n else None, "after": r(sum(ys) / n) if n else None,
            "delta": r(interval.estimate) if n else None, "ci": [r(interval.low), r(interval.high)], "n": n}


def _metrics(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]], names: list[str], settings: Compare,
             pairwise: list[float | None] | None) -> dict[str, Any]:
    out = {name: _delta(pairs, name, settings) for name in names}
    if pairwise is not None:  # before = 0.5 by construction: a tie; after = the mean preference for after
        scores = [s for s in pairwise if s is not None]
        interval = mean_interval([s - 0.5 for s in scores], method=settings.ci, level=settings.level,
                                 resamples=settings.resamples)
        out[PAIRWISE] = _row([0.5] * len(scores), scores, interval)
    return out


def pick_samples(pairs: Sequence[tuple[dict[str, Any], dict[str, Any]]], names: list[str], n: int,
                 pairwise: list[float | None] | None) -> list[int]:
    """Indices of the rows for the side-by-side table: changed items first (improved, then worse), then
    items the pairwise judge decided, then the rest; ties broken by position."""
    def change(i: int) -> float:
        b, a = pairs[i]
        total = 0.0
        for name in names:
            x, y = b["scores"].get(name), a["scores"].get(name)
            if x is not None and y is not None:
                total += float(y) - float(x)
        return total

    def key(i: int) -> tuple[int, float, int]:
        c = change(i)
        if c > 0:
            return (0, -c, i)
        if c < 0:
            return (1, c, i)
        decided = pairwise is not None and pairwise[i] is not None and pairwise[i] != 0.5
        return (2 if decided else 3, 0.0, i)

    return sorted(range(len(pairs)), key=key)[:n]


def compare(before_dir: Path, after_dir: Path, out: Path, settings: Compare | None = None) -> dict[str, Any]:
    """Compare two evaluation folders into ``out`` (``compare.json``, ``compare.md``, the judge's cache)."""
    from datamill.evaluate.pairwise import judge_pairs
    from datamill.evaluate.table import render_markdown
    from datamill.exec.workdir import write_json_atomic, write_text_atomic

    settings = settings or Compare()
    before_report, before_rows = load_eval(before_dir)
    after_report, after_rows = load_eval(after_dir)
    pairs, unpaired = join(before_rows, after_rows)
    names = [m for m in after_report["metrics"] if m in before_report["metrics"]]
    pairwise_scores: list[float | None] | None = None
    pairwise_info: dict[str, Any] | None = None
    if settings.pairwise is not None:
        p = settings.pairwise
        judged = pairs if p.limit is None else pairs[:p.limit]
        result = judge_pairs([a["messages"] for _, a in judged], [a.get("reference") for _, a in judged],
                             [b.get("answer") for b, _ in judged], [a.get("answer") for _, a in judged],
                             p.llm, out, show_reference=p.show_reference)
        pairwise_scores = result.scores + [None] * (len(pairs) - len(judged))
        pairwise_details = result.details + [{} for _ in range(len(pairs) - len(judged))]
        pairwise_info = {"judge": p.llm.model, "base_url": p.llm.base_url, **result.summary()}
    fields = [f for f in after_rows[0].get("categories", {}) if f in before_rows[0].get("categories", {})]
    by_category: dict[str, Any] = {}
    for path in fields:
        groups: dict[str, list[int]] = {}
        for i, (_, a) in enumerate(pairs):
            for value in a["categories"][path]:
                groups.setdefault(value, []).append(i)
        by_category[path] = {
            value: {"n": len(idx), "metrics": _metrics([pairs[i] for i in idx], names, settings,
                                                       None if pairwise_scores is None else
                                                       [pairwise_scores[i] for i in idx])}
            for value, idx in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        }
    samples = []
    for i in pick_samples(pairs, names, settings.samples, pairwise_scores):
        b, a = pairs[i]
        sample = {"id": a["id"], "question": a["question"], "before": b.get("answer"), "after": a.get("answer"),
                  "reference": a.get("reference"),
                  "scores": {name: {"before": b["scores"].get(name), "after": a["scores"].get(name)} for name in names}}
        if pairwise_scores is not None:
            sample["pairwise"] = {"score": pairwise_scores[i], **pairwise_details[i]}
        samples.append(sample)
    report: dict[str, Any] = {
        "before": _side(before_dir, before_report), "after": _side(after_dir, after_report),
        "n": len(pairs), "unpaired": unpaired,
        "ci": {"method": settings.ci, "level": settings.level,
               **({"resamples": settings.resamples} if settings.ci == "bootstrap" else {})},
        "metrics": _metrics(pairs, names, settings, pairwise_scores),
        "by_category": by_category,
        "pairwise": pairwise_info,
        "samples": samples,
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "compare.json", report)
    write_text_atomic(out / "compare.md", render_markdown(report))
    if pairwise_scores is not None:
        rows = [{"id": a["id"], "score": s, **d} for (_, a), s, d in zip(pairs, pairwise_scores, pairwise_details,
                                                                          strict=True) if d]
        write_text_atomic(out / "pairwise.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return report


def _side(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    return {"dir": str(folder), "model": report.get("model"), "adapter": report.get("adapter"),
            "endpoint": report.get("endpoint"), "n": report.get("n"), "data": report.get("data", {}).get("source")}
