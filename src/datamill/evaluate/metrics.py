"""Per-item scores and their means: exact match (extracted answer vs extracted reference) and the
``llm_judge`` rubrics.

An item gets a score, or None with the reason it could not be scored (``no_answer``: generation failed;
``no_reference``: the reference holds no answer the extractor can read; ``judge_failed``). A model answer
with nothing to extract is a miss (0), not unscored: a model that stops giving numbers must lose.
Means are over scored items only, and the unscored counts are reported next to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datamill.evaluate.data import EvalItem
from datamill.evaluate.extractors import build_extractor, same_answer
from datamill.evaluate.spec import ExactMatch, Judge
from datamill.records import get_field


@dataclass
class MetricScores:
    """One metric over every item: ``scores[i]`` is None when item i was not scored (see ``unscored``)."""

    name: str
    scores: list[float | None]
    details: list[dict[str, Any]]
    unscored: Counter[str] = field(default_factory=Counter)

    def mean(self, indices: Sequence[int] | None = None) -> float | None:
        picked = [self.scores[i] for i in (range(len(self.scores)) if indices is None else indices)]
        values = [v for v in picked if v is not None]
        return sum(values) / len(values) if values else None


def reference_of(item: EvalItem, spec: ExactMatch) -> str | None:
    if spec.reference is None:
        return item.reference
    value = get_field(item.record, spec.reference)
    return None if value is None else str(value)


def exact_match(spec: ExactMatch, items: Sequence[EvalItem], answers: Sequence[str | None]) -> MetricScores:
    extract = build_extractor(spec.extract, pattern=spec.pattern, letters=spec.letters)
    extract_ref = build_extractor(spec.reference_extract or spec.extract, pattern=spec.pattern, letters=spec.letters)
    out = MetricScores(spec.name, [], [])
    for item, answer in zip(items, answers, strict=True):
        reference = reference_of(item, spec)
        ref = extract_ref(reference) if reference is not None else None
        got = extract(answer) if answer is not None else None
        out.details.append({"answer": got, "reference": ref})
        if answer is None:
            out.scores.append(None)
            out.unscored["no_answer"] += 1
        elif ref is None:
            out.scores.append(None)
            out.unscored["no_reference"] += 1
        else:
            out.scores.append(1.0 if same_answer(got, ref, rel_tol=spec.rel_tol, abs_tol=spec.abs_tol) else 0.0)
    return out


def judge(spec: Judge, items: Sequence[EvalItem], answers: Sequence[str | None], folder: Path) -> MetricScores:
    """Grade each answer with the ``llm_judge`` step (its rubric, schema, re-asks and recomputed score);
    its calls are cached in ``folder/cache/llm.sqlite`` like the answers."""
    from datamill.steps.base import Drop, StepContext
    from datamill.steps.llm.judge import JudgeParams, LLMJudge

    step = LLMJudge(JudgeParams(rubric=spec.rubric, llm=spec.llm, into="meta.judge", score_field="scores.judge"))
    step.context = StepContext.detached(folder)
    out = MetricScores(spec.name, [None] * len(items), [{} for _ in items])
    todo = [i for i, a in enumerate(answers) if a is not None]
    out.unscored["no_answer"] += len(items) - len(todo)
    records = [{"id": items[i].id, "messages": [*items[i].messages, {"role": "assistant", "content": answers[i]}]}
               for i in todo]
    step.setup()
    try:
        verdicts = step.process_batch(records) if records else []
    finally:
        step.teardown()
    for i, verdict in zip(todo, verdicts, strict=True):
        if isinstance(verdict, Drop):
            out.unscored["judge_failed"] += 1
            out.details[i] = {"error": verdict.reason}
            continue
        out.scores[i] = float(verdict["scores"]["judge"])
        j = verdict["meta"]["judge"]
        out.details[i] = {"issues": j["issues"], "reasoning": j["reasoning"]}
    return out
