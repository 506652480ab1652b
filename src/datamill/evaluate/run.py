"""One evaluation: data -> answers (cached) -> metrics -> ``eval.json`` + ``answers.jsonl`` in ``OUT``.

``OUT`` holds ``cache/llm.sqlite`` (every answer and judge call), ``answers.jsonl`` (per item: question,
messages, reference, answer, scores and what each metric extracted) and ``eval.json``::

    {"model", "adapter", "endpoint", "n", "metrics": {name: mean}, "scored": {name: n},
     "unscored": {name: {reason: n}}, "by_category": {field: {value: {"n", "metrics"}}},
     "data": {...}, "answers": {"file", "cached", "new", "errors", "truncated"}, "spec": {...}, "seconds"}

Both files are written atomically at the end; a killed evaluation leaves the cache, and running it again
generates only the answers that are missing.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from datamill import __version__
from datamill.errors import RecipeError
from datamill.evaluate.data import EvalData, EvalItem, load_data
from datamill.evaluate.generate import Answers, generate
from datamill.evaluate.metrics import MetricScores, exact_match, judge
from datamill.evaluate.spec import EvalSpec

EVAL_FILE = "eval.json"
ANSWERS_FILE = "answers.jsonl"


def resolve_model(spec: EvalSpec) -> EvalSpec:
    """Fill ``model`` from the adapter's base model when only an adapter is given; check one way to generate."""
    if spec.endpoint is not None:
        if spec.adapter is not None:
            raise RecipeError("an adapter is applied to a local model, not to an endpoint",
                              hint="serve the adapter with the endpoint (vLLM --lora-modules) and name it as model")
        return spec
    if spec.model is None and spec.adapter is not None:
        from datamill.evaluate.local import adapter_base

        base = adapter_base(spec.adapter)
        if base is None:
            raise RecipeError("the adapter does not name its base model", hint="give --model")
        return spec.model_copy(update={"model": base})
    if spec.model is None:
        raise RecipeError("nothing to evaluate: give --model (and --adapter), or --base-url for an endpoint")
    return spec


def categories(items: list[EvalItem], by: list[str]) -> dict[str, dict[str, list[int]]]:
    """``{field: {value: [item indices]}}`` (an item with a list value is in each of its values' groups)."""
    out: dict[str, dict[str, list[int]]] = {}
    for path in by:
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            for value in item.category(path):
                groups.setdefault(value, []).append(i)
        out[path] = dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    return out


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def score_all(spec: EvalSpec, items: list[EvalItem], answers: list[str | None], out: Path) -> list[MetricScores]:
    metrics = [exact_match(m, items, answers) for m in spec.exact_match]
    metrics += [judge(j, items, answers, out) for j in spec.judge]
    return metrics


def write_outputs(out: Path, spec: EvalSpec, data: EvalData, answers: list[str | None], metrics: list[MetricScores],
                  extra: dict[str, Any], per_item: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``answers.jsonl`` and ``eval.json`` (atomically); returns the eval.json content."""
    from datamill.exec.workdir import write_json_atomic, write_text_atomic

    items = data.items
    groups = categories(items, spec.by)
    lines = []
    for i, item in enumerate(items):
        row: dict[str, Any] = {"id": item.id, "question": item.question, "messages": item.messages,
                               "reference": item.reference, "answer": answers[i]}
        if per_item is not None:
            row.update(per_item[i])
        row["categories"] = {path: item.category(path) for path in spec.by}
        row["scores"] = {m.name: m.scores[i] for m in metrics}
        row["details"] = {m.name: m.details[i] for m in metrics if m.details[i]}
        lines.append(json.dumps(row, ensure_ascii=False))
    write_text_atomic(out / ANSWERS_FILE, "\n".join(lines) + ("\n" if lines else ""))
    report: dict[str, Any] = {
        "model": spec.endpoint.model if spec.endpoint is not None else spec.model,
        "adapter": spec.adapter,
        "endpoint": spec.endpoint.base_url if spec.endpoint is not None else None,
        "n": len(items),
        "metrics": {m.name: _round(m.mean()) for m in metrics},
        "scored": {m.name: sum(s is not None for s in m.scores) for m in metrics},
        "unscored": {m.name: dict(m.unscored) for m in metrics if m.unscored},
        "by_category": {
            path: {value: {"n": len(idx), "metrics": {m.name: _round(m.mean(idx)) for m in metrics}}
                   for value, idx in by_value.items()}
            for path, by_value in groups.items()
        },
        "data": data.describe(),
        **extra,
        "spec": spec.model_dump(mode="json", exclude_none=True),
        "datamill_version": __version__,
    }
    write_json_atomic(out / EVAL_FILE, report)
    return report


def answer_stats(answers: Answers) -> dict[str, Any]:
    errors = Counter(r.error for r in answers.results if not r.ok)
    truncated = sum(answers.finish_reason(i) == "length" for i in range(len(answers.results)))
    return {"file": ANSWERS_FILE, "model_key": answers.model, "cached": answers.cached, "new": answers.new,
            "errors": dict(errors), "truncated": truncated}


def run_eval(spec: EvalSpec, out: Path, *, data: EvalData | None = None,
             base_dir: Path | None = None) -> dict[str, Any]:
    """Evaluate ``spec`` into ``out`` (resumable: answers and judge calls come from ``out/cache`` when known)."""
    started = time.perf_counter()
    spec = resolve_model(spec)
    if data is None:
        if spec.data is None:
            raise RecipeError("no data to evaluate", hint="give --data FILE_OR_RUN_DIR")
        data = load_data(spec.data, split=spec.split, record_format=spec.format, limit=spec.limit,
                         base_dir=base_dir)
    out.mkdir(parents=True, exist_ok=True)
    answers = generate(data.items, spec, out / "cache" / "llm.sqlite")
    texts = [r.text if r.ok else None for r in answers.results]
    metrics = score_all(spec, data.items, texts, out)
    per_item = [{"error": None if r.ok else r.error, "finish_reason": answers.finish_reason(i)}
                for i, r in enumerate(answers.results)]
    extra = {"answers": answer_stats(answers), "seconds": round(time.perf_counter() - started, 2)}
    return write_outputs(out, spec, data, texts, metrics, extra, per_item)
